/*
 * Encrypted evidence file format (custody/evfile*.c, custody/agencykey.c):
 * round trips, every tamper class, resume, part regeneration, hostile
 * headers, key files, fuzz regressions.
 *
 * Tool modes (used by tests/integration/evfile_openssl.sh to check the
 * spec against an independent implementation):
 *   test_evfile --make-vectors DIR   write keys, plaintexts, .evf files
 *   test_evfile --decrypt KEY IN OUT decrypt IN with private key KEY
 *   test_evfile --bench MIB FILE     throughput (tests/bench/evfile.sh)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "agencykey.h"
#include "evfile.h"

#define FUZZ_EVFILE_NO_MAIN
#include "../fuzz/fuzz_evfile.c"

#define LOG2 12
#define C ((size_t)1 << LOG2)

/* ---- helpers ----------------------------------------------------------- */

struct mbuf {
	uint8_t *p;
	size_t len, cap;
};

static int mbuf_write(void *arg, const void *buf, size_t len)
{
	struct mbuf *m = arg;

	if (!len)
		return 0;
	if (m->len + len > m->cap) {
		size_t cap = (m->len + len) * 2 + 64;
		uint8_t *p = realloc(m->p, cap);

		if (!p)
			return -ENOMEM;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static void mbuf_free(struct mbuf *m)
{
	free(m->p);
	memset(m, 0, sizeof(*m));
}

static int mem_pread(void *arg, uint64_t off, void *buf, size_t len)
{
	struct mbuf *m = arg;

	if (off > m->len || len > m->len - off)
		return -EIO;
	memcpy(buf, m->p + off, len);
	return 0;
}

static EVP_PKEY *k256, *k384, *krsa, *k256b;

static int setup_keys(void **state)
{
	(void)state;
	if (agencykey_generate(AGENCYKEY_P256, &k256) ||
	    agencykey_generate(AGENCYKEY_P384, &k384) ||
	    agencykey_generate(AGENCYKEY_RSA, &krsa) ||
	    agencykey_generate(AGENCYKEY_P256, &k256b))
		return -1;
	return 0;
}

static int teardown_keys(void **state)
{
	(void)state;
	EVP_PKEY_free(k256);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(krsa);
	EVP_PKEY_free(k256b);
	return 0;
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Encrypt pt to recipients in uneven pieces; returns the writer's rc. */
static int encrypt_to(EVP_PKEY *const *r, size_t n, const uint8_t *pt, size_t len,
		      unsigned log2, struct mbuf *out)
{
	struct evfile_meta meta = { .recording_id = "REC-0001",
				    .camera_serial = "CAM 42",
				    .context = (const uint8_t *)"ctx", .context_len = 3,
				    .chunk_log2 = log2 };
	struct evfile_writer *w = NULL;
	size_t off = 0, step = 7;
	uint64_t ptl = 0, ctl = 0;
	int rc = evfile_writer_open(&w, r, n, &meta, mbuf_write, out);

	while (!rc && off < len) {
		size_t k = len - off < step ? len - off : step;

		rc = evfile_writer_write(w, pt + off, k);
		off += k;
		step = step * 3 + 1;
	}
	if (!rc)
		rc = evfile_writer_finish(w, &ptl, &ctl);
	if (!rc) {
		assert_int_equal(ptl, len);
		assert_int_equal(ctl, out->len);
	}
	evfile_writer_free(w);
	return rc;
}

/* Decrypt a whole file; 0 only when the final chunk verified. */
static int decrypt_with(EVP_PKEY *key, const uint8_t *ct, size_t len, struct mbuf *out)
{
	struct fuzz_src src = { ct, len, 0 };
	struct evfile_reader *r = NULL;
	struct evfile_info info;
	const uint8_t *buf;
	size_t n;
	int rc = evfile_reader_open(&r, key, fuzz_src_read, &src, &info);

	while (!rc && (rc = evfile_reader_next(r, &buf, &n)) == 1)
		rc = mbuf_write(out, buf, n);
	if (!rc)
		assert_string_equal(info.recording_id, "REC-0001");
	evfile_reader_free(r);
	return rc;
}

static void roundtrip(EVP_PKEY *const *r, size_t n, size_t len)
{
	uint8_t *pt = malloc(len + 1);
	struct mbuf ct = { 0 };
	struct evfile_info info;
	uint64_t back = 0;

	assert_non_null(pt);
	fill_pattern(pt, len, (uint32_t)len);
	assert_int_equal(encrypt_to(r, n, pt, len, LOG2, &ct), 0);
	assert_int_equal(evfile_header_parse(ct.p, ct.len, &info), 0);
	assert_int_equal(info.n_stanzas, n);
	assert_int_equal(evfile_plaintext_size(info.header_len, LOG2, ct.len, &back), 0);
	assert_int_equal(back, len);
	for (size_t i = 0; i < n; i++) {  /* each recipient alone */
		struct mbuf out = { 0 };

		assert_int_equal(decrypt_with(r[i], ct.p, ct.len, &out), 0);
		assert_int_equal(out.len, len);
		assert_true(len == 0 || memcmp(out.p, pt, len) == 0);
		mbuf_free(&out);
	}
	mbuf_free(&ct);
	free(pt);
}

static const size_t sizes[] = { 0, 1, C - 1, C, C + 1, 3 * C + 5 };

static void test_roundtrip_p256(void **s)
{
	(void)s;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		roundtrip(&k256, 1, sizes[i]);
}

static void test_roundtrip_p384(void **s)
{
	(void)s;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		roundtrip(&k384, 1, sizes[i]);
}

static void test_roundtrip_rsa(void **s)
{
	(void)s;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		roundtrip(&krsa, 1, sizes[i]);
}

static void test_roundtrip_two_recipients(void **s)
{
	EVP_PKEY *r[2] = { k384, krsa };

	(void)s;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		roundtrip(r, 2, sizes[i]);
}

static void test_roundtrip_default_chunk(void **s)
{
	size_t len = ((size_t)1 << EVFILE_CHUNK_LOG2_DEFAULT) + 3;
	uint8_t *pt = malloc(len);
	struct mbuf ct = { 0 }, out = { 0 };
	struct evfile_info info;

	(void)s;
	fill_pattern(pt, len, 9);
	assert_int_equal(encrypt_to(&k256, 1, pt, len, 0, &ct), 0);
	assert_int_equal(evfile_header_parse(ct.p, ct.len, &info), 0);
	assert_int_equal(info.chunk_log2, EVFILE_CHUNK_LOG2_DEFAULT);
	assert_int_equal(ct.len, info.header_len + len + 2 * EVFILE_TAG_LEN);
	assert_int_equal(decrypt_with(k256, ct.p, ct.len, &out), 0);
	assert_memory_equal(out.p, pt, len);
	mbuf_free(&out);
	mbuf_free(&ct);
	free(pt);
}

static void test_wrong_key(void **s)
{
	uint8_t pt[100];
	struct mbuf ct = { 0 }, out = { 0 };

	(void)s;
	fill_pattern(pt, sizeof(pt), 1);
	assert_int_equal(encrypt_to(&k256, 1, pt, sizeof(pt), LOG2, &ct), 0);
	assert_int_equal(decrypt_with(k256b, ct.p, ct.len, &out), -ENOKEY);
	assert_int_equal(decrypt_with(krsa, ct.p, ct.len, &out), -ENOKEY);
	assert_int_equal(out.len, 0);
	mbuf_free(&ct);
}

/* ---- tampering ----------------------------------------------------------- */

struct victim {
	struct mbuf ct;
	uint32_t hl;
	uint8_t pt[3 * C + 5];
};

static void make_victim(struct victim *v, uint32_t seed)
{
	struct evfile_info info;

	memset(&v->ct, 0, sizeof(v->ct));
	fill_pattern(v->pt, sizeof(v->pt), seed);
	assert_int_equal(encrypt_to(&k256, 1, v->pt, sizeof(v->pt), LOG2, &v->ct), 0);
	assert_int_equal(evfile_header_parse(v->ct.p, v->ct.len, &info), 0);
	v->hl = info.header_len;
}

static size_t coff(const struct victim *v, uint64_t i)
{
	return (size_t)evfile_chunk_offset(v->hl, LOG2, i);
}

/* The tampered file must fail with `want` (or any auth/format error if
 * want is 0), and never report a complete file. */
static void expect_fail(const uint8_t *p, size_t len, int want)
{
	struct mbuf out = { 0 };
	int rc = decrypt_with(k256, p, len, &out);

	if (want)
		assert_int_equal(rc, want);
	else
		assert_true(rc == -EBADMSG || rc == -EPROTO ||
			    rc == -EPROTONOSUPPORT || rc == -ENOKEY);
	mbuf_free(&out);
}

static void test_tamper_header(void **s)
{
	struct victim *v = malloc(sizeof(*v));

	(void)s;
	make_victim(v, 1);
	for (size_t i = 0; i < v->hl; i++) {
		v->ct.p[i] ^= 0x01;
		expect_fail(v->ct.p, v->ct.len, 0);
		v->ct.p[i] ^= 0x01;
	}
	/* The recording id is authenticated: a changed id is -EBADMSG. */
	v->ct.p[49] ^= 0x02;
	expect_fail(v->ct.p, v->ct.len, -EBADMSG);
	mbuf_free(&v->ct);
	free(v);
}

static void test_tamper_body(void **s)
{
	struct victim *v = malloc(sizeof(*v)), *w = malloc(sizeof(*w));
	size_t cc = C + EVFILE_TAG_LEN, n = v ? 0 : 0;
	uint8_t *t;

	(void)s;
	make_victim(v, 2);
	make_victim(w, 3);  /* same recipient key, another file */
	t = malloc(v->ct.len + cc);
	/* a flipped byte in every chunk, at its start, middle and tag */
	for (uint64_t i = 0; i < 4; i++) {
		size_t at[3] = { coff(v, i), coff(v, i) + 5, coff(v, i + 1) - 1 };

		for (int j = 0; j < 3; j++) {
			size_t a = at[j] < v->ct.len ? at[j] : v->ct.len - 1;

			v->ct.p[a] ^= 0x80;
			expect_fail(v->ct.p, v->ct.len, -EBADMSG);
			v->ct.p[a] ^= 0x80;
		}
	}
	/* truncated at every chunk boundary: the final chunk is missing */
	for (uint64_t i = 0; i <= 3; i++)
		expect_fail(v->ct.p, coff(v, i), -EBADMSG);
	/* truncated mid-chunk, inside a tag, one byte short; in the header */
	expect_fail(v->ct.p, coff(v, 1) + 100, -EBADMSG);
	expect_fail(v->ct.p, coff(v, 3) + 10, -EBADMSG);
	expect_fail(v->ct.p, v->ct.len - 1, -EBADMSG);
	expect_fail(v->ct.p, v->hl - 1, -EPROTO);
	expect_fail(v->ct.p, 10, -EPROTO);
	/* two chunks swapped */
	memcpy(t, v->ct.p, v->ct.len);
	memcpy(t + coff(v, 0), v->ct.p + coff(v, 1), cc);
	memcpy(t + coff(v, 1), v->ct.p + coff(v, 0), cc);
	expect_fail(t, v->ct.len, -EBADMSG);
	/* a chunk spliced in from another file encrypted to the same key */
	memcpy(t, v->ct.p, v->ct.len);
	memcpy(t + coff(v, 1), w->ct.p + coff(w, 1), cc);
	expect_fail(t, v->ct.len, -EBADMSG);
	/* another file's header on this body (both headers are valid) */
	if (v->hl == w->hl) {
		memcpy(t, v->ct.p, v->ct.len);
		memcpy(t, w->ct.p, w->hl);
		expect_fail(t, v->ct.len, -EBADMSG);
	}
	/* a chunk appended after the final chunk; a single byte appended */
	memcpy(t, v->ct.p, v->ct.len);
	memcpy(t + v->ct.len, v->ct.p + coff(v, 2), cc);
	expect_fail(t, v->ct.len + cc, -EBADMSG);
	expect_fail(t, v->ct.len + 1, -EBADMSG);
	/* final chunk dropped and the last full chunk relabelled as final
	 * cannot be forged: same as truncation */
	(void)n;
	free(t);
	mbuf_free(&v->ct);
	mbuf_free(&w->ct);
	free(v);
	free(w);
}

/* ---- resume, regeneration, re-hash ---------------------------------------- */

static void test_resume_identical(void **s)
{
	struct victim *v = malloc(sizeof(*v));
	size_t len = sizeof(v->pt);
	struct evfile_meta meta = { .recording_id = "REC-0001", .chunk_log2 = LOG2 };
	struct evfile_writer *w = NULL, *w2 = NULL;
	struct mbuf one = { 0 }, part = { 0 }, out = { 0 };
	uint8_t dk[EVFILE_KEY_LEN], bad[EVFILE_KEY_LEN];
	uint64_t done = 0;
	const uint8_t *hdr;
	size_t hl = 0, fed = 2 * C + 700;
	uint8_t md[32], ref[32];
	unsigned int mdl = 0;
	EVP_MD_CTX *mdc = EVP_MD_CTX_new();

	(void)s;
	fill_pattern(v->pt, len, 4);
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &one), 0);
	assert_int_equal(evfile_writer_write(w, v->pt, fed), 0);
	assert_int_equal(evfile_writer_checkpoint(w, dk, &done), 0);
	assert_int_equal(done, 2);
	hdr = evfile_writer_header(w, &hl);
	assert_memory_equal(hdr, one.p, hl);
	/* "crash": keep what was written up to the checkpoint */
	assert_int_equal(mbuf_write(&part, one.p, (size_t)evfile_chunk_offset((uint32_t)hl, LOG2, done)), 0);
	assert_int_equal(one.len, part.len);
	/* the original writer goes on to the end: the one-pass reference */
	assert_int_equal(evfile_writer_write(w, v->pt + fed, len - fed), 0);
	assert_int_equal(evfile_writer_finish(w, NULL, NULL), 0);
	/* re-hash the partial file's plaintext without the plaintext */
	assert_int_equal(EVP_DigestInit_ex(mdc, EVP_sha256(), NULL), 1);
	assert_int_equal(evfile_rehash_prefix(part.p, part.len, dk, done, mem_pread, &part, mdc), 0);
	assert_int_equal(EVP_DigestFinal_ex(mdc, md, &mdl), 1);
	assert_int_equal(EVP_Digest(v->pt, done * C, ref, &mdl, EVP_sha256(), NULL), 1);
	assert_memory_equal(md, ref, 32);
	/* a wrong data key is refused */
	memcpy(bad, dk, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(evfile_writer_resume(&w2, part.p, part.len, bad, done, mbuf_write, &part), -EBADMSG);
	/* resume from the persisted header + key + chunk index */
	assert_int_equal(evfile_writer_resume(&w2, part.p, part.len, dk, done, mbuf_write, &part), 0);
	assert_int_equal(evfile_writer_write(w2, v->pt + done * C, len - done * C), 0);
	assert_int_equal(evfile_writer_finish(w2, NULL, NULL), 0);
	assert_int_equal(part.len, one.len);
	assert_memory_equal(part.p, one.p, one.len);
	assert_int_equal(decrypt_with(k256, part.p, part.len, &out), 0);
	assert_memory_equal(out.p, v->pt, len);
	evfile_key_wipe(dk);
	evfile_writer_free(w);
	evfile_writer_free(w2);
	EVP_MD_CTX_free(mdc);
	mbuf_free(&one);
	mbuf_free(&part);
	mbuf_free(&out);
	free(v);
}

static void test_regen_parts(void **s)
{
	struct victim *v = malloc(sizeof(*v));
	size_t len = sizeof(v->pt);
	struct evfile_meta meta = { .recording_id = "REC-0001", .chunk_log2 = LOG2 };
	struct evfile_writer *w = NULL;
	struct mbuf file = { 0 }, ptm = { 0 };
	uint8_t dk[EVFILE_KEY_LEN];
	uint64_t done = 0, n = evfile_chunk_count(LOG2, len);
	size_t hl = 0;

	(void)s;
	fill_pattern(v->pt, len, 5);
	assert_int_equal(mbuf_write(&ptm, v->pt, len), 0);
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &file), 0);
	assert_int_equal(evfile_writer_checkpoint(w, dk, &done), 0);
	assert_int_equal(evfile_writer_write(w, v->pt, len), 0);
	assert_int_equal(evfile_writer_finish(w, NULL, NULL), 0);
	evfile_writer_header(w, &hl);
	for (uint64_t a = 0; a <= n; a++) {
		for (uint64_t b = a; b <= n; b++) {
			struct mbuf part = { 0 };
			size_t off = (size_t)evfile_chunk_offset((uint32_t)hl, LOG2, a);

			assert_int_equal(evfile_regen_chunks(file.p, file.len, dk, len, a, b,
							     mem_pread, &ptm, mbuf_write, &part), 0);
			size_t end = b == n ? file.len
					    : (size_t)evfile_chunk_offset((uint32_t)hl, LOG2, b);

			assert_int_equal(part.len, a == b ? 0 : end - off);
			assert_true(part.len == 0 || !memcmp(part.p, file.p + off, part.len));
			mbuf_free(&part);
		}
	}
	assert_int_equal(evfile_regen_chunks(file.p, file.len, dk, len, 0, n + 1,
					     mem_pread, &ptm, mbuf_write, &file), -EINVAL);
	evfile_key_wipe(dk);
	evfile_writer_free(w);
	mbuf_free(&file);
	mbuf_free(&ptm);
	free(v);
}

