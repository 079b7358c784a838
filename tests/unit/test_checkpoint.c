/*
 * test_checkpoint.c - Ed25519 keys (edkey), C2SP signed-note checkpoints
 * and vkeys: published vectors, round trips, and hostile inputs.
 * Also replays tests/fuzz/regressions/fuzz_checkpoint/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "checkpoint.h"
#include "edkey.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_checkpoint.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* ---- edkey ---------------------------------------------------------------- */

static void test_edkey_sign_verify(void **state)
{
	struct edkey *k = NULL, *pub = NULL;
	uint8_t raw[32], sig[64];
	const char msg[] = "custody";

	(void)state;
	assert_int_equal(edkey_generate(&k), 0);
	assert_true(edkey_has_private(k));
	assert_int_equal(edkey_sign(k, msg, sizeof(msg), sig), 0);
	assert_int_equal(edkey_verify(k, msg, sizeof(msg), sig), 0);
	assert_int_equal(edkey_public_raw(k, raw), 0);
	assert_int_equal(edkey_from_public_raw(raw, &pub), 0);
	assert_false(edkey_has_private(pub));
	assert_int_equal(edkey_verify(pub, msg, sizeof(msg), sig), 0);
	assert_int_equal(edkey_verify_raw(raw, msg, sizeof(msg), sig), 0);
	assert_int_equal(edkey_sign(pub, msg, sizeof(msg), sig), -ENOKEY);
	sig[10] ^= 1;
	assert_int_equal(edkey_verify(pub, msg, sizeof(msg), sig), -EBADMSG);
	sig[10] ^= 1;
	assert_int_equal(edkey_verify(pub, msg, sizeof(msg) - 1, sig), -EBADMSG);
	assert_int_equal(edkey_sign(k, NULL, 0, sig), 0);
	assert_int_equal(edkey_verify(pub, NULL, 0, sig), 0);
	edkey_free(pub);
	edkey_free(k);
}

