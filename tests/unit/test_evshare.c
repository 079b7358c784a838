/*
 * Shares (custody/evshare.c, docs/evidence-format.md §15): re-wrapping a
 * file's data key to P-256, P-384 and RSA recipients, and every refusal
 * of evshare_reader_open (other file, other key, changed binding, changed
 * stanza, agency key that is no recipient).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agencykey.h"
#include "evfile.h"
#include "evshare.h"

struct mbuf {
	uint8_t *p;
	size_t len, cap, pos;
};

static int mbuf_write(void *arg, const void *buf, size_t len)
{
	struct mbuf *m = arg;

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

static ssize_t mbuf_read(void *arg, void *buf, size_t len)
{
	struct mbuf *m = arg;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static EVP_PKEY *agency, *r256, *r384, *rrsa, *other;

static int setup(void **state)
{
	(void)state;
	return agencykey_generate(AGENCYKEY_P256, &agency) ||
	       agencykey_generate(AGENCYKEY_P256, &r256) ||
	       agencykey_generate(AGENCYKEY_P384, &r384) ||
	       agencykey_generate(AGENCYKEY_RSA, &rrsa) ||
	       agencykey_generate(AGENCYKEY_P256, &other) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(agency);
	EVP_PKEY_free(r256);
	EVP_PKEY_free(r384);
	EVP_PKEY_free(rrsa);
	EVP_PKEY_free(other);
	return 0;
}

/* An evidence file of `len` pattern bytes (seed varies it) to agency. */
static void make_file(struct mbuf *f, size_t len, uint8_t seed, uint8_t *pt)
{
	struct evfile_meta meta = { .recording_id = "REC-1", .camera_serial = "CAM-1",
				    .chunk_log2 = 12 };
	struct evfile_writer *w = NULL;

	for (size_t i = 0; i < len; i++)
		pt[i] = (uint8_t)(i * 7 + seed);
	memset(f, 0, sizeof(*f));
	assert_int_equal(evfile_writer_open(&w, &agency, 1, &meta, mbuf_write, f), 0);
	assert_int_equal(evfile_writer_write(w, pt, len), 0);
	assert_int_equal(evfile_writer_finish(w, NULL, NULL), 0);
	evfile_writer_free(w);
}

static uint32_t hdr_len(const struct mbuf *f)
{
	uint32_t n = 0;

	assert_int_equal(evfile_header_peek(f->p, f->len, &n), 0);
	return n;
}

struct made {
	uint8_t stanza[EVSHARE_STANZA_MAX], mac[EVSHARE_MAC_LEN], hh[32];
	size_t stanza_len;
};

static const char binding[] = "{\"case\":\"24-1\",\"until\":\"2099-01-01T00:00:00Z\"}";

static void share(const struct mbuf *f, EVP_PKEY *to, struct made *m)
{
	assert_int_equal(evshare_make(agency, f->p, hdr_len(f), to,
				      (const uint8_t *)binding, strlen(binding),
				      m->stanza, &m->stanza_len, m->mac, m->hh), 0);
}

/* Open f with the share for key; on success read it all into out. */
static int open_read(struct mbuf *f, EVP_PKEY *key, const struct made *m,
		     const char *bind, uint8_t *out, size_t *out_len)
{
	struct evshare sh = { .stanza = m->stanza, .stanza_len = m->stanza_len,
			      .binding = (const uint8_t *)bind,
			      .binding_len = strlen(bind) };
	struct evfile_reader *r = NULL;
	const uint8_t *b;
	size_t n, total = 0;
	int rc;

	memcpy(sh.mac, m->mac, sizeof(sh.mac));
	memcpy(sh.header_sha256, m->hh, sizeof(sh.header_sha256));
	f->pos = 0;
	rc = evshare_reader_open(&r, key, &sh, mbuf_read, f, NULL);
	if (rc)
		return rc;
	while ((rc = evfile_reader_next(r, &b, &n)) == 1) {
		memcpy(out + total, b, n);
		total += n;
	}
	evfile_reader_free(r);
	*out_len = total;
	return rc;
}