static void test_layout(void **s)
{
	uint64_t ct = 0, pt = 0;

	(void)s;
	for (uint64_t len = 0; len < 5 * C; len += 37) {
		assert_int_equal(evfile_ciphertext_size(300, LOG2, len, &ct), 0);
		assert_int_equal(evfile_plaintext_size(300, LOG2, ct, &pt), 0);
		assert_int_equal(pt, len);
	}
	assert_int_equal(evfile_chunk_count(LOG2, 0), 1);
	assert_int_equal(evfile_chunk_count(LOG2, C), 1);
	assert_int_equal(evfile_chunk_count(LOG2, C + 1), 2);
	assert_int_equal(evfile_chunk_offset(300, LOG2, 2), 300 + 2 * (C + 16));
	/* impossible sizes: no room for a tag; an empty chunk after a full one */
	assert_int_equal(evfile_plaintext_size(300, LOG2, 315, &pt), -EPROTO);
	assert_int_equal(evfile_plaintext_size(300, LOG2, 300 + C + 16 + 16, &pt), -EPROTO);
	assert_int_equal(evfile_plaintext_size(300, LOG2, 300 + C + 16 + 5, &pt), -EPROTO);
	assert_int_equal(evfile_ciphertext_size(300, LOG2, UINT64_MAX - 10, &ct), -EOVERFLOW);
}