static void test_edkey_files(void **state)
{
	struct edkey *k = NULL, *k2 = NULL, *p = NULL;
	char priv[128], pubf[128], link[128], bad[128];
	uint8_t a[32], b[32], sig[64];
	struct stat st;
	FILE *f;

	(void)state;
	path_in(priv, sizeof(priv), "key.pem");
	path_in(pubf, sizeof(pubf), "key.pub");
	path_in(link, sizeof(link), "link.pem");
	path_in(bad, sizeof(bad), "bad.pem");
	assert_int_equal(edkey_generate(&k), 0);
	assert_int_equal(edkey_save_private(k, priv), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(edkey_save_private(k, priv), -EEXIST);
	assert_int_equal(edkey_save_public(k, pubf), 0);
	assert_int_equal(edkey_load_private(priv, &k2), 0);
	assert_true(edkey_has_private(k2));
	assert_int_equal(edkey_public_raw(k, a), 0);
	assert_int_equal(edkey_public_raw(k2, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(edkey_load_public(pubf, &p), 0);
	assert_false(edkey_has_private(p));
	assert_int_equal(edkey_save_private(p, bad), -ENOKEY);
	assert_int_equal(edkey_sign(k2, "x", 1, sig), 0);
	assert_int_equal(edkey_verify(p, "x", 1, sig), 0);
	/* a public key file is not a private key */
	assert_int_equal(chmod(pubf, 0600), 0);
	assert_int_equal(edkey_load_private(pubf, &k2), -EINVAL);
	/* permissions: group/world readable private key refused */
	assert_int_equal(chmod(priv, 0640), 0);
	assert_int_equal(edkey_load_private(priv, &k2), -EPERM);
	assert_int_equal(chmod(priv, 0604), 0);
	assert_int_equal(edkey_load_private(priv, &k2), -EPERM);
	assert_int_equal(chmod(priv, 0400), 0);
	/* symlinks refused, for loading and saving */
	assert_int_equal(symlink(priv, link), 0);
	assert_int_equal(edkey_load_private(link, &k2), -EPERM);
	assert_int_not_equal(edkey_save_private(k, link), 0);
	assert_int_equal(edkey_load_private(tmpdir, &k2), -EPERM);
	assert_int_equal(edkey_load_private("/nonexistent/k.pem", &k2), -ENOENT);
	/* garbage and oversize */
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	assert_int_equal(chmod(bad, 0600), 0);
	assert_int_equal(edkey_load_private(bad, &k2), -EINVAL);
	assert_int_equal(truncate(bad, EDKEY_MAX_FILE + 1), 0);
	assert_int_equal(edkey_load_private(bad, &k2), -EFBIG);
	edkey_free(p);
	edkey_free(k2);
	edkey_free(k);
}

/* An EC key is a valid PEM private key but not Ed25519. */
static void test_edkey_wrong_type(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct edkey *k = NULL;
	char path[128];
	FILE *f;

	(void)state;
	assert_non_null(ec);
	path_in(path, sizeof(path), "ec.pem");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(edkey_load_private(path, &k), -EINVAL);
	assert_null(k);
	EVP_PKEY_free(ec);
}

/* ---- published vectors ---------------------------------------------------- */

static size_t b64dec(const char *s, uint8_t *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)strlen(s));
	size_t pad = 0;

	assert_true(n > 0);
	while (pad < 2 && s[strlen(s) - 1 - pad] == '=')
		pad++;
	return (size_t)n - pad;
}

/* c2sp.org/signed-note example: vkey and the note it verifies. */
static void test_signed_note_spec_vector(void **state)
{
	static const char vk[] =
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
	static const char text[] = "This is an example message.\n";
	static const char sig64[] =
		"Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";
	struct ckpt_vkey v;
	uint8_t raw[80], id[4];
	char back[CKPT_MAX_VKEY];

	(void)state;
	assert_int_equal(ckpt_vkey_parse(vk, strlen(vk), &v), 0);
	assert_string_equal(v.name, "example.com/foo");
	assert_memory_equal(v.key_id, "\x53\x0d\x90\x3a", 4);
	assert_int_equal(ckpt_key_id(v.name, v.pub, id), 0);
	assert_memory_equal(id, v.key_id, 4);
	assert_int_equal(ckpt_vkey_format(&v, back, sizeof(back)), 0);
	assert_string_equal(back, vk);
	assert_int_equal(b64dec(sig64, raw), 68);
	assert_memory_equal(raw, v.key_id, 4);
	assert_int_equal(edkey_verify_raw(v.pub, text, strlen(text), raw + 4), 0);
	assert_int_equal(edkey_verify_raw(v.pub, text, strlen(text) - 1,
					  raw + 4), -EBADMSG);
}

/* Real checkpoints published by sum.golang.org, verified with the key
 * built into the Go toolchain: interoperability with another signer. */
static void test_sumdb_checkpoints(void **state)
{
	static const char vk[] =
		"sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
	static const char *const notes[] = {
		"go.sum database tree\n31700353\n"
		"qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n"
		"\xe2\x80\x94 sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=\n",
		"go.sum database tree\n65209736\n"
		"5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=\n\n"
		"\xe2\x80\x94 sum.golang.org Az3grnbssgK7ubgFX36gVETtNv0U23qxyAhAMai2QUfeGa3nB/akvkMdlUErfcZz7l/R3cVtYspg3dxXABkGZZKdsQ8=\n",
	};
	static const uint64_t sizes[] = { 31700353, 65209736 };
	struct ckpt_vkey v;
	struct checkpoint cp;
	char *t;

	(void)state;
	assert_int_equal(ckpt_vkey_parse(vk, strlen(vk), &v), 0);
	for (int i = 0; i < 2; i++) {
		size_t signer = 9;

		assert_int_equal(checkpoint_parse_verify(notes[i], strlen(notes[i]),
							 &v, 1, &cp, &signer), 0);
		assert_string_equal(cp.origin, "go.sum database tree");
		assert_int_equal(cp.size, sizes[i]);
		assert_int_equal(signer, 0);
		assert_string_equal(cp.extensions, "");
		/* one changed digit of the size breaks the signature */
		t = strdup(notes[i]);
		assert_non_null(t);
		t[21] = t[21] == '3' ? '4' : '3';
		assert_int_equal(checkpoint_parse_verify(t, strlen(t), &v, 1, &cp,
							 NULL), -EKEYREJECTED);
		free(t);
	}
}

/* ---- round trips ---------------------------------------------------------- */

struct signer {
	struct edkey *key;
	struct ckpt_vkey vkey;
};

static void signer_new(struct signer *s, const char *name)
{
	assert_int_equal(edkey_generate(&s->key), 0);
	assert_int_equal(ckpt_vkey_from_edkey(name, s->key, &s->vkey), 0);
}

static void sample(struct checkpoint *cp, uint64_t size)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->origin, sizeof(cp->origin), "dock.example/precinct-7");
	cp->size = size;
	for (int i = 0; i < 32; i++)
		cp->root[i] = (uint8_t)(i * 37 + size);
}

