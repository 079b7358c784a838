/*
 * vaultpath.c - vault and storage file names of evidence items (libinih
 * for the three keys of the shared INI file that custody needs).
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vaultpath.h"

#define VAULTCFG_FILE_MAX (64 * 1024)	/* as dockd's and custody's parsers */

struct vstate {
	struct cust_vaultcfg *c;
	int vault_given;
	char err[256];
};

void cust_vaultcfg_init(struct cust_vaultcfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", CUST_VAULT_DEFAULT_STATE_DIR);
}

static int set_path(struct vstate *p, char *dst, const char *key, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= CUST_VAULT_PATH_MAX) {
		if (!p->err[0])
			snprintf(p->err, sizeof(p->err), "%s: empty or too long", key);
		return 0;
	}
	memcpy(dst, v, n + 1);
	return 1;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct vstate *p = user;

	if (!name)
		return 1;
	if (!strcmp(section, "dock") && !strcmp(name, "state_dir"))
		return set_path(p, p->c->state_dir, "[dock] state_dir", value);
	if (!strcmp(section, "dock") && !strcmp(name, "vault_dir")) {
		p->vault_given = 1;
		return set_path(p, p->c->vault_dir, "[dock] vault_dir", value);
	}
	if (!strcmp(section, "storage") && !strcmp(name, "target")) {
		/* Only file:///DIR is a directory we can read; other targets
		 * (object stores) leave storage_dir empty. */
		if (strncmp(value, "file:///", 8))
			return 1;
		return set_path(p, p->c->storage_dir, "[storage] target", value + 7);
	}
	return 1;	/* dockd's or another module's key: not ours to judge */
}

int cust_vaultcfg_load(const char *path, struct cust_vaultcfg *c, char *err,
		       size_t errlen)
{
	struct cust_vaultcfg tmp;
	struct vstate p;
	struct stat sb;
	FILE *f;
	int line, r;

	cust_vaultcfg_init(&tmp);
	memset(&p, 0, sizeof(p));
	p.c = &tmp;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) ||
	    sb.st_size > VAULTCFG_FILE_MAX) {
		fclose(f);
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
			 path, VAULTCFG_FILE_MAX);
		return -EFBIG;
	}
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (line != 0 || p.err[0]) {
		snprintf(err, errlen, "%s:%d: %s", path, line > 0 ? line : 0,
			 p.err[0] ? p.err : "syntax error (or line too long)");
		return -EINVAL;
	}
	if (!p.vault_given &&
	    snprintf(tmp.vault_dir, sizeof(tmp.vault_dir), "%s/vault",
		     tmp.state_dir) >= (int)sizeof(tmp.vault_dir)) {
		snprintf(err, errlen, "%s: [dock] state_dir: path too long", path);
		return -EINVAL;
	}
	*c = tmp;
	return 0;
}

int cust_vault_name_ok(const char *s)
{
	const char *q;

	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (q = s; *q; q++)
		if (*q < 0x20 || *q > 0x7e || *q == '/')
			return 0;
	return 1;
}

int cust_vault_split_id(const char *evidence_id, char *serial, size_t scap,
			char *recording, size_t rcap)
{
	const char *slash;
	size_t ns, nr;

	if (!evidence_id || !(slash = strchr(evidence_id, '/')))
		return -EINVAL;
	ns = (size_t)(slash - evidence_id);
	nr = strlen(slash + 1);
	if (ns >= scap || nr >= rcap)
		return -ENAMETOOLONG;
	{
		char s[256], rec[256];

		if (ns >= sizeof(s) || nr >= sizeof(rec))
			return -ENAMETOOLONG;
		memcpy(s, evidence_id, ns);
		s[ns] = '\0';
		memcpy(rec, slash + 1, nr + 1);
		if (!cust_vault_name_ok(s) || !cust_vault_name_ok(rec))
			return -EINVAL;
		memcpy(serial, s, ns + 1);
		memcpy(recording, rec, nr + 1);
	}
	return 0;
}

int cust_vault_file(const struct cust_vaultcfg *c, const char *agency,
		    const char *evidence_id, char *buf, size_t cap)
{
	char serial[256], rec[256];
	int r = cust_vault_split_id(evidence_id, serial, sizeof(serial), rec,
				    sizeof(rec));

	if (r)
		return r;
	if (!cust_vault_name_ok(agency))
		return -EINVAL;
	if ((size_t)snprintf(NULL, 0, "%s/%s/%s/%s.bcde", c->vault_dir, agency,
			     serial, rec) >= cap)
		return -ENAMETOOLONG;
	snprintf(buf, cap, "%s/%s/%s/%s.bcde", c->vault_dir, agency, serial, rec);
	return 0;
}

int cust_vault_storage_file(const struct cust_vaultcfg *c,
			    const char *object_key, char *buf, size_t cap)
{
	char part[256];
	const char *p = object_key, *e;
	size_t n;

	if (!c->storage_dir[0])
		return -ENOENT;
	if (!object_key || !*object_key)
		return -EINVAL;
	while (*p) {	/* every component must be a plain name */
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n >= sizeof(part))
			return -EINVAL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!cust_vault_name_ok(part))
			return -EINVAL;
		p += n + (e ? 1 : 0);
		if (e && !*p)
			return -EINVAL;	/* trailing '/' */
	}
	if ((size_t)snprintf(NULL, 0, "%s/%s", c->storage_dir, object_key) >= cap)
		return -ENAMETOOLONG;
	snprintf(buf, cap, "%s/%s", c->storage_dir, object_key);
	return 0;
}