/* ---- hostile headers and bad arguments ----------------------------------- */

static void test_header_hostile(void **s)
{
	struct victim *v = malloc(sizeof(*v));
	struct evfile_info info;
	uint8_t *h;
	size_t rl, sl;

	(void)s;
	make_victim(v, 6);
	h = malloc(v->hl);
	memcpy(h, v->ct.p, v->hl);
	assert_int_equal(evfile_header_parse(h, v->hl, &info), 0);
	rl = h[48];
	sl = h[49 + rl];
#define MUT(off, val, want) do { uint8_t o_ = h[off]; h[off] = (val); \
	assert_int_equal(evfile_header_parse(h, v->hl, &info), want); h[off] = o_; } while (0)
	MUT(0, 'X', -EPROTO);                       /* magic */
	MUT(8, 2, -EPROTONOSUPPORT);                /* version */
	MUT(9, 11, -EPROTO);                        /* chunk size too small */
	MUT(9, 25, -EPROTO);                        /* too big */
	MUT(10, 1, -EPROTO);                        /* reserved flags */
	MUT(12, 0x01, -EPROTO);                     /* header_len > 64 KiB */
	MUT(15, (uint8_t)(h[15] + 1), -EPROTO);     /* header_len > buffer */
	MUT(15, (uint8_t)(h[15] - 1), -EPROTO);     /* stanza overruns the MAC */
	MUT(48, 0, -EPROTO);                        /* empty recording id */
	MUT(49, 0x0a, -EPROTO);                     /* non-printable id */
	MUT(48, 0xff, -EPROTO);                     /* id runs past the end */
	MUT(50 + rl + sl, 0xff, -EPROTO);           /* context_len > 4096 */
	MUT(52 + rl + sl + 3, 0, -EPROTO);          /* 0 recipients */
	MUT(52 + rl + sl + 3, 9, -EPROTO);          /* 9 recipients */
	MUT(52 + rl + sl + 3, 2, -EPROTO);          /* 2nd stanza is the MAC */
	MUT(53 + rl + sl + 3, 7, -EPROTONOSUPPORT); /* unknown stanza type */
	MUT(53 + rl + sl + 3, 3, -EPROTO);          /* RSA with an EC body size */
	MUT(55 + rl + sl + 3, 114, -EPROTO);        /* wrong P-256 body size */