static void test_roundtrip(void **state)
{
	struct signer s, other;
	struct checkpoint cp, got;
	struct ckpt_vkey keys[2];
	char buf[CKPT_MAX_SIGNED];
	size_t len, signer = 9;
	static const uint64_t sizes[] = { 0, 1, 9, 1000000, MERKLE_MAX_SIZE };

	(void)state;
	signer_new(&s, "dock.example/precinct-7");
	signer_new(&other, "someone.else/log");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		sample(&cp, sizes[i]);
		if (i == 2)
			snprintf(cp.extensions, sizeof(cp.extensions),
				 "ext one\n\xc3\xa9xt two\n");
		assert_int_equal(checkpoint_format(&cp, s.vkey.name, s.key, buf,
						   sizeof(buf), &len), 0);
		assert_int_equal(len, strlen(buf));
		keys[0] = other.vkey;
		keys[1] = s.vkey;
		memset(&got, 0xaa, sizeof(got));
		assert_int_equal(checkpoint_parse_verify(buf, len, keys, 2, &got,
							 &signer), 0);
		assert_int_equal(signer, 1);
		assert_string_equal(got.origin, cp.origin);
		assert_int_equal(got.size, cp.size);
		assert_memory_equal(got.root, cp.root, 32);
		assert_string_equal(got.extensions, cp.extensions);
		/* only the other key known */
		assert_int_equal(checkpoint_parse_verify(buf, len, keys, 1, &got,
							 NULL), -ENOKEY);
	}
	/* exact text for size 9 checks the byte layout */
	sample(&cp, 9);
	assert_int_equal(checkpoint_body(&cp, buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "dock.example/precinct-7\n9\n"
			    "CS5TeJ3C5wwxVnugxeoPNFl+o8jtEjdcgabL8BU6X4Q=\n");
	assert_int_equal(checkpoint_format(&cp, s.vkey.name, s.key, buf,
					   sizeof(buf), &len), 0);
	assert_int_equal(memcmp(buf + strlen("dock.example/precinct-7\n9\n"
		"CS5TeJ3C5wwxVnugxeoPNFl+o8jtEjdcgabL8BU6X4Q=\n"),
		"\n\xe2\x80\x94 dock.example/precinct-7 ", 28), 0);
	assert_int_equal(buf[len - 1], '\n');
	edkey_free(s.key);
	edkey_free(other.key);
}

