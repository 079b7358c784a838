/*
 * test_cosig.c - C2SP tlog-cosignature/v1 (custody/cosig.h): a fixed
 * vector computed independently (openssl CLI: pkeyutl -sign -rawin over
 * the spec's message, dgst -sha256 for the key id), round trips, and
 * hostile lines; the checkpoint_cosigs table; the witness's add-checkpoint
 * decisions and durable state without HTTP (custody/witness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "cosig.h"
#include "edkey.h"
#include "ledger.h"
#include "ledger_cosig.h"
#include "merkle.h"
#include "witness.h"
#include "../../dockd/core/config.h"

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

static int collect(void *arg, const char *witness, const char *line)
{
	char *acc = arg;
	size_t n = strlen(acc);

	snprintf(acc + n, 512 - n, "%s=%.8s;", witness, line + 4);
	return 0;
}

/* checkpoint_cosigs: write-once rows, first kept, only for a stored
 * checkpoint; the note comes back with its cosignature lines. */
static void test_ledger_table(void **state)
{
	char dir[] = "/tmp/test_cosig_l.XXXXXX", path[64], cmd[96], acc[512] = "";
	struct cust_ledger *l = NULL;
	uint64_t last = 9;
	char *note = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/l.db", dir);
	assert_int_equal(cust_ledger_open(path, CUST_LEDGER_CREATE, &l, NULL, 0), 0);
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), "INSERT INTO checkpoints"
		" VALUES (3, 'o\n3\nAAAA\n\n\xe2\x80\x94 o sig\n', 1)", NULL, NULL, NULL),
		SQLITE_OK);
	assert_int_equal(cust_cosig_last(l, "w.a", &last), 0);
	assert_int_equal(last, 0);
	assert_int_equal(cust_cosig_add(l, 4, "w.a", "\xe2\x80\x94 w.a AAAA"), -ENOENT);
	assert_int_equal(cust_cosig_add(l, 3, "w b", "\xe2\x80\x94 w.a AAAA"), -EINVAL);
	assert_int_equal(cust_cosig_add(l, 3, "w.a", "\xe2\x80\x94 w.a AAAA\n"), 0);
	assert_int_equal(cust_cosig_add(l, 3, "w.a", "\xe2\x80\x94 w.a AAAA"), 0);
	assert_int_equal(cust_cosig_add(l, 3, "w.a", "\xe2\x80\x94 w.a BBBB"), -EEXIST);
	assert_int_equal(cust_cosig_add(l, 3, "w.b", "\xe2\x80\x94 w.b CCCC"), 0);
	assert_int_equal(cust_cosig_each(l, 3, collect, acc), 0);
	assert_string_equal(acc, "w.a=w.a AAAA;w.b=w.b CCCC;");
	assert_int_equal(cust_cosig_last(l, "w.b", &last), 0);
	assert_int_equal(last, 3);
	assert_int_equal(cust_cosig_note(l, 3, &note, &len), 0);
	assert_string_equal(note, "o\n3\nAAAA\n\n\xe2\x80\x94 o sig\n"
			    "\xe2\x80\x94 w.a AAAA\n\xe2\x80\x94 w.b CCCC\n");
	assert_int_equal(len, strlen(note));
	free(note);
	assert_int_not_equal(sqlite3_exec(cust_ledger_db(l), "DELETE FROM"
		" checkpoint_cosigs", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(cust_ledger_db(l), "UPDATE"
		" checkpoint_cosigs SET line = 'x'", NULL, NULL, NULL), SQLITE_OK);
	cust_ledger_close(l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- the witness, without HTTP ---------------------------------------- */

static merkle_hash leaves[16], other[16];

static int arr_leaves(void *ctx, uint64_t begin, uint64_t count,
		      merkle_hash *out)
{
	memcpy(out, (merkle_hash *)ctx + begin, count * sizeof(merkle_hash));
	return 0;
}

/* body "old OLD\n" proof(OLD->SIZE over `tree`) "\n" note(SIZE), signed by k */
static size_t mkbody(char *buf, size_t cap, struct edkey *k, const char *origin,
		     uint64_t old, uint64_t size, merkle_hash *tree, int proof)
{
	struct merkle_source src = { .ctx = tree, .leaf_hashes = arr_leaves };
	merkle_hash pf[MERKLE_MAX_PROOF];
	struct checkpoint cp;
	size_t n = 0, o, len;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", origin);
	cp.size = size;
	assert_int_equal(merkle_root_from_leaves((const merkle_hash *)tree, size,
						 cp.root), 0);
	o = (size_t)snprintf(buf, cap, "old %llu\n", (unsigned long long)old);
	if (proof) {
		assert_int_equal(merkle_consistency_proof(&src, old, size, pf, &n), 0);
		for (size_t i = 0; i < n; i++) {
			EVP_EncodeBlock((unsigned char *)buf + o, pf[i], 32);
			o += 44;
			buf[o++] = '\n';
		}
	}
	buf[o++] = '\n';
	assert_int_equal(checkpoint_format(&cp, origin, k, buf + o, cap - o,
					   &len), 0);
	return o + len;
}

static int add(struct witness *w, const char *body, size_t len, char *resp)
{
	const char *ct;
	char why[256];

	return witness_add_checkpoint(w, body, len, resp, WITNESS_MAX_RESP, &ct,
				      why, sizeof(why));
}

static void test_witness_decisions(void **state)
{
	char dir[] = "/tmp/test_witness.XXXXXX", err[256], spec[400];
	char vk[CKPT_MAX_VKEY], body[8192], resp[WITNESS_MAX_RESP], path[128];
	struct edkey *lk = NULL, *wk = NULL, *ek = NULL;
	struct ckpt_vkey lv, wv;
	struct witness *w = NULL;
	size_t n, tl, sg;
	const char *note;
	FILE *f;

	(void)state;
	for (int i = 0; i < 16; i++) {
		uint8_t b[2] = { (uint8_t)i, 0 }, c[2] = { (uint8_t)i, 1 };

		assert_int_equal(merkle_leaf_hash(b, 2, leaves[i]), 0);
		assert_int_equal(merkle_leaf_hash(i < 4 ? b : c, 2, other[i]), 0);
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(edkey_generate(&lk), 0);
	assert_int_equal(edkey_generate(&wk), 0);
	assert_int_equal(edkey_generate(&ek), 0);
	assert_int_equal(ckpt_vkey_from_edkey("dock.test/x", lk, &lv), 0);
	assert_int_equal(ckpt_vkey_format(&lv, vk, sizeof(vk)), 0);
	snprintf(spec, sizeof(spec), "dock.test/x %s", vk);
	assert_int_equal(witness_new("w.test", wk, dir, &w, err, sizeof(err)), 0);
	assert_int_equal(witness_add_log(w, spec, err, sizeof(err)), 0);
	assert_int_equal(witness_load(w, err, sizeof(err)), 0);
	assert_int_equal(cosig_vkey_from_edkey("w.test", wk, &wv), 0);

	/* size 0 must have the empty root; from 0 the proof must be empty */
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 0, 0, leaves, 0);
	assert_int_equal(add(w, body, n, resp), 200);
	{
		struct checkpoint cp;
		size_t l2;

		memset(&cp, 0, sizeof(cp));
		snprintf(cp.origin, sizeof(cp.origin), "dock.test/x");
		cp.root[0] = 1;
		n = (size_t)snprintf(body, sizeof(body), "old 0\n\n");
		assert_int_equal(checkpoint_format(&cp, "dock.test/x", lk, body + n,
						   sizeof(body) - n, &l2), 0);
		assert_int_equal(add(w, body, n + l2, resp), 422);
	}
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 0, 3, leaves, 0);
	memmove(body + 6 + 45, body + 6, n - 6);
	memcpy(body + 6, "zMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMw=\n", 45);
	assert_int_equal(add(w, body, n + 45, resp), 422);
	/* 0 -> 3 cosigned; the line verifies over the note text */
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 0, 3, leaves, 0);
	assert_int_equal(add(w, body, n, resp), 200);
	note = body + 7;
	assert_int_equal(cosig_note_text(note, n - 7, &tl, &sg), 0);
	assert_int_equal(cosig_verify(note, tl, resp, strlen(resp), &wv, 1, NULL,
				      NULL), 0);
	/* 3 -> 5 with the proof */
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 3, 5, leaves, 1);
	assert_int_equal(add(w, body, n, resp), 200);
	/* equal size: same root cosigned again, other root is a fork */
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 5, 5, leaves, 1);
	assert_int_equal(add(w, body, n, resp), 200);
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 5, 5, other, 1);
	assert_int_equal(add(w, body, n, resp), 422);
	/* rewritten history: a valid proof of another tree */
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 5, 7, other, 1);
	assert_int_equal(add(w, body, n, resp), 422);
	/* rollback */
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 5, 4, leaves, 0);
	assert_int_equal(add(w, body, n, resp), 400);
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 3, 4, leaves, 1);
	assert_int_equal(add(w, body, n, resp), 409);
	assert_string_equal(resp, "5\n");
	/* unknown log, wrong key */
	n = mkbody(body, sizeof(body), lk, "dock.test/y", 0, 3, leaves, 0);
	assert_int_equal(add(w, body, n, resp), 404);
	n = mkbody(body, sizeof(body), ek, "dock.test/x", 5, 7, leaves, 1);
	assert_int_equal(add(w, body, n, resp), 403);
	assert_int_equal(add(w, "old 5\n", 6, resp), 400);

	/* the state survives a restart */
	witness_free(w);
	assert_int_equal(witness_new("w.test", wk, dir, &w, err, sizeof(err)), 0);
	assert_int_equal(witness_add_log(w, spec, err, sizeof(err)), 0);
	assert_int_equal(witness_load(w, err, sizeof(err)), 0);
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 0, 7, leaves, 0);
	assert_int_equal(add(w, body, n, resp), 409);
	assert_string_equal(resp, "5\n");
	n = mkbody(body, sizeof(body), lk, "dock.test/x", 5, 7, leaves, 1);
	assert_int_equal(add(w, body, n, resp), 200);
	witness_free(w);

	/* a damaged state file stops the witness from starting */
	{
		char hex[65], buf[4096];
		size_t len;

		assert_int_equal(witness_origin_hex("dock.test/x", 11, hex), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, hex);
		assert_non_null(f = fopen(path, "r+"));
		len = fread(buf, 1, sizeof(buf), f);
		assert_true(len > 20);
		buf[12] = buf[12] == '7' ? '6' : '7';	/* the size line */
		rewind(f);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
	}
	assert_int_equal(witness_new("w.test", wk, dir, &w, err, sizeof(err)), 0);
	assert_int_equal(witness_add_log(w, spec, err, sizeof(err)), 0);
	assert_int_not_equal(witness_load(w, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "refusing to start"));
	witness_free(w);
	edkey_free(lk);
	edkey_free(wk);
	edkey_free(ek);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* dockd's [witness] section (dockd/core/config_witness.c). */
