/*
 * p11uri.c - the RFC 7512 PKCS#11 URIs that name token keys, and the PIN
 * file they point to.  See p11key.h for the subset accepted and why the
 * rest is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "p11key_int.h"

int p11key_is_uri(const char *spec)
{
	return spec && !strncmp(spec, "pkcs11:", 7);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode v[0..n) into out (cap bytes including the NUL).  A NUL
 * byte (%00) is refused: labels are compared as C strings. */
static int pct_decode(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)v[i];

		if (c == '%') {
			if (i + 2 >= n || hexval(v[i + 1]) < 0 || hexval(v[i + 2]) < 0)
				return -EINVAL;
			c = hexval(v[i + 1]) * 16 + hexval(v[i + 2]);
			i += 2;
			if (c == 0)
				return -EINVAL;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	if (o == 0)
		return -EINVAL;
	out[o] = '\0';
	return 0;
}

struct attr {
	const char *name;
	char *dst;
	size_t cap;
	int query;	/* 1: only after '?', 0: only in the path */
	int seen;
};

static int one_attr(struct attr *a, size_t na, const char *s, size_t n, int query,
		    char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', n);
	size_t klen;

	if (!eq) {
		snprintf(err, errlen, "PKCS#11 URI: '%.*s' is not name=value", (int)n, s);
		return -EINVAL;
	}
	klen = (size_t)(eq - s);
	for (size_t i = 0; i < na; i++) {
		if (strlen(a[i].name) != klen || memcmp(a[i].name, s, klen) || a[i].query != query)
			continue;
		if (a[i].seen++) {
			snprintf(err, errlen, "PKCS#11 URI: '%s' given twice", a[i].name);
			return -EINVAL;
		}
		if (pct_decode(eq + 1, n - klen - 1, a[i].dst, a[i].cap) < 0) {
			snprintf(err, errlen, "PKCS#11 URI: '%s': empty, too long or bad %%-escape",
				 a[i].name);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "PKCS#11 URI: attribute '%.*s' is not supported here (use "
		 "token, object, type; ?module-path, pin-source: docs/dockd-config.md)",
		 (int)klen, s);
	return -EINVAL;
}

int p11uri_parse(const char *uri, struct p11uri *out, char *err, size_t errlen)
{
	struct p11uri u;
	char type[16] = "", pinsrc[P11_PATH_MAX + 8] = "";
	struct attr a[] = {
		{ "token", u.token, sizeof(u.token), 0, 0 },
		{ "object", u.object, sizeof(u.object), 0, 0 },
		{ "type", type, sizeof(type), 0, 0 },
		{ "module-path", u.module, sizeof(u.module), 1, 0 },
		{ "pin-source", pinsrc, sizeof(pinsrc), 1, 0 },
	};
	const size_t na = sizeof(a) / sizeof(a[0]);
	const char *p, *end;
	int query = 0, r;

	memset(&u, 0, sizeof(u));
	if (!p11key_is_uri(uri) || strlen(uri) > P11_URI_MAX) {
		snprintf(err, errlen, "not a PKCS#11 URI (pkcs11:..., at most %d bytes)",
			 P11_URI_MAX);
		return -EINVAL;
	}
	for (p = uri + 7; *p; p = *end ? end + 1 : end) {
		size_t n = strcspn(p, query ? "&" : ";?");

		end = p + n;
		if (n && (r = one_attr(a, na, p, n, query, err, errlen)) < 0)
			return r;
		if (*end == '?') {
			if (query)
				break;
			query = 1;
		}
	}
	if (!a[0].seen || !a[1].seen || !a[3].seen || !a[4].seen) {
		snprintf(err, errlen, "PKCS#11 URI needs token=, object=, ?module-path= and "
			 "pin-source= (docs/dockd-config.md)");
		return -EINVAL;
	}
	if (type[0] && strcmp(type, "private") && strcmp(type, "public")) {
		snprintf(err, errlen, "PKCS#11 URI: type must be private or public");
		return -EINVAL;
	}
	p = !strncmp(pinsrc, "file:", 5) ? pinsrc + 5 : pinsrc;
	if (u.module[0] != '/' || p[0] != '/' || strlen(p) >= sizeof(u.pin_file)) {
		snprintf(err, errlen, "PKCS#11 URI: module-path and pin-source must be "
			 "absolute paths");
		return -EINVAL;
	}
	memcpy(u.pin_file, p, strlen(p) + 1);
	*out = u;
	return 0;
}

int p11uri_read_pin(const struct p11uri *u, char pin[P11_PIN_MAX + 1], size_t *len,
		    char *err, size_t errlen)
{
	char buf[P11_PIN_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t l;
	int fd, r = 0;

	fd = open(u->pin_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: PIN file: %s", u->pin_file, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: PIN file must be a regular file readable by its "
			 "owner only (chmod 600)", u->pin_file);
		close(fd);
		return -EPERM;
	}
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	close(fd);
	if (r == 0) {
		buf[n] = '\0';
		l = strcspn(buf, "\r\n");
		if (l == 0 || l > P11_PIN_MAX) {
			snprintf(err, errlen, "%s: PIN file: the first line must hold the PIN "
				 "(1-%d bytes)", u->pin_file, P11_PIN_MAX);
			r = -EINVAL;
		} else {
			memcpy(pin, buf, l);
			pin[l] = '\0';
			*len = l;
		}
	} else {
		snprintf(err, errlen, "%s: PIN file: %s", u->pin_file, strerror(-r));
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}
