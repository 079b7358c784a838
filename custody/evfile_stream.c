/*
 * evfile streams: the chunked AEAD (STREAM-like) writer and reader, resume,
 * part regeneration and prefix re-hashing. Memory is one chunk buffer.
 * Chunk layout and nonce/AAD: docs/evidence-format.md, section "Chunks".
 */
#include "evfile_int.h"
#include "agencykey.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>


static int chunk_crypt(EVP_CIPHER_CTX *ctx, int enc, const struct evf_keys *k,
		       unsigned log2, uint64_t i, int final, uint8_t *buf, size_t len)
{
	uint8_t nonce[EVF_NONCE_LEN] = { 0 };
	uint8_t aad[32 + 8];
	size_t aad_len = 32;

	if (i >= EVF_MAX_CHUNKS || len > ((size_t)1 << log2))
		return -EFBIG;
	/* nonce = 88-bit big-endian chunk index || final flag */
	evf_put_be(nonce + 3, i, 8);
	nonce[11] = final ? 0x01 : 0x00;
	memcpy(aad, k->hdr_hash, 32);
	if (final) {
		evf_put_be(aad + 32, (i << log2) + len, 8);
		aad_len += 8;
	}
	return evf_gcm(ctx, enc, k->payload, nonce, aad, aad_len, buf, len, buf + len);
}

int evf_chunk_seal(EVP_CIPHER_CTX *ctx, const struct evf_keys *k,
		   unsigned log2, uint64_t i, int final, uint8_t *buf, size_t len)
{
	return chunk_crypt(ctx, 1, k, log2, i, final, buf, len);
}

int evf_chunk_open(EVP_CIPHER_CTX *ctx, const struct evf_keys *k,
		   unsigned log2, uint64_t i, int final, uint8_t *buf, size_t ct_len)
{
	if (ct_len < EVFILE_TAG_LEN)
		return -EBADMSG;
	return chunk_crypt(ctx, 0, k, log2, i, final, buf, ct_len - EVFILE_TAG_LEN);
}

/* ---- writer --------------------------------------------------------------- */


void evfile_writer_free(struct evfile_writer *w)
{
	if (!w)
		return;
	OPENSSL_cleanse(w->dk, sizeof(w->dk));
	OPENSSL_cleanse(&w->k, sizeof(w->k));
	if (w->buf)
		OPENSSL_clear_free(w->buf, w->bsize);
	EVP_CIPHER_CTX_free(w->ctx);
	free(w->hdr);
	free(w);
}

static struct evfile_writer *writer_alloc(unsigned log2, evfile_write_fn out,
					  void *out_arg)
{
	struct evfile_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->out = out;
	w->out_arg = out_arg;
	w->log2 = log2;
	w->csize = (size_t)1 << log2;
	w->ctx = EVP_CIPHER_CTX_new();
	w->bsize = w->csize + EVFILE_TAG_LEN;
	w->buf = OPENSSL_malloc(w->bsize);
	if (!w->ctx || !w->buf) {
		evfile_writer_free(w);
		return NULL;
	}
	return w;
}

static int check_meta(const struct evfile_meta *m, unsigned *log2)
{
	size_t rl, sl;

	if (!m || !m->recording_id)
		return -EINVAL;
	rl = strlen(m->recording_id);
	sl = m->camera_serial ? strlen(m->camera_serial) : 0;
	if (!rl || rl > EVFILE_MAX_ID || sl > EVFILE_MAX_ID)
		return -EINVAL;
	for (size_t i = 0; i < rl; i++)
		if (m->recording_id[i] < 0x20 || m->recording_id[i] > 0x7e)
			return -EINVAL;
	for (size_t i = 0; i < sl; i++)
		if (m->camera_serial[i] < 0x20 || m->camera_serial[i] > 0x7e)
			return -EINVAL;
	if (m->context_len > EVFILE_MAX_CONTEXT)
		return -EMSGSIZE;
	if (m->context_len && !m->context)
		return -EINVAL;
	*log2 = m->chunk_log2 ? m->chunk_log2 : EVFILE_CHUNK_LOG2_DEFAULT;
	if (*log2 < EVFILE_CHUNK_LOG2_MIN || *log2 > EVFILE_CHUNK_LOG2_MAX)
		return -EINVAL;
	return 0;
}

