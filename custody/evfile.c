/*
 * evfile header: encoding, hostile-input parsing, layout arithmetic, and
 * the small helpers shared by the writer and reader (evfile_stream.c).
 * Byte layout: docs/evidence-format.md, section "Header".
 */
#include "evfile_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

const uint8_t evf_magic[EVFILE_MAGIC_LEN] = {
	0x89, 'E', 'V', 'F', '\r', '\n', 0x1a, '\n'
};

/* Fixed offsets in the header. */
#define OFF_VERSION 8
#define OFF_LOG2    9
#define OFF_FLAGS   10
#define OFF_HLEN    12
#define OFF_SALT    16
#define OFF_VAR     48
/* Smallest header: 1-byte id, no serial/context, one P-256 stanza. */
#define MIN_HEADER  (OFF_VAR + 1 + 1 + 1 + 2 + 1 + EVF_STANZA_FIXED + \
		     EVF_P256_POINT + EVF_WRAPPED_LEN + EVFILE_MAC_LEN)

static int printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int evfile_header_peek(const uint8_t *buf, size_t len, uint32_t *header_len)
{
	uint32_t hl;

	if (!buf || !header_len)
		return -EINVAL;
	if (len < EVFILE_PREFIX_LEN)
		return -EPROTO;
	if (memcmp(buf, evf_magic, EVFILE_MAGIC_LEN))
		return -EPROTO;
	if (buf[OFF_VERSION] != EVFILE_VERSION)
		return -EPROTONOSUPPORT;
	if (buf[OFF_LOG2] < EVFILE_CHUNK_LOG2_MIN || buf[OFF_LOG2] > EVFILE_CHUNK_LOG2_MAX)
		return -EPROTO;
	if (buf[OFF_FLAGS] || buf[OFF_FLAGS + 1])
		return -EPROTO;
	hl = (uint32_t)evf_get_be(buf + OFF_HLEN, 4);
	if (hl < MIN_HEADER || hl > EVFILE_MAX_HEADER)
		return -EPROTO;
	*header_len = hl;
	return 0;
}

/* Bounded cursor over the variable part of a header. */
struct cur {
	const uint8_t *b;
	size_t pos, end;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *p;

	if (c->end - c->pos < n)
		return NULL;
	p = c->b + c->pos;
	c->pos += n;
	return p;
}

static int parse_string(struct cur *c, char *dst, int nonempty)
{
	const uint8_t *lp = take(c, 1), *s;

	if (!lp || (nonempty && !*lp))
		return -EPROTO;
	s = take(c, *lp);
	if (!s || !printable(s, *lp))
		return -EPROTO;
	memcpy(dst, s, *lp);
	dst[*lp] = '\0';
	return 0;
}

