/*
 * test_agencynote.c - the agency's signed statements: round trips, the
 * strict grammar (order, extra lines, duplicates, times, quorum), and
 * verification against the agency vkey (wrong key, wrong agency, wrong
 * kind, tampered field).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agencynote.h"
#include "cosig.h"
#include "signote.h"

static struct edkey *agency_key, *other_key;
static struct ckpt_vkey agency_vk, other_vk;

static int setup(void **state)
{
	(void)state;
	return edkey_generate(&agency_key) || edkey_generate(&other_key) ||
	       ckpt_vkey_from_edkey("pd-example/agency", agency_key, &agency_vk) ||
	       ckpt_vkey_from_edkey("pd-other/agency", other_key, &other_vk);
}

static int teardown(void **state)
{
	(void)state;
	edkey_free(agency_key);
	edkey_free(other_key);
	return 0;
}

static void make_cert(struct agn_cert *c)
{
	struct edkey *k;

	memset(c, 0, sizeof(*c));
	strcpy(c->agency, "pd-example");
	strcpy(c->dock, "dock-7");
	strcpy(c->origin, "evidence-dock.example/pd-example");
	assert_int_equal(edkey_generate(&k), 0);
	assert_int_equal(ckpt_vkey_from_edkey(c->origin, k, &c->ckpt_key), 0);
	edkey_free(k);
	memset(c->dock_key, 0xab, sizeof(c->dock_key));
	c->not_before = 1790000000;
	c->not_after = 1790000000 + 365 * 86400;
}

static size_t sign(const char *text, size_t len, struct edkey *k, const char *name,
		   char *note, size_t cap)
{
	size_t n = 0;

	assert_int_equal(signote_sign(text, len, name, k, note, cap, &n), 0);
	return n;
}

static void test_cert(void **state)
{
	struct agn_cert c, back;
	char text[AGN_MAX_NOTE], note[AGN_MAX_NOTE], bad[2 * AGN_MAX_NOTE];
	size_t len, nl;
	char *p;

	(void)state;
	make_cert(&c);
	assert_int_equal(agn_cert_text(&c, text, sizeof(text), &len), 0);
	nl = sign(text, len, agency_key, agency_vk.name, note, sizeof(note));
	assert_int_equal(agn_open_cert(note, nl, &agency_vk, &back), 0);
	assert_string_equal(back.dock, "dock-7");
	assert_memory_equal(&back.ckpt_key, &c.ckpt_key, sizeof(c.ckpt_key));
	assert_int_equal(back.not_after, c.not_after);
	/* another agency's key: not a signer; signed by it: wrong agency */
	assert_int_equal(agn_open_cert(note, nl, &other_vk, &back), -ENOKEY);
	nl = sign(text, len, other_key, other_vk.name, note, sizeof(note));
	assert_int_equal(agn_open_cert(note, nl, &other_vk, &back), -EXDEV);
	/* wrong kind */
	assert_int_equal(agn_open_recipients(note, nl, &other_vk, (void *)bad), -EMEDIUMTYPE);
	/* grammar: swapped lines, extra line, bad time, bad hex, key name */
	memcpy(bad, text, len + 1);
	p = strstr(bad, "dock dock-7\n");
	memcpy(p, "dock dock-7 ", 12);
	assert_int_equal(agn_cert_parse(bad, len, &back), -EBADMSG);
	snprintf(bad, sizeof(bad), "%sextra line\n", text);
	assert_int_equal(agn_cert_parse(bad, strlen(bad), &back), -EBADMSG);
	memcpy(bad, text, len + 1);
	p = strstr(bad, "not-after ") + 10;
	memcpy(p, "2027-02-30T00:00:00Z", 20);
	assert_int_equal(agn_cert_parse(bad, len, &back), -EBADMSG);
	memcpy(p, "1990-02-01T00:00:00Z", 20);	/* before not-before */
	assert_int_equal(agn_cert_parse(bad, len, &back), -EBADMSG);
	memcpy(bad, text, len + 1);
	p = strstr(bad, "dock-key ") + 9;
	*p = 'A';
	assert_int_equal(agn_cert_parse(bad, len, &back), -EBADMSG);
	/* checkpoint key named other than the origin */
	strcpy(c.origin, "evidence-dock.example/other");
	assert_int_equal(agn_cert_text(&c, text, sizeof(text), &len), -EINVAL);
}

