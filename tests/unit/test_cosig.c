/*
 * test_cosig.c - C2SP tlog-cosignature/v1 (custody/cosig.h): a fixed
 * vector computed independently (openssl CLI: pkeyutl -sign -rawin over
 * the spec's message, dgst -sha256 for the key id), round trips, and
 * hostile lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cosig.h"
#include "edkey.h"

/* RFC 8032 section 7.1 TEST 1 secret key, as PKCS#8 PEM. */
static const char rfc8032_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";
static const char vec_vkey[] =
	"witness.example/w1+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
static const char vec_text[] =
	"example.com/behind-the-sofa\n20852163\n"
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const uint64_t vec_time = 1679315147;
static const char vec_line[] =
	"\xe2\x80\x94 witness.example/w1 "
	"63YswgAAAABkGFDL+TPmh4BYuAjsYRoqMJCWb/gWJaeRF/kmm5tlCr9sJ57DLErur7K0"
	"yDXc2ArN+TIuotuB/HbuL3AJsp3bv/aNCQ==\n";

static struct edkey *load_vec_key(void)
{
	char dir[] = "/tmp/test_cosig.XXXXXX", path[64], cmd[96];
	struct edkey *k = NULL;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rfc8032_pem, strlen(rfc8032_pem)),
			 (ssize_t)strlen(rfc8032_pem));
	close(fd);
	assert_int_equal(edkey_load_private(path, &k), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return k;
}

static void test_vector(void **state)
{
	struct ckpt_vkey v, v2;
	struct edkey *k = load_vec_key();
	char line[COSIG_MAX_LINE], back[CKPT_MAX_VKEY];
	size_t len = 0, which = 9;
	uint64_t ts = 0;

	(void)state;
	assert_int_equal(cosig_vkey_parse(vec_vkey, strlen(vec_vkey), &v), 0);
	assert_string_equal(v.name, "witness.example/w1");
	assert_memory_equal(v.key_id, "\xeb\x76\x2c\xc2", 4);
	assert_int_equal(cosig_vkey_format(&v, back, sizeof(back)), 0);
	assert_string_equal(back, vec_vkey);
	assert_int_equal(cosig_vkey_from_edkey("witness.example/w1", k, &v2), 0);
	assert_memory_equal(&v, &v2, sizeof(v));
	/* Ed25519 is deterministic: our signer gives the exact line */
	assert_int_equal(cosig_sign(k, "witness.example/w1", vec_text,
				    strlen(vec_text), vec_time, line,
				    sizeof(line), &len), 0);
	assert_string_equal(line, vec_line);
	assert_int_equal(len, strlen(vec_line));
	assert_int_equal(cosig_verify(vec_text, strlen(vec_text), vec_line,
				      strlen(vec_line), &v, 1, &which, &ts), 0);
	assert_int_equal(which, 0);
	assert_int_equal(ts, vec_time);
	/* without the trailing newline too */
	assert_int_equal(cosig_verify(vec_text, strlen(vec_text), vec_line,
				      strlen(vec_line) - 1, &v, 1, NULL, NULL), 0);
	/* a type-0x01 vkey of the same key is a different key id */
	assert_int_equal(ckpt_vkey_parse(vec_vkey, strlen(vec_vkey), &v2),
			 -EBADMSG);
	edkey_free(k);
}

static void test_tamper(void **state)
{
	struct ckpt_vkey v;
	char text[sizeof(vec_text)], line[sizeof(vec_line)];
	size_t tl = strlen(vec_text), ll = strlen(vec_line);

	(void)state;
	assert_int_equal(cosig_vkey_parse(vec_vkey, strlen(vec_vkey), &v), 0);
	/* one changed digit of the size */
	memcpy(text, vec_text, sizeof(text));
	text[29] = text[29] == '0' ? '1' : '0';
	assert_int_equal(cosig_verify(text, tl, vec_line, ll, &v, 1, NULL,
				      NULL), -EKEYREJECTED);
	/* a changed timestamp byte ('L' -> 'M' in the 4th base64 group) */
	memcpy(line, vec_line, sizeof(line));
	line[4 + 19 + 15] = 'M';
	assert_int_equal(cosig_verify(vec_text, tl, line, ll, &v, 1, NULL,
				      NULL), -EKEYREJECTED);
	/* another witness name: not ours */
	memcpy(line, vec_line, sizeof(line));
	line[4 + 17] = '2';
	assert_int_equal(cosig_verify(vec_text, tl, line, ll, &v, 1, NULL,
				      NULL), -ENOKEY);
	/* malformed: no dash, short base64, non-canonical padding */
	assert_int_equal(cosig_verify(vec_text, tl, vec_line + 4, ll - 4, &v,
				      1, NULL, NULL), -EBADMSG);
	assert_int_equal(cosig_verify(vec_text, tl, vec_line, ll - 5, &v, 1,
				      NULL, NULL), -EBADMSG);
	memcpy(line, vec_line, sizeof(line));
	line[ll - 4] = 'R';	/* "CQ==" -> "CR==": pad bits set */
	assert_int_equal(cosig_verify(vec_text, tl, line, ll, &v, 1, NULL,
				      NULL), -EBADMSG);
	/* the text must be a note body: no blank line, ends in '\n' */
	assert_int_equal(cosig_verify(vec_text, tl - 1, vec_line, ll, &v, 1,
				      NULL, NULL), -EBADMSG);
	/* bad vkeys: wrong type byte, uppercase hex, wrong id */
	assert_int_equal(cosig_vkey_parse("witness.example/w1+EB762CC2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea", 72, &v), -EBADMSG);
	assert_int_equal(cosig_vkey_parse("witness.example/w1+eb762cc3+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea", 72, &v), -EBADMSG);
	assert_int_equal(cosig_vkey_parse("witness.example/w1+eb762cc2+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea", 72, &v), -EBADMSG);
}