static void test_vkey_roundtrip_and_errors(void **state)
{
	struct signer s;
	struct ckpt_vkey v;
	char text[CKPT_MAX_VKEY], t2[CKPT_MAX_VKEY + 8];
	size_t n;

	(void)state;
	signer_new(&s, "dock.example/p7");
	assert_int_equal(ckpt_vkey_format(&s.vkey, text, sizeof(text)), 0);
	n = strlen(text);
	assert_int_equal(ckpt_vkey_parse(text, n, &v), 0);
	assert_memory_equal(&v, &s.vkey, sizeof(v));
	assert_int_equal(ckpt_vkey_format(&s.vkey, t2, 20), -ENOSPC);
	/* each position mutated: must not parse to a different key */
	for (size_t i = 0; i < n; i++) {
		memcpy(t2, text, n);
		t2[i] = t2[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(ckpt_vkey_parse(t2, n, &v), 0);
	}
	assert_int_equal(ckpt_vkey_parse(text, n - 1, &v), -EBADMSG);
	/* a NUL inside the name must not truncate it into another name */
	memcpy(t2, text, n);
	t2[4] = '\0';
	assert_int_equal(ckpt_vkey_parse(t2, n, &v), -EBADMSG);
	memcpy(t2, text, n);
	t2[n] = '\n';
	assert_int_equal(ckpt_vkey_parse(t2, n + 1, &v), -EBADMSG);
	/* uppercase hex id is not the spec's encoding */
	memcpy(t2, text, n);
	for (size_t i = 16; i < 24; i++)
		if (t2[i] >= 'a' && t2[i] <= 'f')
			t2[i] = (char)(t2[i] - 32);
	if (memcmp(t2, text, n))
		assert_int_equal(ckpt_vkey_parse(t2, n, &v), -EBADMSG);
	assert_int_equal(ckpt_vkey_parse("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
					 54, &v), -EBADMSG);
	/* type byte 0x02 */
	assert_int_equal(ckpt_vkey_parse("example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
					 69, &v), -EBADMSG);
	memset(t2, 'a', sizeof(t2));
	assert_int_equal(ckpt_vkey_parse(t2, sizeof(t2), &v), -E2BIG);
	assert_int_equal(ckpt_vkey_from_edkey("bad name", s.key, &v), -EINVAL);
	assert_int_equal(ckpt_vkey_from_edkey("bad+name", s.key, &v), -EINVAL);
	assert_int_equal(ckpt_vkey_from_edkey("", s.key, &v), -EINVAL);
	edkey_free(s.key);
}

static void test_format_errors(void **state)
{
	struct signer s;
	struct edkey *pub = NULL;
	struct checkpoint cp;
	char buf[CKPT_MAX_SIGNED];
	uint8_t raw[32];
	size_t len;

	(void)state;
	signer_new(&s, "k");
	sample(&cp, 5);
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, 50, &len), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, 100, &len), -ENOSPC);
	assert_string_equal(buf, "");	/* no unsigned body left behind */
	assert_int_equal(checkpoint_format(&cp, "k k", s.key, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(checkpoint_format(&cp, "k+", s.key, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(edkey_public_raw(s.key, raw), 0);
	assert_int_equal(edkey_from_public_raw(raw, &pub), 0);
	assert_int_equal(checkpoint_format(&cp, "k", pub, buf, sizeof(buf), &len), -ENOKEY);
	snprintf(cp.origin, sizeof(cp.origin), "two\nlines");
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, sizeof(buf), &len), -EINVAL);
	cp.origin[0] = '\0';
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, sizeof(buf), &len), -EINVAL);
	sample(&cp, 5);
	snprintf(cp.extensions, sizeof(cp.extensions), "no newline");
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, sizeof(buf), &len), -EINVAL);
	snprintf(cp.extensions, sizeof(cp.extensions), "a\n\nb\n");
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, sizeof(buf), &len), -EINVAL);
	sample(&cp, MERKLE_MAX_SIZE + 1);
	assert_int_equal(checkpoint_format(&cp, "k", s.key, buf, sizeof(buf), &len), -EINVAL);
	edkey_free(pub);
	edkey_free(s.key);
}

/* ---- hostile notes --------------------------------------------------------- */

/* A valid note with known parts to splice bad variants from. */
struct fixture {
	struct signer s;
	char note[CKPT_MAX_SIGNED];
	size_t len;
	char body[512];
	size_t body_len;
	char sigline[256];	/* "— name b64\n" */
};

static void fixture_new(struct fixture *fx)
{
	struct checkpoint cp;

	signer_new(&fx->s, "dock.example/p7");
	sample(&cp, 4242);
	assert_int_equal(checkpoint_format(&cp, "dock.example/p7", fx->s.key,
					   fx->note, sizeof(fx->note), &fx->len), 0);
	assert_int_equal(checkpoint_body(&cp, fx->body, sizeof(fx->body),
					 &fx->body_len), 0);
	snprintf(fx->sigline, sizeof(fx->sigline), "%s",
		 fx->note + fx->body_len + 1);
}

static int parse(struct fixture *fx, const char *note)
{
	struct checkpoint cp;

	return checkpoint_parse_verify(note, strlen(note), &fx->s.vkey, 1, &cp,
				       NULL);
}

/* body + "\n" + sigline, with body/sig given. */
static int parse2(struct fixture *fx, const char *body, const char *sig)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s\n%s", body, sig);
	return parse(fx, buf);
}