static void test_recipients(void **state)
{
	struct agn_recipients p, back;
	char text[AGN_MAX_NOTE], note[AGN_MAX_NOTE], bad[2 * AGN_MAX_NOTE];
	size_t len, nl;

	(void)state;
	memset(&p, 0, sizeof(p));
	strcpy(p.agency, "pd-example");
	p.version = 7;
	p.issued = 1790000000;
	p.n = 2;
	strcpy(p.r[0].type, "p384");
	memset(p.r[0].key_id, 'a', 64);
	strcpy(p.r[1].type, "rsa");
	memset(p.r[1].key_id, '0', 64);
	assert_int_equal(agn_recipients_text(&p, text, sizeof(text), &len), 0);
	nl = sign(text, len, agency_key, agency_vk.name, note, sizeof(note));
	assert_int_equal(agn_open_recipients(note, nl, &agency_vk, &back), 0);
	assert_int_equal(back.version, 7);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.r[1].type, "rsa");
	/* a duplicated key id, an unknown type, version 0, no recipient */
	memset(p.r[1].key_id, 'a', 64);
	assert_int_equal(agn_recipients_text(&p, text, sizeof(text), &len), -EINVAL);
	snprintf(bad, sizeof(bad), AGN_RECIPIENTS_TYPE "\nagency pd-example\nversion 1\n"
		 "issued 2026-01-01T00:00:00Z\nrecipient ed25519 %064d\n", 0);
	assert_int_equal(agn_recipients_parse(bad, strlen(bad), &back), -EBADMSG);
	snprintf(bad, sizeof(bad), AGN_RECIPIENTS_TYPE "\nagency pd-example\nversion 0\n"
		 "issued 2026-01-01T00:00:00Z\nrecipient p256 %064d\n", 0);
	assert_int_equal(agn_recipients_parse(bad, strlen(bad), &back), -EBADMSG);
	snprintf(bad, sizeof(bad), AGN_RECIPIENTS_TYPE "\nagency pd-example\nversion 1\n"
		 "issued 2026-01-01T00:00:00Z\n");
	assert_int_equal(agn_recipients_parse(bad, strlen(bad), &back), -EBADMSG);
}

static void test_witnesses(void **state)
{
	struct agn_witnesses w, back;
	struct edkey *k1, *k2;
	char text[AGN_MAX_NOTE], note[AGN_MAX_NOTE];
	size_t len, nl;

	(void)state;
	memset(&w, 0, sizeof(w));
	strcpy(w.agency, "pd-example");
	w.version = 2;
	w.issued = 1790000000;
	w.quorum = 2;
	w.n = 2;
	assert_int_equal(edkey_generate(&k1), 0);
	assert_int_equal(edkey_generate(&k2), 0);
	assert_int_equal(cosig_vkey_from_edkey("da.example/witness", k1, &w.w[0]), 0);
	assert_int_equal(cosig_vkey_from_edkey("oversight.example/w", k2, &w.w[1]), 0);
	assert_int_equal(agn_witnesses_text(&w, text, sizeof(text), &len), 0);
	nl = sign(text, len, agency_key, agency_vk.name, note, sizeof(note));
	assert_int_equal(agn_open_witnesses(note, nl, &agency_vk, &back), 0);
	assert_int_equal(back.quorum, 2);
	assert_int_equal(back.n, 2);
	assert_memory_equal(&back.w[1], &w.w[1], sizeof(w.w[1]));
	/* quorum above the witnesses, a witness twice, a log key (0x01) */
	w.quorum = 3;
	assert_int_equal(agn_witnesses_text(&w, text, sizeof(text), &len), -EINVAL);
	w.quorum = 1;
	w.w[1] = w.w[0];
	assert_int_equal(agn_witnesses_text(&w, text, sizeof(text), &len), -EINVAL);
	w.n = 1;
	assert_int_equal(agn_witnesses_text(&w, text, sizeof(text), &len), 0);
	{
		char *p = strstr(text, "witness ");
		char bad[2 * AGN_MAX_NOTE], vk[CKPT_MAX_VKEY];
		assert_int_equal(ckpt_vkey_format(&agency_vk, vk, sizeof(vk)), 0);
		snprintf(bad, sizeof(bad), "%.*switness %s\n", (int)(p - text), text, vk);
		assert_int_equal(agn_witnesses_parse(bad, strlen(bad), &back), -EBADMSG);
	}
	edkey_free(k1);
	edkey_free(k2);
}