#undef MUT
	assert_int_equal(evfile_header_parse(h, 15, &info), -EPROTO);
	assert_int_equal(evfile_header_parse(NULL, 0, &info), -EINVAL);
	free(h);
	mbuf_free(&v->ct);
	free(v);
}

static void test_writer_args(void **s)
{
	struct evfile_meta meta = { .recording_id = "R1", .chunk_log2 = LOG2 };
	EVP_PKEY *dup[2] = { k256, k256 }, *nine[9], *ed = NULL, *rsa2k = NULL;
	struct evfile_writer *w = NULL;
	struct mbuf out = { 0 };
	uint8_t big[EVFILE_MAX_CONTEXT + 1] = { 0 };
	char longid[300];

	(void)s;
	for (int i = 0; i < 9; i++)
		nine[i] = k256;
	assert_int_equal(evfile_writer_open(&w, &k256, 0, &meta, mbuf_write, &out), -EINVAL);
	assert_int_equal(evfile_writer_open(&w, nine, 9, &meta, mbuf_write, &out), -EMSGSIZE);
	assert_int_equal(evfile_writer_open(&w, dup, 2, &meta, mbuf_write, &out), -EINVAL);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_int_equal(evfile_writer_open(&w, &ed, 1, &meta, mbuf_write, &out), -EINVAL);
	rsa2k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_int_equal(evfile_writer_open(&w, &rsa2k, 1, &meta, mbuf_write, &out), -EINVAL);
	meta.chunk_log2 = 11;
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &out), -EINVAL);
	meta.chunk_log2 = LOG2;
	meta.context = big;
	meta.context_len = sizeof(big);
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &out), -EMSGSIZE);
	meta.context_len = 0;
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	meta.recording_id = longid;
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &out), -EINVAL);
	meta.recording_id = "bad\nid";
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &out), -EINVAL);
	meta.recording_id = "";
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, mbuf_write, &out), -EINVAL);
	assert_null(w);
	assert_int_equal(out.len, 0);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa2k);
}

