/*
 * test_signote.c - C2SP signed notes over arbitrary texts (signote):
 * the signed-note spec's own example, round trips, several signers, and
 * hostile notes (tampered, unknown key, empty line in the text, caps).
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

#include "signote.h"

#define DASH "\xe2\x80\x94"

/* The example of c2sp.org/signed-note: another implementation's
 * signature over a text that is not a checkpoint. */
static void test_spec_example(void **state)
{
	static const char vk[] =
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
	static const char note[] = "This is an example message.\n\n" DASH
		" example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
	struct ckpt_vkey v;
	size_t tl = 0, who = 9;
	char bad[sizeof(note)];

	(void)state;
	assert_int_equal(ckpt_vkey_parse(vk, strlen(vk), &v), 0);
	assert_int_equal(signote_verify(note, strlen(note), &v, 1, &tl, &who), 0);
	assert_int_equal(tl, strlen("This is an example message.\n"));
	assert_int_equal(who, 0);
	memcpy(bad, note, sizeof(note));
	bad[0] = 't';
	assert_int_equal(signote_verify(bad, strlen(bad), &v, 1, &tl, NULL), -EKEYREJECTED);
}

static void gen(struct edkey **k, const char *name, struct ckpt_vkey *v)
{
	assert_int_equal(edkey_generate(k), 0);
	assert_int_equal(ckpt_vkey_from_edkey(name, *k, v), 0);
}

static void test_roundtrip_and_signers(void **state)
{
	static const char text[] = "evidence-dock/test/v1\nline two \xc3\xa9\n";
	struct edkey *a, *b;
	struct ckpt_vkey va, vb, both[2];
	char buf[1024], two[4096];
	size_t len = 0, tl = 0, who = 9, n;

	(void)state;
	gen(&a, "pd-example/agency", &va);
	gen(&b, "other/agency", &vb);
	assert_int_equal(signote_sign(text, strlen(text), va.name, a, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, strlen(buf));
	assert_memory_equal(buf, text, strlen(text));
	assert_int_equal(signote_verify(buf, len, &va, 1, &tl, &who), 0);
	assert_int_equal(tl, strlen(text));
	/* a different key is not a signer; unknown lines are skipped */
	assert_int_equal(signote_verify(buf, len, &vb, 1, &tl, NULL), -ENOKEY);
	assert_int_equal(signote_verify(buf, len, NULL, 0, &tl, NULL), -ENOKEY);
	/* a second signer's line appended: either key verifies it */
	assert_int_equal(signote_sign(text, strlen(text), vb.name, b, two, sizeof(two), &n), 0);
	memmove(two + len, two + strlen(text) + 1, n - strlen(text));	/* its sig line */
	memcpy(two, buf, len);
	both[0] = vb;
	both[1] = va;
	assert_int_equal(signote_verify(two, strlen(two), both, 2, &tl, &who), 0);
	assert_int_equal(who, 1);	/* the first line that verified: va's */
	assert_int_equal(signote_verify(two, strlen(two), &vb, 1, &tl, &who), 0);
	assert_int_equal(who, 0);
	/* the same key twice is refused */
	snprintf(two, sizeof(two), "%s%s", buf, buf + strlen(text) + 1);
	assert_int_equal(signote_verify(two, strlen(two), &va, 1, &tl, NULL), -EBADMSG);
	/* buffer too small: nothing unsigned is handed out */
	assert_int_equal(signote_sign(text, strlen(text), va.name, a, buf, 40, &len), -ENOSPC);
	assert_string_equal(buf, "");
	edkey_free(a);
	edkey_free(b);
}

static void test_bad_texts(void **state)
{
	static const char *const bad[] = {
		"", "\n", "no newline", "a\n\nb\n", "\nlead\n", "tab\there\n",
		"bad utf8 \xc0\xaf\n", "cr\r\n",
	};
	struct edkey *a;
	struct ckpt_vkey va;
	char buf[512], note[600];
	size_t len, tl = 0;

	(void)state;
	gen(&a, "pd-example/agency", &va);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(signote_text_valid(bad[i], strlen(bad[i])));
		assert_int_equal(signote_sign(bad[i], strlen(bad[i]), va.name, a, buf,
					      sizeof(buf), &len), -EINVAL);
	}
	assert_true(signote_text_valid("ok\n", 3));
	assert_int_equal(signote_sign("x\n", 2, "bad name", a, buf, sizeof(buf), &len), -EINVAL);
	/* an empty line inside a signed text: the splitter takes the last
	 * blank line, the text then holds an empty line -> refused */
	assert_int_equal(signote_sign("b\n", 2, va.name, a, buf, sizeof(buf), &len), 0);
	snprintf(note, sizeof(note), "a\n\n%s", buf);
	assert_int_equal(signote_verify(note, strlen(note), &va, 1, &tl, NULL), -EBADMSG);
	/* signature lines missing, garbage, or no trailing newline */
	assert_int_equal(signote_verify("a\n\n", 3, &va, 1, &tl, NULL), -EBADMSG);
	assert_int_equal(signote_verify("a\n\nxx\n", 6, &va, 1, &tl, NULL), -EBADMSG);
	assert_int_equal(signote_verify(buf, len - 1, &va, 1, &tl, NULL), -EBADMSG);
	edkey_free(a);
}

static void test_caps(void **state)
{
	struct edkey *a;
	struct ckpt_vkey va;
	char *text = malloc(CKPT_MAX_NOTE + 2), *buf = malloc(CKPT_MAX_NOTE * 2);
	size_t len, tl;

	(void)state;
	assert_non_null(text);
	assert_non_null(buf);
	gen(&a, "pd-example/agency", &va);
	memset(text, 'a', SIGNOTE_MAX_TEXT + 1);
	text[SIGNOTE_MAX_TEXT - 1] = '\n';
	assert_int_equal(signote_sign(text, SIGNOTE_MAX_TEXT, va.name, a, buf,
				      CKPT_MAX_NOTE * 2, &len), 0);
	assert_int_equal(signote_verify(buf, len, &va, 1, &tl, NULL), 0);
	text[SIGNOTE_MAX_TEXT] = '\n';
	assert_false(signote_text_valid(text, SIGNOTE_MAX_TEXT + 1));
	/* a note over the whole-note cap */
	memset(buf, 'a', CKPT_MAX_NOTE + 1);
	assert_int_equal(signote_verify(buf, CKPT_MAX_NOTE + 1, &va, 1, &tl, NULL), -E2BIG);
	edkey_free(a);
	free(text);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_roundtrip_and_signers),
		cmocka_unit_test(test_bad_texts),
		cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
