/*
 * evfile streaming writer (evfile_writer_set_size): with the plaintext size
 * announced, every chunk's final flag is known before its first byte, so
 * each chunk is one AES-256-GCM operation fed as the bytes arrive, out of
 * place into a small piece buffer. Byte-identical to the buffered writer in
 * evfile_stream.c (same nonce and AAD; docs/evidence-format.md, "Chunks").
 */
#include "evfile_int.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

int evfile_writer_set_size(struct evfile_writer *w, uint64_t pt_len)
{
	uint8_t *piece;

	if (!w || w->finished || w->streaming || w->fill)
		return -EINVAL;
	if (w->err)
		return w->err;
	/* The chunks already emitted (a resume) must all be non-final. */
	if (w->next && w->next >= evfile_chunk_count(w->log2, pt_len))
		return -EINVAL;
	if (evfile_chunk_count(w->log2, pt_len) > EVF_MAX_CHUNKS)
		return -EFBIG;
	if (w->bsize > EVFILE_STREAM_PIECE) { /* only ciphertext passes through now */
		piece = OPENSSL_malloc(EVFILE_STREAM_PIECE);
		if (!piece)
			return -ENOMEM;
		OPENSSL_clear_free(w->buf, w->bsize);
		w->buf = piece;
		w->bsize = EVFILE_STREAM_PIECE;
	}
	w->streaming = 1;
	w->expect = pt_len;
	return 0;
}

int evf_chunk_begin(EVP_CIPHER_CTX *ctx, int enc, const struct evf_keys *k,
		    uint64_t i, int final, uint64_t pt_total)
{
	uint8_t nonce[EVF_NONCE_LEN] = { 0 };
	uint8_t aad[32 + 8];
	int aad_len = 32, outl = 0;

	if (i >= EVF_MAX_CHUNKS)
		return -EFBIG;
	evf_put_be(nonce + 3, i, 8);
	nonce[11] = final ? 0x01 : 0x00;
	memcpy(aad, k->hdr_hash, 32);
	if (final) {
		evf_put_be(aad + 32, pt_total, 8);
		aad_len += 8;
	}
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->payload, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &outl, aad, aad_len) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

/* Begin chunk `next`: the same nonce and AAD as chunk_crypt(). */
static int stream_begin(struct evfile_writer *w)
{
	int rc;

	w->sfinal = ((w->next + 1) << w->log2) >= w->expect;
	rc = evf_chunk_begin(w->ctx, 1, &w->k, w->next, w->sfinal, w->expect);
	if (rc)
		return rc;
	w->sopen = 1;
	w->cfill = 0;
	return 0;
}

/* End chunk `next`: its tag goes out after its ciphertext. */
static int stream_end(struct evfile_writer *w)
{
	uint8_t tag[EVFILE_TAG_LEN];
	int outl = 0, rc;

	if (EVP_CipherFinal_ex(w->ctx, w->buf, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_GET_TAG, EVFILE_TAG_LEN, tag) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	rc = w->out(w->out_arg, tag, sizeof(tag));
	if (rc)
		return rc;
	w->sopen = 0;
	w->next++;
	w->cfill = 0;
	return 0;
}

int evf_stream_write(struct evfile_writer *w, const uint8_t *p, size_t len)
{
	uint64_t done = (w->next << w->log2) + w->cfill;
	int rc = 0;

	if (len > w->expect - done)
		return w->err = -EINVAL; /* more than announced */
	while (len) {
		size_t n = w->csize - w->cfill;
		int outl = 0;

		if (!w->sopen && (rc = stream_begin(w)))
			return w->err = rc;
		if (n > len)
			n = len;
		if (n > w->bsize)
			n = w->bsize;
		if (EVP_CipherUpdate(w->ctx, w->buf, &outl, p, (int)n) != 1 || (size_t)outl != n) {
			ERR_clear_error();
			return w->err = -ENOMEM;
		}
		if ((rc = w->out(w->out_arg, w->buf, n)))
			return w->err = rc;
		w->cfill += n;
		p += n;
		len -= n;
		/* A full chunk that is not the last one is complete. */
		if (w->cfill == w->csize && !w->sfinal && (rc = stream_end(w)))
			return w->err = rc;
	}
	return 0;
}

int evf_stream_finish(struct evfile_writer *w)
{
	int rc;

	if ((w->next << w->log2) + w->cfill != w->expect)
		return w->err = -EINVAL; /* fewer bytes than announced */
	if (!w->sopen && (rc = stream_begin(w))) /* an empty file */
		return w->err = rc;
	if ((rc = stream_end(w)))
		return w->err = rc;
	return 0;
}