static int fail_write(void *arg, const void *buf, size_t len)
{
	(void)arg; (void)buf; (void)len;
	return -ENOSPC;
}

static void test_output_error_sticky(void **s)
{
	struct evfile_meta meta = { .recording_id = "R1", .chunk_log2 = LOG2 };
	struct evfile_writer *w = NULL;

	(void)s;
	assert_int_equal(evfile_writer_open(&w, &k256, 1, &meta, fail_write, NULL), -ENOSPC);
	assert_null(w);
}

/* ---- agency key files ---------------------------------------------------- */

static void test_agencykey_files(void **s)
{
	char dir[] = "/tmp/evfile-test.XXXXXX", p[256], q[256], l[256];
	EVP_PKEY *keys[3] = { k256, k384, krsa }, *a = NULL, *b = NULL;
	uint8_t id1[32], id2[32];
	struct stat st;

	(void)s;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/k%d.pem", dir, i);
		snprintf(q, sizeof(q), "%s/k%d.pub", dir, i);
		assert_int_equal(agencykey_save_private(p, keys[i]), 0);
		assert_int_equal(agencykey_save_public(q, keys[i]), 0);
		assert_int_equal(agencykey_save_private(p, keys[i]), -EEXIST);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(agencykey_load_private(p, &a), 0);
		assert_int_equal(agencykey_load_public(q, &b), 0);
		assert_int_equal(agencykey_type(a), i + 1);
		assert_int_equal(agencykey_id(a, id1), 0);
		assert_int_equal(agencykey_id(b, id2), 0);
		assert_memory_equal(id1, id2, 32);
		/* a public key loaded from disk encrypts to the private one */
		{
			struct mbuf ct = { 0 }, out = { 0 };

			assert_int_equal(encrypt_to(&b, 1, (const uint8_t *)"hi", 2, LOG2, &ct), 0);
			assert_int_equal(decrypt_with(a, ct.p, ct.len, &out), 0);
			assert_int_equal(out.len, 2);
			mbuf_free(&ct);
			mbuf_free(&out);
		}
		EVP_PKEY_free(a);
		EVP_PKEY_free(b);
		a = b = NULL;
		/* a private key file is not a public key, and vice versa */
		assert_int_equal(agencykey_load_public(p, &a), -EPROTO);
		assert_int_equal(agencykey_load_private(q, &a), -EPERM); /* 0644 */
		assert_int_equal(chmod(q, 0600), 0);
		assert_int_equal(agencykey_load_private(q, &a), -EPROTO);
		/* loose permissions are refused before reading */
		assert_int_equal(chmod(p, 0640), 0);
		assert_int_equal(agencykey_load_private(p, &a), -EPERM);
		assert_int_equal(chmod(p, 0604), 0);
		assert_int_equal(agencykey_load_private(p, &a), -EPERM);
		assert_int_equal(chmod(p, 0600), 0);
		/* a symlink to a good key is refused too */
		snprintf(l, sizeof(l), "%s/link%d", dir, i);
		assert_int_equal(symlink(p, l), 0);
		assert_int_equal(agencykey_load_private(l, &a), -EPERM);
		assert_null(a);
		unlink(l);
		unlink(p);
		unlink(q);
	}
	snprintf(p, sizeof(p), "%s/garbage", dir);
	{
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33), 33);
		close(fd);
	}
	assert_int_equal(agencykey_load_private(p, &a), -EPROTO);
	assert_int_equal(agencykey_load_private(dir, &a), -EPERM);  /* a directory */
	unlink(p);
	assert_int_equal(agencykey_load_private(p, &a), -ENOENT);
	rmdir(dir);
}

