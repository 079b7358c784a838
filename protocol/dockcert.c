/* dockcert.c - issue, verify, save and load dock certificates. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dockcert.h"

#define CERT_MAGIC "BCDK-DOCK-CERT 1"

static int sign_cert(const struct edsig_key *agency_key, struct proto_dock_cert *c)
{
	uint8_t tbs[PROTO_TBS_MAX];
	size_t n = 0;
	int r = proto_dock_cert_tbs(c, tbs, sizeof(tbs), &n);

	if (r < 0)
		return r;
	return edsig_sign(agency_key, tbs, n, c->agency_sig);
}

int dockcert_issue(const struct edsig_key *agency_key, const char *agency_id,
		   const char *dock_id, const struct edsig_key *dock_key, int64_t not_before,
		   int64_t not_after, struct proto_dock_cert *out)
{
	struct proto_dock_cert c;
	int r;

	if (!agency_key || !dock_key || !out || !proto_id_valid(agency_id) ||
	    !proto_id_valid(dock_id) || not_before > not_after)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	memcpy(c.dock_id, dock_id, strlen(dock_id) + 1);
	memcpy(c.agency_id, agency_id, strlen(agency_id) + 1);
	c.not_before = not_before;
	c.not_after = not_after;
	r = edsig_public_raw(dock_key, c.dock_pubkey);
	if (r == 0)
		r = sign_cert(agency_key, &c);
	if (r < 0)
		return r;
	*out = c;
	return 0;
}

int dockcert_verify(const struct proto_dock_cert *c, const struct edsig_key *agency_pub,
		    int64_t now)
{
	uint8_t tbs[PROTO_TBS_MAX];
	size_t n = 0;

	if (!c || !agency_pub)
		return -EINVAL;
	if (proto_dock_cert_tbs(c, tbs, sizeof(tbs), &n) < 0)
		return -PROTO_E_AUTH;
	if (edsig_verify(agency_pub, tbs, n, c->agency_sig) < 0)
		return -PROTO_E_AUTH;
	if (now < c->not_before || now > c->not_after)
		return -PROTO_E_AUTH;
	return 0;
}

int dockcert_save(const struct proto_dock_cert *c, const char *path)
{
	char pub[2 * PROTO_PUBKEY_LEN + 1], sig[2 * PROTO_SIG_LEN + 1];
	char tmp[4096], text[DOCKCERT_FILE_MAX];
	int fd, n, r;

	if (!c || !path || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -EINVAL;
	if (edsig_hex(c->dock_pubkey, PROTO_PUBKEY_LEN, pub, sizeof(pub)) < 0 ||
	    edsig_hex(c->agency_sig, PROTO_SIG_LEN, sig, sizeof(sig)) < 0)
		return -EINVAL;
	n = snprintf(text, sizeof(text),
		     CERT_MAGIC "\ndock_id %s\nagency_id %s\ndock_pubkey %s\n"
		     "not_before %" PRId64 "\nnot_after %" PRId64 "\nagency_sig %s\n",
		     c->dock_id, c->agency_id, pub, c->not_before, c->not_after, sig);
	if (n < 0 || n >= (int)sizeof(text))
		return -EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write(fd, text, (size_t)n) == n && fsync(fd) == 0 ? 0 : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* "key value\n" at *p: copy value (bounded) and advance. */
static int field(char **p, const char *key, char *val, size_t cap)
{
	size_t kl = strlen(key);
	char *nl = strchr(*p, '\n');
	size_t vl;

	if (!nl || strncmp(*p, key, kl) != 0 || (*p)[kl] != ' ')
		return -EBADMSG;
	vl = (size_t)(nl - (*p + kl + 1));
	if (vl == 0 || vl >= cap)
		return -EBADMSG;
	memcpy(val, *p + kl + 1, vl);
	val[vl] = '\0';
	*p = nl + 1;
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int parse_cert(char *p, struct proto_dock_cert *c)
{
	char v[2 * PROTO_SIG_LEN + 2];

	if (strncmp(p, CERT_MAGIC "\n", sizeof(CERT_MAGIC)) != 0)
		return -EBADMSG;
	p += sizeof(CERT_MAGIC);
	if (field(&p, "dock_id", c->dock_id, sizeof(c->dock_id)) < 0 ||
	    field(&p, "agency_id", c->agency_id, sizeof(c->agency_id)) < 0 ||
	    !proto_id_valid(c->dock_id) || !proto_id_valid(c->agency_id))
		return -EBADMSG;
	if (field(&p, "dock_pubkey", v, sizeof(v)) < 0 ||
	    edsig_unhex(v, c->dock_pubkey, PROTO_PUBKEY_LEN) < 0)
		return -EBADMSG;
	if (field(&p, "not_before", v, sizeof(v)) < 0 || parse_i64(v, &c->not_before) < 0 ||
	    field(&p, "not_after", v, sizeof(v)) < 0 || parse_i64(v, &c->not_after) < 0)
		return -EBADMSG;
	if (field(&p, "agency_sig", v, sizeof(v)) < 0 ||
	    edsig_unhex(v, c->agency_sig, PROTO_SIG_LEN) < 0 || *p != '\0')
		return -EBADMSG;
	return 0;
}

int dockcert_load(const char *path, struct proto_dock_cert *out)
{
	char text[DOCKCERT_FILE_MAX + 1];
	struct proto_dock_cert c;
	ssize_t n;
	int fd, r;

	if (!path || !out)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = 0;
	for (;;) {
		ssize_t k = read(fd, text + n, sizeof(text) - (size_t)n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (n += k) >= (ssize_t)sizeof(text))
			break;
	}
	r = n < 0 ? -EIO : 0;
	close(fd);
	if (n >= (ssize_t)sizeof(text))
		return -EFBIG;
	text[n] = '\0';
	if (strlen(text) != (size_t)n)
		return -EBADMSG; /* NUL inside */
	memset(&c, 0, sizeof(c));
	r = parse_cert(text, &c);
	if (r < 0)
		return r;
	*out = c;
	return 0;
}
