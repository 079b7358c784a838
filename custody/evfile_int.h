#ifndef CUSTODY_EVFILE_INT_H
#define CUSTODY_EVFILE_INT_H

/* Internal to evfile*.c: not part of the public API. */

#include "evfile.h"

/* KDF info strings, byte-exact as in docs/evidence-format.md (no NUL). */
#define EVF_INFO_HEADER  "evfile v1 header mac key"
#define EVF_INFO_PAYLOAD "evfile v1 payload key"
#define EVF_INFO_P256    "evfile v1 ecdh-p256 kek"
#define EVF_INFO_P384    "evfile v1 ecdh-p384 kek"

/* Keeps (i << log2) + chunk far from 2^64 for every allowed chunk size. */
#define EVF_MAX_CHUNKS (UINT64_C(1) << 39)
#define EVF_NONCE_LEN 12
#define EVF_STANZA_FIXED (1 + 2 + EVFILE_KEYID_LEN)
#define EVF_WRAPPED_LEN (EVFILE_KEY_LEN + EVFILE_TAG_LEN)
#define EVF_P256_POINT 65
#define EVF_P384_POINT 97
#define EVF_RSA_MIN 384   /* 3072-bit modulus */
#define EVF_RSA_MAX 1024  /* 8192-bit modulus */
#define EVF_STANZA_MAX (EVF_STANZA_FIXED + EVF_RSA_MAX)

extern const uint8_t evf_magic[EVFILE_MAGIC_LEN];

/* Keys derived from a data key for one file. */
struct evf_keys {
	uint8_t hdr_mac[32];
	uint8_t payload[32];
	uint8_t hdr_hash[32];   /* SHA-256 of the whole header */
};

static inline void evf_put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t evf_get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | *p++;
	return v;
}

/* evfile_wrap.c: primitives (OpenSSL EVP only). */
int evf_hkdf(const char *md, const uint8_t *ikm, size_t ikm_len,
	     const uint8_t *salt, size_t salt_len,
	     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
int evf_hmac_sha256(const uint8_t key[32], const uint8_t *data, size_t len,
		    uint8_t out[32]);
int evf_gcm(EVP_CIPHER_CTX *ctx, int enc, const uint8_t key[32],
	    const uint8_t nonce[EVF_NONCE_LEN], const uint8_t *aad, size_t aad_len,
	    uint8_t *buf, size_t len, uint8_t tag[EVFILE_TAG_LEN]);
/* Build one recipient stanza for `dk` into out (>= EVF_STANZA_MAX). */
int evf_wrap(EVP_PKEY *recipient, const uint8_t salt[EVFILE_SALT_LEN],
	     const uint8_t dk[EVFILE_KEY_LEN], uint8_t *out, size_t *out_len);
/* Find the stanza addressed to `key` in a parsed header and unwrap. */
int evf_unwrap(EVP_PKEY *key, const struct evfile_info *info,
	       const uint8_t *hdr, uint8_t dk[EVFILE_KEY_LEN]);
/* Derive header/payload keys, check the header MAC, hash the header. */
int evf_keys_derive(const struct evfile_info *info, const uint8_t *hdr,
		    const uint8_t dk[EVFILE_KEY_LEN], struct evf_keys *k);

/* evfile_stream.c: a reader whose data key comes from getdk (called with
 * the parsed header, before its MAC is checked) instead of the header's
 * own stanzas: evfile_reader_open uses evf_unwrap, evshare.c a share's
 * stanza. getdk returns 0 with dk set, or a negative errno. */
typedef int (*evf_getdk_fn)(void *arg, const struct evfile_info *info,
			    const uint8_t *hdr, uint8_t dk[EVFILE_KEY_LEN]);
int evf_reader_open_with(struct evfile_reader **out, evf_getdk_fn getdk,
			 void *arg, evfile_read_fn in, void *in_arg,
			 struct evfile_info *info);

/* evfile_stream.c: one chunk, in place; ciphertext then tag in buf. */
int evf_chunk_seal(EVP_CIPHER_CTX *ctx, const struct evf_keys *k,
		   unsigned log2, uint64_t i, int final, uint8_t *buf, size_t len);
int evf_chunk_open(EVP_CIPHER_CTX *ctx, const struct evf_keys *k,
		   unsigned log2, uint64_t i, int final, uint8_t *buf, size_t ct_len);

/* evfile_stream.c / evfile_sstream.c: the writer's state. */
struct evfile_writer {
	evfile_write_fn out;
	void *out_arg;
	int err;
	int finished;
	unsigned log2;
	size_t csize;
	uint8_t *hdr;
	size_t hdr_len;
	uint8_t dk[EVFILE_KEY_LEN];
	struct evf_keys k;
	EVP_CIPHER_CTX *ctx;
	uint64_t next;      /* chunks emitted */
	uint8_t *buf;       /* csize plaintext + tag; streaming: one piece */
	size_t bsize;       /* bytes allocated at buf */
	size_t fill;
	/* Streaming (evfile_writer_set_size): chunk `next` is encrypted as its
	 * bytes arrive; sopen when its GCM operation has begun. */
	int streaming, sopen, sfinal;
	uint64_t expect;    /* announced plaintext size */
	size_t cfill;       /* plaintext bytes of chunk `next` encrypted */
};

/* evfile_sstream.c: begin chunk i of a file of pt_total plaintext bytes as
 * one streamed AES-256-GCM operation (enc 1 seal, 0 open): the nonce and
 * AAD of chunk_crypt(); EVP_CipherUpdate then takes its bytes in pieces. */
int evf_chunk_begin(EVP_CIPHER_CTX *ctx, int enc, const struct evf_keys *k,
		    uint64_t i, int final, uint64_t pt_total);

/* evfile_sstream.c: streaming mode (evfile_writer_set_size). */
int evf_stream_write(struct evfile_writer *w, const uint8_t *p, size_t len);
int evf_stream_finish(struct evfile_writer *w);

/* evfile.c: header encoding with a known layout. */
int evf_header_build(const struct evfile_meta *meta, unsigned log2,
		     const uint8_t salt[EVFILE_SALT_LEN], const uint8_t *stanzas,
		     size_t stanzas_len, unsigned n_stanzas,
		     const uint8_t dk[EVFILE_KEY_LEN], uint8_t **hdr, size_t *hdr_len);
/* Parse + MAC check + key derivation from a data key (resume, regen). */
int evf_open_with_key(const uint8_t *hdr, size_t hdr_len,
		      const uint8_t dk[EVFILE_KEY_LEN], struct evfile_info *info,
		      struct evf_keys *k);

#endif