/* ---- fuzz regressions and seed corpus replay ------------------------------ */

/* Replay every file in dir; with want_ok, a file must decrypt (the seed
 * corpus is valid files, so the fuzzer starts past the header MAC). */
static int replay_dir(const char *dir, int want_ok)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int count = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[512];
		struct mbuf m = { 0 };
		uint8_t buf[4096];
		ssize_t n;
		int fd, rc;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			assert_int_equal(mbuf_write(&m, buf, (size_t)n), 0);
		close(fd);
		rc = fuzz_evfile_one(m.p ? m.p : buf, m.len);
		if (want_ok)
			assert_int_equal(rc, strstr(e->d_name, "other") ? -ENOKEY : 0);
		count++;
		mbuf_free(&m);
	}
	closedir(d);
	return count;
}

static void test_fuzz_replay(void **s)
{
	const char *top = getenv("TOP");
	char p[512];

	(void)s;
	snprintf(p, sizeof(p), "%s/tests/fuzz/regressions/fuzz_evfile", top ? top : ".");
	assert_true(replay_dir(p, 0) >= 1);
	snprintf(p, sizeof(p), "%s/tests/fuzz/corpus/fuzz_evfile", top ? top : ".");
	assert_true(replay_dir(p, 1) >= 3);
}

/* ---- tool modes ------------------------------------------------------------ */