static void test_time(void **state)
{
	int64_t t;
	char s[AGN_TIME_LEN + 1];

	(void)state;
	assert_int_equal(agn_time_parse("2024-02-29T23:59:59Z", 20, &t), 0);
	assert_int_equal(agn_time_format(t, s), 0);
	assert_string_equal(s, "2024-02-29T23:59:59Z");
	assert_int_equal(agn_time_parse("2023-02-29T00:00:00Z", 20, &t), -EBADMSG);
	assert_int_equal(agn_time_parse("2023-01-01 00:00:00Z", 20, &t), -EBADMSG);
	assert_int_equal(agn_time_parse("2023-01-01T00:00:60Z", 20, &t), -EBADMSG);
	assert_int_equal(agn_time_parse("1969-12-31T23:59:59Z", 20, &t), -EBADMSG);
	assert_int_equal(agn_time_parse("2023-01-01T00:00:00+00:00", 25, &t), -EBADMSG);
}

/* The signed seeds of tests/fuzz/fuzz_agencynote.c open under its key
 * and format back byte for byte (run from the source tree or with TOP). */
static void test_fuzz_seeds(void **state)
{
	static const char vk[] =
		"fuzz-agency/agency+5405c824+Ab5MSQ58zcGUaAXH0issl+eF5sWWSIUO6JI1wD5LXMjs";
	const char *top = getenv("TOP");
	struct ckpt_vkey a;
	struct agn_cert c;
	struct agn_recipients p;
	struct agn_witnesses w;
	char path[512], note[AGN_MAX_NOTE + 1], back[AGN_MAX_NOTE];
	size_t len, bl, tl;

	(void)state;
	assert_int_equal(ckpt_vkey_parse(vk, strlen(vk), &a), 0);
#define SEED(name) (snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_agencynote/%s", \
			     top ? top : ".", name), agn_read_file(path, note, sizeof(note), &len))
	if (SEED("cert"))
		skip();	/* not run from the source tree */
	assert_int_equal(agn_open_cert(note, len, &a, &c), 0);
	assert_int_equal(signote_verify(note, len, &a, 1, &tl, NULL), 0);
	assert_int_equal(agn_cert_text(&c, back, sizeof(back), &bl), 0);
	assert_int_equal(bl, tl);
	assert_memory_equal(back, note, tl);
	assert_int_equal(SEED("recipients"), 0);
	assert_int_equal(agn_open_recipients(note, len, &a, &p), 0);
	assert_int_equal(SEED("witnesses"), 0);
	assert_int_equal(agn_open_witnesses(note, len, &a, &w), 0);
	assert_int_equal(w.quorum, 2);
	/* the seed key is another agency's: pd-example's vkey is no signer */
	assert_int_equal(agn_open_witnesses(note, len, &agency_vk, &w), -ENOKEY);
#undef SEED
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert),
		cmocka_unit_test(test_recipients),
		cmocka_unit_test(test_witnesses),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
