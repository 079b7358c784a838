/*
 * config.c - the [ledger] section of the shared INI file (libinih).
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

#define CONFIG_FILE_MAX (64 * 1024)

struct pstate {
	struct cust_config *c;
	unsigned seen;
	char err[384];		/* first error, without the line prefix */
};

struct key {
	const char *name;
	size_t off, cap;	/* cap 0: checkpoint_interval_s (number) */
};

#define K(n, f) { n, offsetof(struct cust_config, f), sizeof(((struct cust_config *)0)->f) }
static const struct key keys[] = {
	K("path", ledger_path),
	K("agency_id", agency_id),
	K("checkpoint_key", checkpoint_key),
	K("checkpoint_pub", checkpoint_pub),
	K("checkpoint_origin", checkpoint_origin),
	K("external_checkpoint_dir", external_checkpoint_dir),
	{ "checkpoint_interval_s", 0, 0 },
	K("custody_cert", custody_cert),
	K("witness_policy", witness_policy),
	K("agency_vkey", agency_vkey),
};

void cust_config_init(struct cust_config *c)
{
	memset(c, 0, sizeof(*c));
	c->checkpoint_interval_s = 10;
}

static int agency_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

static int bad(struct pstate *p, const char *key, const char *why)
{
	if (!p->err[0])
		snprintf(p->err, sizeof(p->err), "[ledger] %s: %s", key, why);
	return 0;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct pstate *p = user;
	char *end;
	unsigned long v;
	size_t i;

	if (strcmp(section, "ledger"))
		return 1;	/* not ours: dockd's or the access service's */
	if (!name)
		return 1;	/* section header (INI_CALL_HANDLER_ON_NEW_SECTION) */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, name))
			break;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return bad(p, name, "unknown key");
	if (p->seen & (1u << i))
		return bad(p, name, "given twice");
	p->seen |= 1u << i;
	if (!*value)
		return bad(p, name, "empty value");
	if (keys[i].cap == 0) {
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || value[0] == '-' || v > 86400 * 7)
			return bad(p, name, "must be a number of seconds, 0..604800");
		p->c->checkpoint_interval_s = (uint32_t)v;
		return 1;
	}
	if (strlen(value) >= keys[i].cap)
		return bad(p, name, "too long");
	if (!strcmp(name, "agency_id") && !agency_ok(value))
		return bad(p, name, "must be 1..64 characters of [A-Za-z0-9._-]");
	if (!strcmp(name, "checkpoint_origin") && strspn(value,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:")
	    != strlen(value))
		return bad(p, name, "must be printable ASCII without spaces or '+'");
	memcpy((char *)p->c + keys[i].off, value, strlen(value) + 1);
	return 1;
}

int cust_config_load(const char *path, struct cust_config *c, char *err,
		     size_t errlen)
{
	struct pstate p;
	struct cust_config tmp;
	struct stat sb;
	FILE *f;
	int line, r;

	cust_config_init(&tmp);
	memset(&p, 0, sizeof(p));
	p.c = &tmp;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > CONFIG_FILE_MAX) {
		fclose(f);
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
			 path, CONFIG_FILE_MAX);
		return -EFBIG;
	}
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (line != 0 || p.err[0]) {
		snprintf(err, errlen, "%s:%d: %s", path, line > 0 ? line : 0,
			 p.err[0] ? p.err : "syntax error (or line too long)");
		return -EINVAL;
	}
	snprintf(tmp.file, sizeof(tmp.file), "%s", path);
	*c = tmp;
	return 0;
}