static int write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc;

	if (fd < 0)
		return -errno;
	rc = evfile_fd_write(&fd, p, len);
	close(fd);
	return rc;
}

static int tool_encrypt(const char *dir, const char *name, EVP_PKEY *const *r,
			size_t n, const struct evfile_meta *meta,
			const uint8_t *pt, size_t len)
{
	struct evfile_writer *w = NULL;
	struct mbuf out = { 0 };
	char path[512];
	int rc = evfile_writer_open(&w, r, n, meta, mbuf_write, &out);

	if (!rc)
		rc = evfile_writer_write(w, pt, len);
	if (!rc)
		rc = evfile_writer_finish(w, NULL, NULL);
	evfile_writer_free(w);
	snprintf(path, sizeof(path), "%s/%s.evf", dir, name);
	if (!rc)
		rc = write_file(path, out.p, out.len);
	snprintf(path, sizeof(path), "%s/%s.pt", dir, name);
	if (!rc)
		rc = write_file(path, pt, len);
	mbuf_free(&out);
	return rc;
}

/* Keys, plaintexts and files for an independent implementation to check. */
static int make_vectors(const char *dir)
{
	static const char *names[3] = { "p256", "p384", "rsa" };
	static const char vec[] = "Evidence dock test vector.\n";
	struct evfile_meta meta = { .recording_id = "REC-0001", .camera_serial = "CAM 42",
				    .context = (const uint8_t *)"{\"site\":1}",
				    .context_len = 10, .chunk_log2 = LOG2 };
	EVP_PKEY *k[3] = { NULL, NULL, NULL };
	size_t len = 3 * C + 5;
	uint8_t *pt = malloc(len);
	char path[512];
	int rc = pt ? 0 : -ENOMEM;

	for (int i = 0; !rc && i < 3; i++) {
		rc = agencykey_generate((enum agencykey_type)(i + 1), &k[i]);
		snprintf(path, sizeof(path), "%s/%s.key", dir, names[i]);
		if (!rc)
			rc = agencykey_save_private(path, k[i]);
		fill_pattern(pt, len, (uint32_t)i);
		if (!rc)
			rc = tool_encrypt(dir, names[i], &k[i], 1, &meta, pt, len);
	}
	if (!rc)
		rc = tool_encrypt(dir, "empty", &k[0], 1, &meta, pt, 0);
	if (!rc)
		rc = tool_encrypt(dir, "two", &k[1], 2, &meta, pt, C);
	meta.recording_id = "REC-TEST-0001";
	meta.camera_serial = "CAM-TEST-01";
	meta.context = NULL;
	meta.context_len = 0;
	if (!rc) {
		EVP_PKEY *wk = fuzz_evfile_key();

		rc = tool_encrypt(dir, "vector", &wk, 1, &meta,
				  (const uint8_t *)vec, sizeof(vec) - 1);
		/* fuzz seeds: several chunks, and empty, to the test key */
		if (!rc)
			rc = tool_encrypt(dir, "wk-chunks", &wk, 1, &meta, pt, 2 * C + 100);
		if (!rc)
			rc = tool_encrypt(dir, "wk-empty", &wk, 1, &meta, pt, 0);
	}
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
	free(pt);
	return rc;
}

static int tool_decrypt(const char *keypath, const char *in, const char *outpath)
{
	EVP_PKEY *key = NULL;
	struct mbuf out = { 0 };
	struct evfile_reader *r = NULL;
	const uint8_t *buf;
	size_t n;
	int fd = open(in, O_RDONLY), rc;

	rc = fd < 0 ? -errno : agencykey_load_private(keypath, &key);
	if (!rc)
		rc = evfile_reader_open(&r, key, evfile_fd_read, &fd, NULL);
	while (!rc && (rc = evfile_reader_next(r, &buf, &n)) == 1)
		rc = mbuf_write(&out, buf, n);
	if (!rc)  /* commit only a completely verified file */
		rc = write_file(outpath, out.p ? out.p : (const uint8_t *)"", out.len);
	evfile_reader_free(r);
	EVP_PKEY_free(key);
	mbuf_free(&out);
	if (fd >= 0)
		close(fd);
	return rc;
}