static void test_tampering(void **state)
{
	struct fixture fx;
	char t[CKPT_MAX_SIGNED];

	(void)state;
	fixture_new(&fx);
	assert_int_equal(parse(&fx, fx.note), 0);
	/* every single-bit flip in the signed text is rejected */
	for (size_t i = 0; i < fx.body_len; i++) {
		memcpy(t, fx.note, fx.len + 1);
		t[i] ^= 0x01;
		assert_int_not_equal(parse(&fx, t), 0);
	}
	/* changed size / root digits give a signature failure specifically */
	memcpy(t, fx.note, fx.len + 1);
	t[strlen("dock.example/precinct-7\n")] = '5';	/* 4242 -> 5242 */
	assert_int_equal(parse(&fx, t), -EKEYREJECTED);
	memcpy(t, fx.note, fx.len + 1);
	t[strlen("dock.example/precinct-7\n4242\n") + 3] ^= 0x01; /* root b64 */
	assert_int_not_equal(parse(&fx, t), 0);
	/* signature bytes (after the 4-byte id: base64 chars 8..) */
	for (size_t i = 8; i < 90; i += 7) {
		memcpy(t, fx.note, fx.len + 1);
		char *b64 = t + fx.body_len + 1 + strlen("\xe2\x80\x94 dock.example/p7 ");

		b64[i] = b64[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(parse(&fx, t), 0);
	}
	edkey_free(fx.s.key);
}

static void test_unknown_and_multiple_keys(void **state)
{
	struct fixture fx;
	struct signer other, same_name;
	struct checkpoint cp, got;
	char n2[CKPT_MAX_SIGNED], n3[CKPT_MAX_SIGNED], buf[4096];
	struct ckpt_vkey keys[2];
	size_t l2, signer;

	(void)state;
	fixture_new(&fx);
	signer_new(&other, "witness.example/w1");
	signer_new(&same_name, "dock.example/p7");	/* same name, other key */
	sample(&cp, 4242);
	assert_int_equal(checkpoint_format(&cp, "witness.example/w1", other.key,
					   n2, sizeof(n2), &l2), 0);
	assert_int_equal(checkpoint_format(&cp, "dock.example/p7", same_name.key,
					   n3, sizeof(n3), NULL), 0);
	/* unknown signer only */
	assert_int_equal(parse(&fx, n2), -ENOKEY);
	/* same name, different key id: ignored, so still no known signer */
	assert_int_equal(parse(&fx, n3), -ENOKEY);
	/* cosigned: unknown line first, then ours */
	snprintf(buf, sizeof(buf), "%s\n%s%s", fx.body, n2 + fx.body_len + 1,
		 fx.sigline);
	assert_int_equal(parse(&fx, buf), 0);
	keys[0] = other.vkey;
	keys[1] = fx.s.vkey;
	assert_int_equal(checkpoint_parse_verify(buf, strlen(buf), keys, 2, &got,
						 &signer), 0);
	assert_int_equal(signer, 0);
	/* same key twice */
	snprintf(buf, sizeof(buf), "%s\n%s%s", fx.body, fx.sigline, fx.sigline);
	assert_int_equal(parse(&fx, buf), -EBADMSG);
	/* a known key's bad signature rejects the note even if another
	 * known key signed correctly */
	snprintf(buf, sizeof(buf), "%s\n%s%s", fx.body, n2 + fx.body_len + 1,
		 fx.sigline);
	buf[strlen(buf) - 10] = buf[strlen(buf) - 10] == 'A' ? 'B' : 'A';
	assert_int_equal(checkpoint_parse_verify(buf, strlen(buf), keys, 2, &got,
						 NULL), -EKEYREJECTED);
	assert_int_equal(checkpoint_parse_verify(fx.note, fx.len, keys, 0, &got,
						 NULL), -ENOKEY);
	edkey_free(other.key);
	edkey_free(same_name.key);
	edkey_free(fx.s.key);
}

/* tmpl with its one "%s" (if any) replaced by arg */
static void subst(char *out, size_t cap, const char *tmpl, const char *arg)
{
	const char *p = strstr(tmpl, "%s");

	if (!p) {
		snprintf(out, cap, "%s", tmpl);
		return;
	}
	snprintf(out, cap, "%.*s%s%s", (int)(p - tmpl), tmpl, arg, p + 2);
}

static void test_malformed(void **state)
{
	static const char root[] = "CS5TeJ3C5xEzWH2ixu8NM1d8ocbvFDtZfqPIwe0XOlk=";
	struct fixture fx;
	char body[512], sig[256], t[8192];

	(void)state;
	fixture_new(&fx);
	/* bodies that are syntactically wrong (signature is irrelevant) */
	static const char *const bodies[] = {
		"o\n01\n%s\n", "o\n-1\n%s\n", "o\n+1\n%s\n", "o\n1 \n%s\n",
		"o\n\n%s\n", "\n1\n%s\n", "o\n1\n", "o\n", "o\n1\n%s\n\n",
		"o\n9223372036854775809\n%s\n", "o\n99999999999999999999\n%s\n",
		"o\n123456789012345678901\n%s\n", "o\n1\n%s=\n", "o\n1\nAAAA\n",
		"o\r\n1\n%s\n", "o\n1\r\n%s\n",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		subst(body, sizeof(body), bodies[i], root);
		assert_int_equal(parse2(&fx, body, fx.sigline), -EBADMSG);
	}
	/* non-canonical base64: nonzero pad bits, whitespace */
	snprintf(body, sizeof(body), "o\n1\nCS5TeJ3C5xEzWH2ixu8NM1d8ocbvFDtZfqPIwe0XOlm=\n");
	assert_int_equal(parse2(&fx, body, fx.sigline), -EBADMSG);
	snprintf(body, sizeof(body), "o\n1\nCS5TeJ3C5xEzWH2ixu8NM1d8ocbvFDtZfqPIwe0XOl k\n");
	assert_int_equal(parse2(&fx, body, fx.sigline), -EBADMSG);
	/* signature lines */
	const char *b64 = fx.sigline + strlen("\xe2\x80\x94 dock.example/p7 ");
	static const char *const sigs[] = {
		"- dock.example/p7 %s", "-- dock.example/p7 %s",
		"\xe2\x80\x93 dock.example/p7 %s",	/* en dash */
		"\xe2\x80\x94" "dock.example/p7 %s", "\xe2\x80\x94  dock.example/p7 %s",
		"\xe2\x80\x94 dock.example/p7  %s", "\xe2\x80\x94 dock.example/p7\t%s",
		"\xe2\x80\x94 dock+example/p7 %s", "\xe2\x80\x94 %s",
		"\xe2\x80\x94 dock.example/p7 %s trailing\n",
		"\xe2\x80\x94 dock.example/p7 AAAA\n%s",
		"\xe2\x80\x94 dock.example/p7 \n%s",
	};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		subst(sig, sizeof(sig), sigs[i], b64);
		assert_int_equal(parse2(&fx, fx.body, sig), -EBADMSG);
	}
	/* structure */
	assert_int_equal(parse2(&fx, fx.body, ""), -EBADMSG);	/* no sig */
	snprintf(t, sizeof(t), "%s%s", fx.body, fx.sigline);	/* no blank */
	assert_int_equal(parse(&fx, t), -EBADMSG);
	snprintf(t, sizeof(t), "%s\n\n%s", fx.body, fx.sigline);
	assert_int_equal(parse(&fx, t), -EBADMSG);
	snprintf(t, sizeof(t), "%s\n%s\n", fx.body, fx.sigline);
	assert_int_equal(parse(&fx, t), -EBADMSG);
	snprintf(t, sizeof(t), "%s\n%sgarbage", fx.body, fx.sigline);
	assert_int_equal(parse(&fx, t), -EBADMSG);
	memcpy(t, fx.note, fx.len);				/* no final \n */
	assert_int_equal(checkpoint_parse_verify(t, fx.len - 1, &fx.s.vkey, 1,
		(struct checkpoint[1]){ 0 }, NULL), -EBADMSG);
	/* NUL byte, bad UTF-8, control characters */
	memcpy(t, fx.note, fx.len);
	t[3] = '\0';
	assert_int_equal(checkpoint_parse_verify(t, fx.len, &fx.s.vkey, 1,
		(struct checkpoint[1]){ 0 }, NULL), -EBADMSG);
	static const char *const bad_origins[] = {
		"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x7f\x01",
		"\xe2\x80", "\xff",
	};
	for (size_t i = 0; i < sizeof(bad_origins) / sizeof(*bad_origins); i++) {
		snprintf(body, sizeof(body), "%s\n1\n%s\n", bad_origins[i], root);
		assert_int_equal(parse2(&fx, body, fx.sigline), -EBADMSG);
	}
	edkey_free(fx.s.key);
}