static void test_witness_config(void **state)
{
	static const char base[] = "[dock]\nid = d1\nagency_id = a\n"
		"[encryption]\nrecipients = /k/a.pub\n[witness]\n";
	struct edkey *k = NULL;
	struct ckpt_vkey v;
	struct dock_config *c = malloc(sizeof(*c));
	char vk[CKPT_MAX_VKEY], text[2048], err[256], ck[CKPT_MAX_VKEY];

	(void)state;
	assert_non_null(c);
	assert_int_equal(edkey_generate(&k), 0);
	assert_int_equal(cosig_vkey_from_edkey("w1.test/witness", k, &v), 0);
	assert_int_equal(cosig_vkey_format(&v, vk, sizeof(vk)), 0);
	assert_int_equal(ckpt_vkey_from_edkey("w1.test/witness", k, &v), 0);
	assert_int_equal(ckpt_vkey_format(&v, ck, sizeof(ck)), 0);
	snprintf(text, sizeof(text), "%switness = http://127.0.0.1:8420/ %s\n"
		 "timeout_s = 3\nretry_s = 7\n", base, vk);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), 0);
	assert_int_equal(c->n_witnesses, 1);
	assert_string_equal(c->witnesses[0].url, "http://127.0.0.1:8420");
	assert_string_equal(c->witnesses[0].vkey, vk);
	assert_int_equal(c->witness_timeout_s, 3);
	assert_int_equal(c->witness_retry_s, 7);
	/* defaults */
	assert_int_equal(dock_config_load_string("t", base, c, err, sizeof(err)), 0);
	assert_int_equal(c->n_witnesses, 0);
	assert_int_equal(c->witness_timeout_s, 10);
	/* refused: other scheme, a log (0x01) vkey, no vkey, a name twice */
	snprintf(text, sizeof(text), "%switness = ftp://h %s\n", base, vk);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%switness = http://h %s\n", base, ck);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[witness] witness"));
	snprintf(text, sizeof(text), "%switness = http://h\n", base);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%switness = http://h %s\nwitness = http://i %s\n",
		 base, vk, vk);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%stimeout_s = 0\n", base);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%snope = 1\n", base);
	assert_int_equal(dock_config_load_string("t", text, c, err, sizeof(err)), -EINVAL);
	edkey_free(k);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_round_trip_and_note),
		cmocka_unit_test(test_ledger_table),
		cmocka_unit_test(test_witness_decisions),
		cmocka_unit_test(test_witness_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