/* Every recipient a supported agency key, no key twice. */
static int check_recipients(EVP_PKEY *const *r, size_t n)
{
	uint8_t ids[EVFILE_MAX_RECIPIENTS][EVFILE_KEYID_LEN];

	if (!r || !n)
		return -EINVAL;
	if (n > EVFILE_MAX_RECIPIENTS)
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		if (agencykey_type(r[i]) < 0 || agencykey_id(r[i], ids[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(ids[i], ids[j], EVFILE_KEYID_LEN))
				return -EINVAL;
	}
	return 0;
}

static int writer_setup(struct evfile_writer *w, EVP_PKEY *const *r, size_t n,
			const struct evfile_meta *meta)
{
	uint8_t salt[EVFILE_SALT_LEN], *st;
	size_t st_len = 0, one;
	struct evfile_info info;
	int rc = 0;

	st = malloc(n * EVF_STANZA_MAX);
	if (!st)
		return -ENOMEM;
	if (RAND_priv_bytes(w->dk, sizeof(w->dk)) != 1 ||
	    RAND_bytes(salt, sizeof(salt)) != 1)
		rc = -EIO;
	for (size_t i = 0; !rc && i < n; i++) {
		rc = evf_wrap(r[i], salt, w->dk, st + st_len, &one);
		st_len += rc ? 0 : one;
	}
	if (!rc)
		rc = evf_header_build(meta, w->log2, salt, st, st_len, (unsigned)n,
				      w->dk, &w->hdr, &w->hdr_len);
	/* Re-read our own header: the parser is the format's single truth. */
	if (!rc)
		rc = evf_open_with_key(w->hdr, w->hdr_len, w->dk, &info, &w->k);
	free(st);
	return rc;
}

int evfile_writer_open(struct evfile_writer **out_w, EVP_PKEY *const *recipients,
		       size_t n, const struct evfile_meta *meta,
		       evfile_write_fn out, void *out_arg)
{
	struct evfile_writer *w;
	unsigned log2 = 0;
	int rc;

	if (!out_w || !out)
		return -EINVAL;
	rc = check_meta(meta, &log2);
	if (!rc)
		rc = check_recipients(recipients, n);
	if (rc)
		return rc;
	w = writer_alloc(log2, out, out_arg);
	if (!w)
		return -ENOMEM;
	rc = writer_setup(w, recipients, n, meta);
	if (!rc)
		rc = out(out_arg, w->hdr, w->hdr_len);
	if (rc) {
		evfile_writer_free(w);
		return rc;
	}
	*out_w = w;
	return 0;
}

int evfile_writer_resume(struct evfile_writer **out_w, const uint8_t *hdr,
			 size_t hdr_len, const uint8_t data_key[EVFILE_KEY_LEN],
			 uint64_t next_chunk, evfile_write_fn out, void *out_arg)
{
	struct evfile_writer *w;
	struct evfile_info info;
	struct evf_keys k;
	int rc;

	if (!out_w || !out || next_chunk >= EVF_MAX_CHUNKS)
		return -EINVAL;
	rc = evf_open_with_key(hdr, hdr_len, data_key, &info, &k);
	if (rc)
		return rc;
	w = writer_alloc(info.chunk_log2, out, out_arg);
	if (w)
		w->hdr = malloc(info.header_len);
	if (!w || !w->hdr) {
		OPENSSL_cleanse(&k, sizeof(k));
		evfile_writer_free(w);
		return -ENOMEM;
	}
	memcpy(w->hdr, hdr, info.header_len);
	w->hdr_len = info.header_len;
	memcpy(w->dk, data_key, EVFILE_KEY_LEN);
	w->k = k;
	OPENSSL_cleanse(&k, sizeof(k));
	w->next = next_chunk;
	*out_w = w;
	return 0;
}

static int emit_chunk(struct evfile_writer *w, int final)
{
	int rc = evf_chunk_seal(w->ctx, &w->k, w->log2, w->next, final, w->buf, w->fill);

	/* Sealing is in place: once it succeeded the buffer holds ciphertext
	 * only (not secret, no wipe needed); a failed seal may leave plaintext. */
	if (rc) {
		OPENSSL_cleanse(w->buf, w->fill);
		return w->err = rc;
	}
	rc = w->out(w->out_arg, w->buf, w->fill + EVFILE_TAG_LEN);
	if (rc)
		return w->err = rc;
	w->next++;
	w->fill = 0;
	return 0;
}

int evfile_writer_write(struct evfile_writer *w, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!w || (len && !data))
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->finished)
		return -EINVAL;
	if (w->streaming)
		return evf_stream_write(w, p, len);
	while (len) {
		size_t n;

		/* A full chunk is not final once more data exists: emit it. */
		if (w->fill == w->csize) {
			int rc = emit_chunk(w, 0);

			if (rc)
				return rc;
		}
		n = w->csize - w->fill;
		if (n > len)
			n = len;
		memcpy(w->buf + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
	}
	return 0;
}