static void test_oversized(void **state)
{
	struct fixture fx;
	char *big, body[1024];
	size_t n, sl;

	(void)state;
	fixture_new(&fx);
	big = malloc(CKPT_MAX_NOTE + 2);
	assert_non_null(big);
	memset(big, 'a', CKPT_MAX_NOTE + 1);
	big[CKPT_MAX_NOTE] = '\n';
	assert_int_equal(checkpoint_parse_verify(big, CKPT_MAX_NOTE + 1,
		&fx.s.vkey, 1, (struct checkpoint[1]){ 0 }, NULL), -E2BIG);
	/* 101 signature lines (all ours - the count cap fires first) */
	sl = strlen(fx.sigline);
	n = (size_t)snprintf(big, CKPT_MAX_NOTE, "%s\n", fx.body);
	for (int i = 0; i < CKPT_MAX_SIGS + 1; i++) {
		memcpy(big + n, "\xe2\x80\x94 x AAAAAAAA\n", 15);
		n += 15;
	}
	(void)sl;
	assert_int_equal(checkpoint_parse_verify(big, n, &fx.s.vkey, 1,
		(struct checkpoint[1]){ 0 }, NULL), -E2BIG);
	/* 256-byte origin */
	memset(body, 'o', 256);
	snprintf(body + 256, sizeof(body) - 256, "\n1\n%s",
		 "CS5TeJ3C5xEzWH2ixu8NM1d8ocbvFDtZfqPIwe0XOlk=\n");
	assert_int_equal(parse2(&fx, body, fx.sigline), -E2BIG);
	/* over-long signature line */
	n = (size_t)snprintf(big, CKPT_MAX_NOTE, "%s\n\xe2\x80\x94 x ", fx.body);
	memset(big + n, 'A', 9000);
	big[n + 9000] = '\n';
	assert_int_equal(checkpoint_parse_verify(big, n + 9001, &fx.s.vkey, 1,
		(struct checkpoint[1]){ 0 }, NULL), -E2BIG);
	free(big);
	edkey_free(fx.s.key);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(checkpoint_strerror(-ENOKEY),
			    "not signed by any trusted key");
	assert_string_equal(checkpoint_strerror(-EKEYREJECTED),
			    "signature by a trusted key does not verify");
	assert_string_equal(checkpoint_strerror(-12345), "unexpected error");
}

