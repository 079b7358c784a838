/*
 * evfile_check: authenticate a whole evidence file, fed in order in pieces
 * of any size, with its data key (see evfile.h). The header read back is
 * parsed and its MAC checked; every chunk is one streamed AES-256-GCM
 * decryption (evf_chunk_begin: the writer's own nonce and AAD, so the
 * chunk is bound to SHA-256(header), its index and the final flag) whose
 * tag must verify; the plaintext is written over the caller's buffer and
 * discarded. No state but the header, the derived keys and 16 tag bytes.
 */
#include "evfile_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

enum { CK_PREFIX, CK_HEADER, CK_CHUNKS, CK_DONE };

struct evfile_check {
	int state;
	int err;            /* sticky */
	uint64_t pt_len;    /* the announced plaintext size */
	uint64_t fed;       /* bytes consumed */
	uint8_t dk[EVFILE_KEY_LEN]; /* wiped once the header's keys are derived */
	uint8_t pre[EVFILE_PREFIX_LEN];
	uint8_t *hdr;       /* header_len bytes while the header arrives */
	uint32_t hlen, hfill;
	struct evf_keys k;
	EVP_CIPHER_CTX *ctx;
	unsigned log2;
	uint64_t n, i;      /* chunks in the file; the current one */
	uint64_t clen, cfill; /* its ciphertext length (no tag); consumed */
	int open;           /* its GCM operation has begun */
	uint8_t tag[EVFILE_TAG_LEN];
	unsigned tfill;
};

static void wipe_keys(struct evfile_check *c)
{
	OPENSSL_cleanse(c->dk, sizeof(c->dk));
	OPENSSL_cleanse(&c->k, sizeof(c->k));
	EVP_CIPHER_CTX_free(c->ctx); /* cleanses the expanded key */
	c->ctx = NULL;
}

void evfile_check_free(struct evfile_check *c)
{
	if (!c)
		return;
	wipe_keys(c);
	free(c->hdr);
	free(c);
}

int evfile_check_new(struct evfile_check **out, const uint8_t data_key[EVFILE_KEY_LEN],
		     uint64_t pt_len)
{
	struct evfile_check *c;

	if (!out || !data_key)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx) {
		free(c);
		return -ENOMEM;
	}
	memcpy(c->dk, data_key, EVFILE_KEY_LEN);
	c->pt_len = pt_len;
	c->state = CK_PREFIX;
	*out = c;
	return 0;
}

/* The whole header is in: check it with the key, lay out the chunks. */
static int header_done(struct evfile_check *c)
{
	struct evfile_info info;
	int rc = evf_open_with_key(c->hdr, c->hlen, c->dk, &info, &c->k);

	OPENSSL_cleanse(c->dk, sizeof(c->dk)); /* only the derived keys from here */
	free(c->hdr);
	c->hdr = NULL;
	if (rc)
		return rc == -EPROTO || rc == -EPROTONOSUPPORT ? -EBADMSG : rc;
	c->log2 = info.chunk_log2;
	c->n = evfile_chunk_count(c->log2, c->pt_len);
	if (c->n > EVF_MAX_CHUNKS)
		return -EFBIG;
	c->i = 0;
	c->state = CK_CHUNKS;
	return 0;
}

/* Collect header bytes from *p; 0, or an error. */
static int take_header(struct evfile_check *c, uint8_t **p, size_t *len)
{
	size_t n;
	int rc;

	if (c->state == CK_PREFIX) {
		n = EVFILE_PREFIX_LEN - c->hfill;
		n = n < *len ? n : *len;
		memcpy(c->pre + c->hfill, *p, n);
		c->hfill += (uint32_t)n;
		*p += n;
		*len -= n;
		if (c->hfill < EVFILE_PREFIX_LEN)
			return 0;
		/* a header that does not parse is damage here: -EBADMSG */
		if (evfile_header_peek(c->pre, sizeof(c->pre), &c->hlen) != 0)
			return -EBADMSG;
		if (c->hlen < EVFILE_PREFIX_LEN || !(c->hdr = malloc(c->hlen)))
			return c->hdr ? -EBADMSG : -ENOMEM;
		memcpy(c->hdr, c->pre, EVFILE_PREFIX_LEN);
		c->state = CK_HEADER;
	}
	n = c->hlen - c->hfill;
	n = n < *len ? n : *len;
	memcpy(c->hdr + c->hfill, *p, n);
	c->hfill += (uint32_t)n;
	*p += n;
	*len -= n;
	if (c->hfill == c->hlen && (rc = header_done(c)))
		return rc;
	return 0;
}

static int chunk_begin(struct evfile_check *c)
{
	int final = c->i + 1 == c->n;
	int rc = evf_chunk_begin(c->ctx, 0, &c->k, c->i, final, c->pt_len);

	if (rc)
		return rc;
	c->clen = final ? c->pt_len - (c->i << c->log2) : (uint64_t)1 << c->log2;
	c->cfill = 0;
	c->tfill = 0;
	c->open = 1;
	return 0;
}

/* The chunk's tag is complete: it must verify. */
static int chunk_end(struct evfile_check *c)
{
	uint8_t scratch[16];
	int outl = 0, ok;

	ok = EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, EVFILE_TAG_LEN, c->tag) == 1 &&
	     EVP_CipherFinal_ex(c->ctx, scratch, &outl) == 1;
	ERR_clear_error();
	if (!ok)
		return -EBADMSG;
	c->open = 0;
	if (++c->i == c->n) {
		c->state = CK_DONE;
		wipe_keys(c); /* nothing more to decrypt */
	}
	return 0;
}

int evfile_check_feed(struct evfile_check *c, uint8_t *buf, size_t len)
{
	uint8_t *p = buf;
	int rc = 0;

	if (!c || (!buf && len))
		return -EINVAL;
	if (c->err)
		return c->err;
	c->fed += len;
	while (len && !rc) {
		if (c->state == CK_PREFIX || c->state == CK_HEADER) {
			rc = take_header(c, &p, &len);
		} else if (c->state == CK_DONE) {
			rc = -EBADMSG; /* bytes after the final chunk */
		} else if (!c->open) {
			rc = chunk_begin(c);
		} else if (c->cfill < c->clen) {
			uint64_t left = c->clen - c->cfill;
			size_t n = left < len ? (size_t)left : len;
			int outl = 0;

			if (n > INT_MAX / 2)
				n = INT_MAX / 2;
			/* in place over the caller's bytes: the plaintext is
			 * not wanted, only the tag's verdict */
			if (EVP_CipherUpdate(c->ctx, p, &outl, p, (int)n) != 1 ||
			    (size_t)outl != n) {
				ERR_clear_error();
				rc = -ENOMEM;
				break;
			}
			c->cfill += n;
			p += n;
			len -= n;
		} else {
			size_t n = EVFILE_TAG_LEN - c->tfill;

			n = n < len ? n : len;
			memcpy(c->tag + c->tfill, p, n);
			c->tfill += (unsigned)n;
			p += n;
			len -= n;
			if (c->tfill == EVFILE_TAG_LEN)
				rc = chunk_end(c);
		}
	}
	if (rc) {
		c->err = rc;
		wipe_keys(c);
	}
	return rc;
}

int evfile_check_end(struct evfile_check *c, uint64_t *ct_len)
{
	if (!c)
		return -EINVAL;
	if (c->err)
		return c->err;
	if (c->state != CK_DONE) {
		/* truncated: the final chunk (and with it the length) is missing */
		c->err = -EBADMSG;
		wipe_keys(c);
		return c->err;
	}
	if (ct_len)
		*ct_len = c->fed;
	return 0;
}