int evfile_writer_finish(struct evfile_writer *w, uint64_t *pt_len, uint64_t *ct_len)
{
	uint64_t pt, ct = 0;
	int rc;

	if (!w || w->finished)
		return -EINVAL;
	if (w->err)
		return w->err;
	pt = (w->next << w->log2) + w->fill;
	if (w->streaming)
		pt = w->expect;
	rc = w->streaming ? evf_stream_finish(w) : emit_chunk(w, 1);
	if (rc)
		return rc;
	w->finished = 1;
	OPENSSL_cleanse(w->dk, sizeof(w->dk));
	OPENSSL_cleanse(&w->k, sizeof(w->k));
	if (evfile_ciphertext_size((uint32_t)w->hdr_len, w->log2, pt, &ct))
		ct = 0;
	if (pt_len)
		*pt_len = pt;
	if (ct_len)
		*ct_len = ct;
	return 0;
}

const uint8_t *evfile_writer_header(const struct evfile_writer *w, size_t *len)
{
	if (!w)
		return NULL;
	if (len)
		*len = w->hdr_len;
	return w->hdr;
}

int evfile_writer_checkpoint(const struct evfile_writer *w,
			     uint8_t data_key[EVFILE_KEY_LEN], uint64_t *chunks_done)
{
	if (!w || !data_key || !chunks_done || w->finished)
		return -EINVAL;
	if (w->err)
		return w->err;
	memcpy(data_key, w->dk, EVFILE_KEY_LEN);
	*chunks_done = w->next;
	return 0;
}

/* ---- regeneration and re-hashing ----------------------------------------- */