/* ---- fuzz regressions ------------------------------------------------------ */

/* Mirrors tests/fuzz/fuzz_checkpoint.c: never crash, and whatever is
 * accepted is canonical (formats back to exactly the input). */
static void exercise(const uint8_t *d, size_t n, const struct ckpt_vkey *k)
{
	static char body[CKPT_MAX_SIGNED];
	char text[CKPT_MAX_VKEY];
	struct ckpt_vkey v;
	struct checkpoint cp;
	size_t blen;

	if (checkpoint_parse_verify((const char *)d, n, k, 1, &cp, NULL) == 0) {
		assert_int_equal(checkpoint_body(&cp, body, sizeof(body), &blen), 0);
		assert_true(blen < n);
		assert_memory_equal(body, d, blen);
	}
	if (ckpt_vkey_parse((const char *)d, n, &v) == 0) {
		assert_int_equal(ckpt_vkey_format(&v, text, sizeof(text)), 0);
		assert_int_equal(strlen(text), n);
		assert_memory_equal(text, d, n);
	}
}

static void test_fuzz_regressions(void **state)
{
	const char *top = getenv("TOP");
	char dir[512], path[1024];
	struct signer s;
	struct dirent *de;
	DIR *dp;
	int count = 0;

	(void)state;
	signer_new(&s, "dock.example/p7");
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/fuzz_checkpoint",
		 top ? top : ".");
	dp = opendir(dir);
	if (!dp) {	/* none recorded yet: nothing to replay */
		edkey_free(s.key);
		return;
	}
	while ((de = readdir(dp))) {
		static uint8_t buf[CKPT_MAX_NOTE * 2];
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		exercise(buf, n, &s.vkey);
		count++;
	}
	closedir(dp);
	edkey_free(s.key);
	print_message("replayed %d fuzz regression inputs\n", count);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edkey_sign_verify),
		cmocka_unit_test(test_edkey_files),
		cmocka_unit_test(test_edkey_wrong_type),
		cmocka_unit_test(test_signed_note_spec_vector),
		cmocka_unit_test(test_sumdb_checkpoints),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_vkey_roundtrip_and_errors),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_unknown_and_multiple_keys),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_fuzz_regressions),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