static void test_round_trip_each_type(void **state)
{
	EVP_PKEY *rs[] = { r256, r384, rrsa };
	static uint8_t pt[3 * 4096 + 5], out[sizeof(pt)];
	struct mbuf f;
	struct made m;
	size_t n = 0;

	(void)state;
	make_file(&f, sizeof(pt), 1, pt);
	for (size_t i = 0; i < 3; i++) {
		share(&f, rs[i], &m);
		assert_int_equal(m.stanza[0], agencykey_type(rs[i]));
		memset(out, 0, sizeof(out));
		assert_int_equal(open_read(&f, rs[i], &m, binding, out, &n), 0);
		assert_int_equal(n, sizeof(pt));
		assert_memory_equal(out, pt, sizeof(pt));
		/* the recipient key alone is no recipient of the file */
		f.pos = 0;
		{
			struct evfile_reader *r = NULL;

			assert_int_equal(evfile_reader_open(&r, rs[i], mbuf_read, &f, NULL),
					 -ENOKEY);
		}
	}
	free(f.p);
}

static void test_refusals(void **state)
{
	static uint8_t pt[5000], pt2[5000], out[5000];
	struct mbuf f, g;
	struct made m, m2;
	size_t n = 0;
	char changed[sizeof(binding)];

	(void)state;
	make_file(&f, sizeof(pt), 1, pt);
	make_file(&g, sizeof(pt2), 2, pt2);
	share(&f, r256, &m);
	/* another evidence file: header hash differs */
	assert_int_equal(open_read(&g, r256, &m, binding, out, &n), -EXDEV);
	/* another key */
	assert_int_equal(open_read(&f, other, &m, binding, out, &n), -ENOKEY);
	/* binding changed by one byte (the expiry year) */
	memcpy(changed, binding, sizeof(binding));
	*strstr(changed, "2099") = '3';
	assert_int_equal(open_read(&f, r256, &m, changed, out, &n), -EBADMSG);
	/* MAC changed */
	m2 = m;
	m2.mac[0] ^= 1;
	assert_int_equal(open_read(&f, r256, &m2, binding, out, &n), -EBADMSG);
	/* wrapped key changed */
	m2 = m;
	m2.stanza[m2.stanza_len - 1] ^= 1;
	assert_int_equal(open_read(&f, r256, &m2, binding, out, &n), -EBADMSG);
	/* the stanza of g's share with f's header hash: g's salt, f's header */
	share(&g, r256, &m2);
	memcpy(m2.hh, m.hh, sizeof(m.hh));
	assert_int_equal(open_read(&f, r256, &m2, binding, out, &n), -EBADMSG);
	/* a truncated stanza is a format error, not a crash */
	m2 = m;
	m2.stanza_len -= 1;
	assert_int_equal(open_read(&f, r256, &m2, binding, out, &n), -EPROTO);
	/* the agency side: a key that is no recipient of the file shares nothing */
	{
		struct made x;

		assert_int_equal(evshare_make(other, f.p, hdr_len(&f), r256,
					      (const uint8_t *)binding, strlen(binding),
					      x.stanza, &x.stanza_len, x.mac, x.hh),
				 -ENOKEY);
	}
	/* a header whose MAC fails is refused before anything is wrapped */
	{
		struct made x;

		f.p[20] ^= 1;	/* in the salt */
		assert_int_not_equal(evshare_make(agency, f.p, hdr_len(&f), r256,
						  (const uint8_t *)binding,
						  strlen(binding), x.stanza,
						  &x.stanza_len, x.mac, x.hh), 0);
		f.p[20] ^= 1;
	}
	assert_int_equal(open_read(&f, r256, &m, binding, out, &n), 0);
	assert_memory_equal(out, pt, sizeof(pt));
	free(f.p);
	free(g.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_each_type),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