int evfile_regen_chunks(const uint8_t *hdr, size_t hdr_len,
			const uint8_t data_key[EVFILE_KEY_LEN], uint64_t pt_len,
			uint64_t first, uint64_t last,
			evfile_pread_fn in, void *in_arg,
			evfile_write_fn out, void *out_arg)
{
	struct evfile_info info;
	struct evf_keys k;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	uint64_t n;
	size_t cs = 0;
	int rc;

	if (!in || !out)
		return -EINVAL;
	rc = evf_open_with_key(hdr, hdr_len, data_key, &info, &k);
	if (rc)
		return rc;
	n = evfile_chunk_count(info.chunk_log2, pt_len);
	if (first > last || last > n || n > EVF_MAX_CHUNKS) {
		rc = -EINVAL;
		goto out;
	}
	cs = (size_t)1 << info.chunk_log2;
	ctx = EVP_CIPHER_CTX_new();
	buf = OPENSSL_malloc(cs + EVFILE_TAG_LEN);
	if (!ctx || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t i = first; !rc && i < last; i++) {
		uint64_t off = i << info.chunk_log2;
		int final = i == n - 1;
		size_t len = final ? (size_t)(pt_len - off) : cs;

		rc = len ? in(in_arg, off, buf, len) : 0;
		if (!rc)
			rc = evf_chunk_seal(ctx, &k, info.chunk_log2, i, final, buf, len);
		if (!rc)
			rc = out(out_arg, buf, len + EVFILE_TAG_LEN);
	}
out:
	OPENSSL_cleanse(&k, sizeof(k));
	if (buf)
		OPENSSL_clear_free(buf, cs + EVFILE_TAG_LEN);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int evfile_rehash_prefix(const uint8_t *hdr, size_t hdr_len,
			 const uint8_t data_key[EVFILE_KEY_LEN], uint64_t nchunks,
			 evfile_pread_fn in, void *in_arg, EVP_MD_CTX *md)
{
	struct evfile_info info;
	struct evf_keys k;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t cs = 0;
	int rc;

	if (!in || !md || nchunks >= EVF_MAX_CHUNKS)
		return -EINVAL;
	rc = evf_open_with_key(hdr, hdr_len, data_key, &info, &k);
	if (rc)
		return rc;
	cs = (size_t)1 << info.chunk_log2;
	ctx = EVP_CIPHER_CTX_new();
	buf = OPENSSL_malloc(cs + EVFILE_TAG_LEN);
	if (!ctx || !buf)
		rc = -ENOMEM;
	for (uint64_t i = 0; !rc && i < nchunks; i++) {
		rc = in(in_arg, evfile_chunk_offset(info.header_len, info.chunk_log2, i),
			buf, cs + EVFILE_TAG_LEN);
		if (!rc)
			rc = evf_chunk_open(ctx, &k, info.chunk_log2, i, 0, buf,
					    cs + EVFILE_TAG_LEN);
		if (!rc && EVP_DigestUpdate(md, buf, cs) != 1)
			rc = -ENOMEM;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	if (buf)
		OPENSSL_clear_free(buf, cs + EVFILE_TAG_LEN);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* ---- reader --------------------------------------------------------------- */

struct evfile_reader {
	evfile_read_fn in;
	void *in_arg;
	int err;
	int done;
	struct evfile_info info;
	struct evf_keys k;
	EVP_CIPHER_CTX *ctx;
	size_t csize;
	uint64_t next, total;
	uint8_t *buf;       /* csize + tag + one look-ahead byte */
	int have_peek;
	uint8_t peek;
};

void evfile_reader_free(struct evfile_reader *r)
{
	if (!r)
		return;
	OPENSSL_cleanse(&r->k, sizeof(r->k));
	if (r->buf)
		OPENSSL_clear_free(r->buf, r->csize + EVFILE_TAG_LEN + 1);
	EVP_CIPHER_CTX_free(r->ctx);
	free(r);
}

/* Fill buf with up to len bytes; *got < len only at end of input. */
static int read_full(evfile_read_fn in, void *arg, uint8_t *buf, size_t len,
		     size_t *got)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = in(arg, buf + n, len - n);

		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		if ((size_t)r > len - n)
			return -EIO; /* callback broke its contract */
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

static int reader_header(struct evfile_reader *r, evf_getdk_fn getdk, void *arg)
{
	uint8_t dk[EVFILE_KEY_LEN], *hdr;
	uint32_t hl = 0;
	size_t got = 0;
	int rc;

	hdr = malloc(EVFILE_MAX_HEADER);
	if (!hdr)
		return -ENOMEM;
	rc = read_full(r->in, r->in_arg, hdr, EVFILE_PREFIX_LEN, &got);
	if (!rc && got < EVFILE_PREFIX_LEN)
		rc = -EPROTO;
	if (!rc)
		rc = evfile_header_peek(hdr, got, &hl);
	if (!rc)
		rc = read_full(r->in, r->in_arg, hdr + got, hl - got, &got);
	if (!rc && got < hl - EVFILE_PREFIX_LEN)
		rc = -EPROTO;
	if (!rc)
		rc = evfile_header_parse(hdr, hl, &r->info);
	if (!rc)
		rc = getdk(arg, &r->info, hdr, dk);
	if (!rc)
		rc = evf_keys_derive(&r->info, hdr, dk, &r->k);
	OPENSSL_cleanse(dk, sizeof(dk));
	free(hdr);
	return rc;
}

static int unwrap_own(void *key, const struct evfile_info *info,
		      const uint8_t *hdr, uint8_t dk[EVFILE_KEY_LEN])
{
	return evf_unwrap(key, info, hdr, dk);
}

int evfile_reader_open(struct evfile_reader **out, EVP_PKEY *key,
		       evfile_read_fn in, void *in_arg, struct evfile_info *info)
{
	if (!key)
		return -EINVAL;
	return evf_reader_open_with(out, unwrap_own, key, in, in_arg, info);
}

int evf_reader_open_with(struct evfile_reader **out, evf_getdk_fn getdk,
			 void *arg, evfile_read_fn in, void *in_arg,
			 struct evfile_info *info)
{
	struct evfile_reader *r;
	int rc;

	if (!out || !getdk || !in)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->in = in;
	r->in_arg = in_arg;
	rc = reader_header(r, getdk, arg);
	if (rc)
		goto fail;
	r->csize = (size_t)1 << r->info.chunk_log2;
	r->ctx = EVP_CIPHER_CTX_new();
	r->buf = OPENSSL_malloc(r->csize + EVFILE_TAG_LEN + 1);
	if (!r->ctx || !r->buf) {
		rc = -ENOMEM;
		goto fail;
	}
	if (info)
		memcpy(info, &r->info, sizeof(*info));
	*out = r;
	return 0;
fail:
	evfile_reader_free(r);
	return rc;
}

int evfile_reader_next(struct evfile_reader *r, const uint8_t **buf, size_t *len)
{
	size_t cc, n = 0, got = 0;
	int final, rc;

	if (!r || !buf || !len)
		return -EINVAL;
	if (r->err)
		return r->err;
	if (r->done)
		return 0;
	cc = r->csize + EVFILE_TAG_LEN;
	if (r->have_peek) {
		r->buf[0] = r->peek;
		r->have_peek = 0;
		n = 1;
	}
	/* One byte beyond a full chunk tells whether this chunk is the last. */
	rc = read_full(r->in, r->in_arg, r->buf + n, cc + 1 - n, &got);
	if (rc)
		return r->err = rc;
	n += got;
	final = n <= cc;
	if (!final) {
		r->peek = r->buf[cc];
		r->have_peek = 1;
		n = cc;
	} else if (n < EVFILE_TAG_LEN || (n == EVFILE_TAG_LEN && r->next)) {
		/* Cut mid-tag, or an empty final chunk after data: truncated. */
		return r->err = -EBADMSG;
	}
	rc = evf_chunk_open(r->ctx, &r->k, r->info.chunk_log2, r->next, final,
			    r->buf, n);
	if (rc)
		return r->err = rc;
	r->next++;
	r->total += n - EVFILE_TAG_LEN;
	if (final) {
		r->done = 1;
		OPENSSL_cleanse(&r->k, sizeof(r->k));
	}
	*buf = r->buf;
	*len = n - EVFILE_TAG_LEN;
	return 1;
}

uint64_t evfile_reader_plaintext_len(const struct evfile_reader *r)
{
	return r ? r->total : 0;
}