static int parse_stanza(struct cur *c, struct evfile_info *info, unsigned idx)
{
	struct evfile_stanza *s = &info->stanzas[idx];
	const uint8_t *p = take(c, EVF_STANZA_FIXED);
	uint32_t blen;

	if (!p)
		return -EPROTO;
	s->type = p[0];
	blen = (uint32_t)evf_get_be(p + 1, 2);
	memcpy(s->key_id, p + 3, EVFILE_KEYID_LEN);
	switch (s->type) {
	case EVFILE_R_ECDH_P256:
		if (blen != EVF_P256_POINT + EVF_WRAPPED_LEN)
			return -EPROTO;
		break;
	case EVFILE_R_ECDH_P384:
		if (blen != EVF_P384_POINT + EVF_WRAPPED_LEN)
			return -EPROTO;
		break;
	case EVFILE_R_RSA_OAEP:
		if (blen < EVF_RSA_MIN || blen > EVF_RSA_MAX)
			return -EPROTO;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	s->body_off = (uint32_t)c->pos;
	s->body_len = blen;
	if (!take(c, blen))
		return -EPROTO;
	for (unsigned j = 0; j < idx; j++)
		if (!memcmp(info->stanzas[j].key_id, s->key_id, EVFILE_KEYID_LEN))
			return -EPROTO;
	return 0;
}

int evfile_header_parse(const uint8_t *buf, size_t len, struct evfile_info *out)
{
	struct evfile_info *info;
	struct cur c;
	const uint8_t *p;
	uint32_t hl = 0;
	int rc;

	if (!out)
		return -EINVAL;
	rc = evfile_header_peek(buf, len, &hl);
	if (rc)
		return rc;
	if (len < hl)
		return -EPROTO;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->header_len = hl;
	info->chunk_log2 = buf[OFF_LOG2];
	memcpy(info->salt, buf + OFF_SALT, EVFILE_SALT_LEN);
	c.b = buf;
	c.pos = OFF_VAR;
	c.end = hl - EVFILE_MAC_LEN;
	rc = parse_string(&c, info->recording_id, 1);
	if (!rc)
		rc = parse_string(&c, info->camera_serial, 0);
	if (rc)
		goto out;
	rc = -EPROTO;
	p = take(&c, 2);
	if (!p)
		goto out;
	info->context_len = (uint32_t)evf_get_be(p, 2);
	info->context_off = (uint32_t)c.pos;
	if (info->context_len > EVFILE_MAX_CONTEXT || !take(&c, info->context_len))
		goto out;
	p = take(&c, 1);
	if (!p || *p < 1 || *p > EVFILE_MAX_RECIPIENTS)
		goto out;
	info->n_stanzas = *p;
	for (unsigned i = 0; i < info->n_stanzas; i++) {
		rc = parse_stanza(&c, info, i);
		if (rc)
			goto out;
	}
	/* The MAC must follow the last stanza exactly. */
	rc = c.pos == c.end ? 0 : -EPROTO;
	if (!rc)
		memcpy(out, info, sizeof(*info));
out:
	free(info);
	return rc;
}

int evf_header_build(const struct evfile_meta *meta, unsigned log2,
		     const uint8_t salt[EVFILE_SALT_LEN], const uint8_t *stanzas,
		     size_t stanzas_len, unsigned n_stanzas,
		     const uint8_t dk[EVFILE_KEY_LEN], uint8_t **hdr, size_t *hdr_len)
{
	size_t rl = strlen(meta->recording_id);
	size_t sl = meta->camera_serial ? strlen(meta->camera_serial) : 0;
	size_t cl = meta->context_len, total, n;
	uint8_t mackey[32], *h;
	int rc;

	total = OFF_VAR + 1 + rl + 1 + sl + 2 + cl + 1 + stanzas_len + EVFILE_MAC_LEN;
	if (total > EVFILE_MAX_HEADER)
		return -EMSGSIZE;
	h = calloc(1, total);
	if (!h)
		return -ENOMEM;
	memcpy(h, evf_magic, EVFILE_MAGIC_LEN);
	h[OFF_VERSION] = EVFILE_VERSION;
	h[OFF_LOG2] = (uint8_t)log2;
	evf_put_be(h + OFF_HLEN, total, 4);
	memcpy(h + OFF_SALT, salt, EVFILE_SALT_LEN);
	n = OFF_VAR;
	h[n++] = (uint8_t)rl;
	memcpy(h + n, meta->recording_id, rl);
	n += rl;
	h[n++] = (uint8_t)sl;
	if (sl)
		memcpy(h + n, meta->camera_serial, sl);
	n += sl;
	evf_put_be(h + n, cl, 2);
	n += 2;
	if (cl)
		memcpy(h + n, meta->context, cl);
	n += cl;
	h[n++] = (uint8_t)n_stanzas;
	memcpy(h + n, stanzas, stanzas_len);
	n += stanzas_len;
	rc = evf_hkdf("SHA256", dk, EVFILE_KEY_LEN, salt, EVFILE_SALT_LEN,
		      (const uint8_t *)EVF_INFO_HEADER, strlen(EVF_INFO_HEADER),
		      mackey, sizeof(mackey));
	if (!rc)
		rc = evf_hmac_sha256(mackey, h, n, h + n);
	OPENSSL_cleanse(mackey, sizeof(mackey));
	if (rc) {
		free(h);
		return rc;
	}
	*hdr = h;
	*hdr_len = total;
	return 0;
}

int evf_open_with_key(const uint8_t *hdr, size_t hdr_len,
		      const uint8_t dk[EVFILE_KEY_LEN], struct evfile_info *info,
		      struct evf_keys *k)
{
	int rc;

	if (!hdr || !dk)
		return -EINVAL;
	rc = evfile_header_parse(hdr, hdr_len, info);
	if (rc)
		return rc;
	return evf_keys_derive(info, hdr, dk, k);
}

void evfile_key_wipe(uint8_t data_key[EVFILE_KEY_LEN])
{
	if (data_key)
		OPENSSL_cleanse(data_key, EVFILE_KEY_LEN);
}

/* ---- layout arithmetic -------------------------------------------------- */

uint64_t evfile_chunk_count(unsigned chunk_log2, uint64_t pt_len)
{
	return pt_len ? ((pt_len - 1) >> chunk_log2) + 1 : 1;
}

uint64_t evfile_chunk_offset(uint32_t header_len, unsigned chunk_log2, uint64_t i)
{
	return header_len + i * ((UINT64_C(1) << chunk_log2) + EVFILE_TAG_LEN);
}

int evfile_ciphertext_size(uint32_t header_len, unsigned chunk_log2,
			   uint64_t pt_len, uint64_t *ct_size)
{
	uint64_t n = evfile_chunk_count(chunk_log2, pt_len);
	uint64_t tags = n * EVFILE_TAG_LEN;

	if (chunk_log2 < EVFILE_CHUNK_LOG2_MIN || chunk_log2 > EVFILE_CHUNK_LOG2_MAX)
		return -EINVAL;
	if (n > UINT64_MAX / EVFILE_TAG_LEN || pt_len > UINT64_MAX - tags ||
	    pt_len + tags > UINT64_MAX - header_len)
		return -EOVERFLOW;
	*ct_size = header_len + pt_len + tags;
	return 0;
}

int evfile_plaintext_size(uint32_t header_len, unsigned chunk_log2,
			  uint64_t ct_size, uint64_t *pt_len)
{
	uint64_t cc = (UINT64_C(1) << chunk_log2) + EVFILE_TAG_LEN;
	uint64_t body, n, last;

	if (chunk_log2 < EVFILE_CHUNK_LOG2_MIN || chunk_log2 > EVFILE_CHUNK_LOG2_MAX)
		return -EINVAL;
	if (ct_size < (uint64_t)header_len + EVFILE_TAG_LEN)
		return -EPROTO;
	body = ct_size - header_len;
	n = body / cc;
	last = body % cc;
	if (last) {
		/* A short final chunk needs its tag, and is empty only when it
		 * is the only chunk. */
		if (last < EVFILE_TAG_LEN || (last == EVFILE_TAG_LEN && n))
			return -EPROTO;
		n++;
	}
	*pt_len = body - n * EVFILE_TAG_LEN;
	return 0;
}

/* ---- fd callbacks -------------------------------------------------------- */

int evfile_fd_write(void *arg, const void *buf, size_t len)
{
	int fd = *(int *)arg;
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t evfile_fd_read(void *arg, void *buf, size_t len)
{
	for (;;) {
		ssize_t r = read(*(int *)arg, buf, len);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

int evfile_fd_pread(void *arg, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r;

		if (off > INT64_MAX)
			return -EINVAL;
		r = pread(*(int *)arg, p, len, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO; /* short file */
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

const char *evfile_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case -EINVAL: return "invalid argument";
	case -EPROTO: return "malformed evidence file";
	case -EPROTONOSUPPORT: return "unsupported evidence file version or recipient type";
	case -EBADMSG: return "evidence file failed authentication (tampered, truncated or wrong key)";
	case -ENOKEY: return "evidence file is not encrypted to this key";
	case -EMSGSIZE: return "evidence file limit exceeded";
	case -EOVERFLOW: return "size overflow";
	case -EFBIG: return "file too large";
	case -ENOMEM: return "out of memory";
	case -EIO: return "input/output error";
	default: return "evidence file error";
	}
}
