/* Offline export receipts (custody/receipt.c): sign -> parse -> verify
 * round trip; every single-byte change is refused (by the parser or the
 * signature); the format's edges (optional lines, order, number bounds,
 * trailing bytes, control characters). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edkey.h"
#include "receipt.h"

static struct edkey *key;
static uint8_t pub[EDKEY_PUB_LEN];

static void fill(struct receipt *r)
{
	memset(r, 0, sizeof(*r));
	r->number = 17;
	snprintf(r->agency, sizeof(r->agency), "pd-a");
	snprintf(r->workstation, sizeof(r->workstation), "ws1");
	assert_int_equal(receipt_key_id(pub, r->key_id), 0);
	snprintf(r->command, sizeof(r->command), "decrypt");
	snprintf(r->item, sizeof(r->item), "CAM-1/REC-1");
	memset(r->sha256, 'a', 64);
	snprintf(r->output, sizeof(r->output), "r1.bin");
	snprintf(r->user, sizeof(r->user), "jdoe");
	snprintf(r->reason, sizeof(r->reason), "court order 12");
	snprintf(r->time, sizeof(r->time), "2026-12-07T04:30:00Z");
}

static int setup(void **state)
{
	(void)state;
	if (edkey_generate(&key) || edkey_public_raw(key, pub))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	edkey_free(key);
	return 0;
}

static void test_round_trip(void **state)
{
	struct receipt r, p;
	char buf[RECEIPT_MAX + 1];
	size_t len;

	(void)state;
	fill(&r);
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), 0);
	assert_int_equal(strlen(buf), len);
	assert_int_equal(receipt_parse(buf, len, &p), 0);
	assert_int_equal(p.number, 17);
	assert_string_equal(p.item, "CAM-1/REC-1");
	assert_string_equal(p.reason, "court order 12");
	assert_string_equal(p.case_no, "");
	assert_int_equal(p.signed_len, r.signed_len);
	assert_int_equal(receipt_verify(&p, buf, pub), 0);
	/* a share's optional lines */
	snprintf(r.command, sizeof(r.command), "share");
	snprintf(r.case_no, sizeof(r.case_no), "CASE-9");
	memset(r.rkey, 'b', 64);
	snprintf(r.until, sizeof(r.until), "2099-01-01T23:59:59Z");
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), 0);
	assert_int_equal(receipt_parse(buf, len, &p), 0);
	assert_string_equal(p.case_no, "CASE-9");
	assert_string_equal(p.until, "2099-01-01T23:59:59Z");
	assert_int_equal(receipt_verify(&p, buf, pub), 0);
}

/* Any one byte changed: refused by the parser or by the signature. */
static void test_every_byte(void **state)
{
	struct receipt r, p;
	char buf[RECEIPT_MAX + 1];
	size_t len;

	(void)state;
	fill(&r);
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), 0);
	for (size_t i = 0; i < len; i++) {
		char was = buf[i];

		buf[i] = (char)(was ^ 0x01);
		assert_true(receipt_parse(buf, len, &p) != 0 ||
			    receipt_verify(&p, buf, pub) == -EBADMSG);
		buf[i] = was;
	}
}

static void test_format_edges(void **state)
{
	struct receipt r, p;
	char buf[RECEIPT_MAX + 8], two[2 * RECEIPT_MAX];
	size_t len;

	(void)state;
	fill(&r);
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), 0);
	memset(&p, 0x77, sizeof(p));
	/* trailing bytes after the signature line, a missing final LF */
	buf[len] = 'x';
	assert_int_equal(receipt_parse(buf, len + 1, &p), -EINVAL);
	assert_int_equal(receipt_parse(buf, len - 1, &p), -EINVAL);
	assert_int_equal(p.number, 0x7777777777777777ull);	/* untouched */
	/* two receipts back to back are not one */
	memcpy(two, buf, len);
	memcpy(two + len, buf, len);
	assert_int_equal(receipt_parse(two, 2 * len, &p), -EINVAL);
	/* control characters, an unknown command, a bad number */
	snprintf(r.reason, sizeof(r.reason), "a\tb");
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), -EINVAL);
	fill(&r);
	snprintf(r.command, sizeof(r.command), "view");
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), -EINVAL);
	fill(&r);
	r.number = RECEIPT_NUMBER_MAX + 1;
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), -EINVAL);
	{
		static const char *bad[] = {
			"custody-export-receipt/v1\nnumber: 017\n",
			"custody-export-receipt/v1\nnumber: 0\n",
			"custody-export-receipt/v2\nnumber: 1\n",
			"",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(receipt_parse(bad[i], strlen(bad[i]), &p), -EINVAL);
	}
	/* lines out of order: swap "agency" and "workstation" */
	fill(&r);
	assert_int_equal(receipt_sign(&r, key, buf, sizeof(buf), &len), 0);
	{
		char *a = strstr(buf, "agency: pd-a\n"), *w = strstr(buf, "workstation: ws1\n");
		char tmp[64];

		assert_non_null(a);
		assert_true(w == a + 13);
		memcpy(tmp, a, 13 + 17);
		memcpy(a, tmp + 13, 17);
		memcpy(a + 17, tmp, 13);
		assert_int_equal(receipt_parse(buf, len, &p), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_format_edges),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