static void test_round_trip_and_note(void **state)
{
	struct edkey *a = NULL, *b = NULL, *log = NULL;
	struct ckpt_vkey keys[2], logv;
	struct checkpoint cp, out;
	char note[CKPT_MAX_SIGNED + 2 * COSIG_MAX_LINE], line[COSIG_MAX_LINE];
	size_t nlen, tlen, sigs, ll, count = 0;
	uint8_t ok[2] = { 0, 0 };
	uint64_t oldest = 0;

	(void)state;
	assert_int_equal(edkey_generate(&a), 0);
	assert_int_equal(edkey_generate(&b), 0);
	assert_int_equal(edkey_generate(&log), 0);
	assert_int_equal(cosig_vkey_from_edkey("w.a", a, &keys[0]), 0);
	assert_int_equal(cosig_vkey_from_edkey("w.b", b, &keys[1]), 0);
	assert_int_equal(ckpt_vkey_from_edkey("dock", log, &logv), 0);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "dock.example/log");
	cp.size = 5;
	assert_int_equal(checkpoint_format(&cp, "dock", log, note,
					   sizeof(note), &nlen), 0);
	assert_int_equal(cosig_note_text(note, nlen, &tlen, &sigs), 0);
	assert_int_equal(sigs, tlen + 1);
	/* cosign by b then a, append both lines to the note */
	assert_int_equal(cosig_sign(b, "w.b", note, tlen, 200, line,
				    sizeof(line), &ll), 0);
	memcpy(note + nlen, line, ll + 1);
	nlen += ll;
	assert_int_equal(cosig_sign(a, "w.a", note, tlen, 100, line,
				    sizeof(line), &ll), 0);
	memcpy(note + nlen, line, ll + 1);
	nlen += ll;
	/* still a valid checkpoint for the log key */
	assert_int_equal(checkpoint_parse_verify(note, nlen, &logv, 1, &out,
						 NULL), 0);
	assert_int_equal(out.size, 5);
	assert_int_equal(cosig_note_check(note, nlen, keys, 2, ok, &count,
					  &oldest), 0);
	assert_int_equal(count, 2);
	assert_true(ok[0] && ok[1]);
	assert_int_equal(oldest, 100);
	/* only the first witness known */
	assert_int_equal(cosig_note_check(note, nlen, keys, 1, ok, &count,
					  NULL), 0);
	assert_int_equal(count, 1);
	/* a duplicated line of a known key fails the note */
	memcpy(note + nlen, line, ll + 1);
	assert_int_equal(cosig_note_check(note, nlen + ll, keys, 2, NULL,
					  &count, NULL), -EBADMSG);
	/* the wrong key under a known name is rejected, not skipped */
	assert_int_equal(cosig_sign(b, "w.a", note, tlen, 300, line,
				    sizeof(line), &ll), 0);
	assert_int_equal(cosig_verify(note, tlen, line, ll, keys, 2, NULL,
				      NULL), -ENOKEY);	/* id differs */
	/* timestamps over 2^63-1 cannot be signed */
	assert_int_equal(cosig_sign(a, "w.a", note, tlen, UINT64_C(1) << 63,
				    line, sizeof(line), &ll), -EINVAL);
	/* public-only key cannot sign */
	edkey_free(a);
	edkey_free(b);
	edkey_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_round_trip_and_note),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