/* --bench MIB FILE: encrypt MIB MiB (1 MiB chunks, P-256) to FILE, decrypt
 * it back; prints BENCH lines (tests/bench/evfile.sh). */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tool_bench(const char *mib_s, const char *path)
{
	struct evfile_meta meta = { .recording_id = "BENCH" };
	size_t mib = (size_t)strtoul(mib_s, NULL, 10), piece = 1 << 16;
	struct evfile_writer *w = NULL;
	struct evfile_reader *r = NULL;
	uint8_t *buf = malloc(piece);
	EVP_PKEY *k = NULL;
	const uint8_t *pb;
	size_t n;
	double t0, t1, t2;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), rc;

	rc = fd < 0 || !buf || !mib ? -EINVAL : agencykey_generate(AGENCYKEY_P256, &k);
	if (!rc) {
		fill_pattern(buf, piece, 7);
		t0 = now_s();
		rc = evfile_writer_open(&w, &k, 1, &meta, evfile_fd_write, &fd);
		for (size_t i = 0; !rc && i < mib * ((1 << 20) / piece); i++)
			rc = evfile_writer_write(w, buf, piece);
		if (!rc)
			rc = evfile_writer_finish(w, NULL, NULL);
		t1 = now_s();
		if (!rc && lseek(fd, 0, SEEK_SET) != 0)
			rc = -errno;
		if (!rc)
			rc = evfile_reader_open(&r, k, evfile_fd_read, &fd, NULL);
		if (!rc)
			while ((rc = evfile_reader_next(r, &pb, &n)) == 1)
				;
		t2 = now_s();
		if (!rc) {
			printf("BENCH evfile_encrypt_mib_s %.1f MiB/s\n", (double)mib / (t1 - t0));
			printf("BENCH evfile_decrypt_mib_s %.1f MiB/s\n", (double)mib / (t2 - t1));
		}
	}
	evfile_writer_free(w);
	evfile_reader_free(r);
	EVP_PKEY_free(k);
	free(buf);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return rc;
}

/* --encrypt PUB IN OUT: IN (any size, streamed) encrypted to the public
 * key file PUB as camera TEST, recording REC-1 (custody_decrypt_defects.sh). */
static int tool_encrypt_file(const char *pub, const char *in, const char *outpath)
{
	struct evfile_meta meta = { .recording_id = "REC-1", .camera_serial = "TEST" };
	struct evfile_writer *w = NULL;
	EVP_PKEY *key = NULL;
	uint8_t *buf = malloc(1 << 16);
	int ifd = open(in, O_RDONLY), ofd = open(outpath, O_WRONLY | O_CREAT | O_EXCL, 0600), rc;
	ssize_t n = 0;

	rc = ifd < 0 || ofd < 0 || !buf ? -EINVAL : agencykey_load_public(pub, &key);
	if (!rc)
		rc = evfile_writer_open(&w, &key, 1, &meta, evfile_fd_write, &ofd);
	while (!rc && (n = read(ifd, buf, 1 << 16)) > 0)
		rc = evfile_writer_write(w, buf, (size_t)n);
	if (!rc && n < 0)
		rc = -errno;
	if (!rc)
		rc = evfile_writer_finish(w, NULL, NULL);
	evfile_writer_free(w);
	EVP_PKEY_free(key);
	free(buf);
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0 && close(ofd) && !rc)
		rc = -errno;
	return rc;
}

static int evfile_tool(int argc, char **argv)
{
	int rc = -EINVAL;

	if (argc == 3 && !strcmp(argv[1], "--make-vectors"))
		rc = make_vectors(argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "--bench"))
		rc = tool_bench(argv[2], argv[3]);
	else if (argc == 5 && !strcmp(argv[1], "--decrypt"))
		rc = tool_decrypt(argv[2], argv[3], argv[4]);
	else if (argc == 5 && !strcmp(argv[1], "--encrypt"))
		rc = tool_encrypt_file(argv[2], argv[3], argv[4]);
	else
		fprintf(stderr, "usage: %s --make-vectors DIR | --decrypt KEY IN OUT | "
			"--encrypt PUB IN OUT | --bench MIB FILE\n", argv[0]);
	if (rc)
		fprintf(stderr, "%s: %s (%d)\n", argv[0], evfile_strerror(rc), rc);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_p256),
		cmocka_unit_test(test_roundtrip_p384),
		cmocka_unit_test(test_roundtrip_rsa),
		cmocka_unit_test(test_roundtrip_two_recipients),
		cmocka_unit_test(test_roundtrip_default_chunk),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_tamper_header),
		cmocka_unit_test(test_tamper_body),
		cmocka_unit_test(test_resume_identical),
		cmocka_unit_test(test_regen_parts),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_header_hostile),
		cmocka_unit_test(test_writer_args),
		cmocka_unit_test(test_output_error_sticky),
		cmocka_unit_test(test_agencykey_files),
		cmocka_unit_test(test_fuzz_replay),
	};

	if (argc > 1)
		return evfile_tool(argc, argv);
	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
