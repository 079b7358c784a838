/* custp_sandbox.c - the custodian's seccomp allow-list and its landlock
 * rules for PKCS#11 modules (custp_sandbox.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "custp_sandbox.h"
#include "llrule.h"
#include "p11key_int.h"
#include "scmprule.h"

static int add_rules(scmp_filter_ctx f, void *unused)
{
	/* beside scmprule_base()'s memory, time and signals of its own */
	int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(getppid), 0);

	(void)unused;
	/* the descriptors it holds: the channel (an inherited socketpair
	 * end), the ledger, the state file; openat for reading only
	 * (landlock picks the paths; everything it writes is open already);
	 * threads only (a vendor's module may start one); tgkill to itself;
	 * code only as a file's read-only mapping: a PKCS#11 module may load
	 * a part of itself at first use, and landlock leaves executable only
	 * /usr and /lib* */
	if (r == 0)
		r = scmprule_helper(f);
	/* socket(): AF_UNIX answers EACCES, so a library that tries one
	 * (an LD_PRELOAD'ed one: umockdev's in the USB tests) carries on
	 * without it; any other family, and connect, still kill */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	return r;
}

int custp_seccomp(void)
{
	return scmprule_load(add_rules, NULL);
}

/* ---- landlock for a PKCS#11 module ---------------------------------------- */

/* softhsm2's token directory from its configuration file conf into dir
 * (its default when the file names none). 0, or -errno when the file
 * cannot be read (softhsm2 itself then failed at C_Initialize). */
static int softhsm_tokendir(const char *conf, char *dir, size_t dirlen)
{
	char line[600];
	FILE *fp = fopen(conf, "re");

	if (!fp)
		return -errno;
	snprintf(dir, dirlen, "%s", "/var/lib/softhsm/tokens");
	while (fgets(line, sizeof(line), fp)) {
		char *k = line + strspn(line, " \t"), *v, *e;

		if (strncmp(k, "directories.tokendir", 20))
			continue;
		v = k + 20 + strspn(k + 20, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t");
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (*v)
			snprintf(dir, dirlen, "%s", v);
	}
	fclose(fp);
	return 0;
}

static int module_rules(int fd, const char *module, int *wide)
{
	const char *base = strrchr(module, '/');
	const char *conf = getenv("SOFTHSM2_CONF");
	char dir[P11_PATH_MAX];
	int r;

	base = base ? base + 1 : module;
	if (strcmp(base, "libsofthsm2.so")) {
		*wide = 1;
		return llrule_allow(fd, "/", LL_READ);
	}
	if (!conf || !conf[0])
		conf = "/etc/softhsm/softhsm2.conf";
	if ((r = softhsm_tokendir(conf, dir, sizeof(dir))) < 0)
		return r;
	if ((r = llrule_allow(fd, conf, LANDLOCK_ACCESS_FS_READ_FILE)) < 0)
		return r;
	return llrule_allow(fd, dir, LL_READ);
}

int custp_p11_rules(int ruleset, const char *const keys[], size_t n, int *wide)
{
	char err[300];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct p11uri u;

		if (!keys[i] || !p11key_is_uri(keys[i]))
			continue;
		if ((r = p11uri_parse(keys[i], &u, err, sizeof(err))) == 0)
			r = module_rules(ruleset, u.module, wide);
	}
	return r;
}
