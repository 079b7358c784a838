/* attack.c - what a "compromised" helper process tries, for the TEST
 * build only (attack.h). Empty without -DLINK_ATTACK_TESTS. */
#ifdef LINK_ATTACK_TESTS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attack.h"

/* $VAR<suffix>, NULL when unset (or the name is too long) */
static const char *env2(const char *var, const char *suffix)
{
	char name[64];

	if (snprintf(name, sizeof(name), "%s%s", var, suffix) >= (int)sizeof(name))
		return NULL;
	return getenv(name);
}

bool attack_armed(const char *var)
{
	const char *once = env2(var, "_ONCE");

	return getenv(var) && once && unlink(once) == 0;
}

int attack_get(const char *var, struct attack *a)
{
	const char *name = getenv(var), *arg = env2(var, "_ARG");

	if (!name)
		return -ENOENT;
	a->var = var;
	a->name = name;
	a->arg = arg ? arg : "";
	return 0;
}

void attack_say(const char *var, const char *verb, const char *what)
{
	char line[PATH_MAX + 64];
	int n = snprintf(line, sizeof(line), "%s: %s %s\n", var, verb, what);

	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int attack_common(const struct attack *a)
{
	if (!strcmp(a->name, "exec")) {
		char cmd[80];
		char *argv[] = { "sh", "-c", cmd, NULL };

		snprintf(cmd, sizeof(cmd), "echo %s: shell ran", a->var);
		(void)execve("/bin/sh", argv, NULL);
	} else if (!strcmp(a->name, "ptrace")) {
		pid_t t = strcmp(a->arg, "parent") ? (pid_t)atoi(a->arg) : getppid();

		(void)ptrace(PTRACE_ATTACH, t, NULL, NULL);
	} else if (!strcmp(a->name, "ledger")) {
		(void)open(a->arg, O_RDWR);
	} else if (!strcmp(a->name, "keyfile")) {
		(void)open(a->arg, O_WRONLY);
	} else if (!strcmp(a->name, "jit")) {
		(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		return 0;
	}
	return 1;
}

void attack_connect(const char *var, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		attack_say(var, "connected to", port);
}
#endif
