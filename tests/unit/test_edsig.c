/* test_edsig.c - Ed25519 helper: RFC 8032 vector, sign/verify, tampering,
 * wrong keys, PEM files (round trip, modes, refusals), hex helpers. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edsig.h"

static char dir[256];

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/edsig-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
	static char p[2][512];
	static int i;

	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static void test_rfc8032_vector(void **state)
{
	uint8_t seed[32], pub[32], want_pub[32], sig[64], want_sig[64];
	struct edsig_key *k = NULL;

	assert_int_equal(edsig_unhex("9d61b19deffd5a60ba844af492ec2cc4"
				     "4449c5697b326919703bac031cae7f60", seed, 32), 0);
	assert_int_equal(edsig_unhex("d75a980182b10ab7d54bfed3c964073a"
				     "0ee172f3daa62325af021a68f707511a", want_pub, 32), 0);
	assert_int_equal(edsig_unhex("e5564300c360ac729086e2cc806e828a"
				     "84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
				     "d25bf5f0595bbe24655141438e7a100b", want_sig, 64), 0);
	assert_int_equal(edsig_from_seed(seed, &k), 0);
	assert_true(edsig_has_private(k));
	assert_int_equal(edsig_public_raw(k, pub), 0);
	assert_memory_equal(pub, want_pub, 32);
	assert_int_equal(edsig_sign(k, NULL, 0, sig), 0);
	assert_memory_equal(sig, want_sig, 64);
	assert_int_equal(edsig_verify_raw(want_pub, (const uint8_t *)"", 0, want_sig), 0);
	edsig_key_free(k);
}

static void test_sign_verify_tamper(void **state)
{
	struct edsig_key *k = NULL, *other = NULL, *pubonly = NULL;
	uint8_t msg[100], sig[64], pub[32];

	memset(msg, 'm', sizeof(msg));
	assert_int_equal(edsig_generate(&k), 0);
	assert_int_equal(edsig_generate(&other), 0);
	assert_int_equal(edsig_sign(k, msg, sizeof(msg), sig), 0);
	assert_int_equal(edsig_verify(k, msg, sizeof(msg), sig), 0);

	/* public-only key from raw bytes verifies but cannot sign */
	assert_int_equal(edsig_public_raw(k, pub), 0);
	assert_int_equal(edsig_from_public(pub, &pubonly), 0);
	assert_false(edsig_has_private(pubonly));
	assert_int_equal(edsig_verify(pubonly, msg, sizeof(msg), sig), 0);
	assert_int_equal(edsig_sign(pubonly, msg, sizeof(msg), sig), -EINVAL);

	msg[50] ^= 1; /* tampered message */
	assert_int_equal(edsig_verify(k, msg, sizeof(msg), sig), -PROTO_E_AUTH);
	msg[50] ^= 1;
	assert_int_equal(edsig_verify(k, msg, sizeof(msg) - 1, sig), -PROTO_E_AUTH);
	sig[10] ^= 0x80; /* tampered signature */
	assert_int_equal(edsig_verify(k, msg, sizeof(msg), sig), -PROTO_E_AUTH);
	sig[10] ^= 0x80;
	assert_int_equal(edsig_verify(other, msg, sizeof(msg), sig), -PROTO_E_AUTH);
	assert_int_equal(edsig_verify(NULL, msg, sizeof(msg), sig), -PROTO_E_AUTH);
	assert_int_equal(edsig_verify_raw(pub, msg, sizeof(msg), sig), 0);
	pub[0] ^= 1;
	assert_int_equal(edsig_verify_raw(pub, msg, sizeof(msg), sig), -PROTO_E_AUTH);

	edsig_key_free(k);
	edsig_key_free(other);
	edsig_key_free(pubonly);
	edsig_key_free(NULL);
}

static void test_private_pem_roundtrip(void **state)
{
	struct edsig_key *k = NULL, *back = NULL;
	uint8_t p1[32], p2[32], sig[64];
	struct stat st;

	assert_int_equal(edsig_generate(&k), 0);
	assert_int_equal(edsig_save_private(k, path("dev.key")), 0);
	assert_int_equal(stat(path("dev.key"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* never overwritten */
	assert_int_equal(edsig_save_private(k, path("dev.key")), -EEXIST);
	assert_int_equal(edsig_load_private(path("dev.key"), &back), 0);
	assert_true(edsig_has_private(back));
	assert_int_equal(edsig_public_raw(k, p1), 0);
	assert_int_equal(edsig_public_raw(back, p2), 0);
	assert_memory_equal(p1, p2, 32);
	assert_int_equal(edsig_sign(back, (const uint8_t *)"x", 1, sig), 0);
	assert_int_equal(edsig_verify(k, (const uint8_t *)"x", 1, sig), 0);
	edsig_key_free(back);
	edsig_key_free(k);
}

static void test_private_key_permissions(void **state)
{
	struct edsig_key *k = NULL, *back = NULL;
	static const mode_t bad[] = { 0640, 0604, 0660, 0644, 0610, 0601, 0620, 0602 };

	assert_int_equal(edsig_generate(&k), 0);
	assert_int_equal(edsig_save_private(k, path("perm.key")), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(path("perm.key"), bad[i]), 0);
		assert_int_equal(edsig_load_private(path("perm.key"), &back), -EPERM);
		assert_null(back);
	}
	assert_non_null(strstr(edsig_strerror(-EPERM), "chmod 0600"));
	assert_int_equal(chmod(path("perm.key"), 0400), 0);
	assert_int_equal(edsig_load_private(path("perm.key"), &back), 0);
	edsig_key_free(back);
	back = NULL;

	/* symlinks are refused even to a good file */
	assert_int_equal(symlink(path("perm.key"), path("link.key")), 0);
	assert_int_equal(edsig_load_private(path("link.key"), &back), -ELOOP);
	assert_int_equal(edsig_save_private(k, path("link.key")), -EEXIST);
	/* a directory is not a key file */
	assert_int_equal(mkdir(path("d.key"), 0700), 0);
	assert_int_equal(edsig_load_private(path("d.key"), &back), -EINVAL);
	assert_int_equal(edsig_load_private(path("missing.key"), &back), -ENOENT);
	assert_null(back);
	edsig_key_free(k);
}

static void write_file(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_public_pem_and_garbage(void **state)
{
	struct edsig_key *k = NULL, *pub = NULL, *back = NULL;
	uint8_t p1[32], p2[32], sig[64];
	char line[64] = "";
	struct stat st;
	FILE *f;

	assert_int_equal(edsig_generate(&k), 0);
	assert_int_equal(edsig_save_public(k, path("dev.pub")), 0);
	assert_int_equal(stat(path("dev.pub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	f = fopen(path("dev.pub"), "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "-----BEGIN PUBLIC KEY-----\n");
	assert_int_equal(edsig_load_public(path("dev.pub"), &pub), 0);
	assert_false(edsig_has_private(pub));
	assert_int_equal(edsig_public_raw(k, p1), 0);
	assert_int_equal(edsig_public_raw(pub, p2), 0);
	assert_memory_equal(p1, p2, 32);
	assert_int_equal(edsig_sign(k, p1, 32, sig), 0);
	assert_int_equal(edsig_verify(pub, p1, 32, sig), 0);
	/* a public key file is not a private key and vice versa */
	assert_int_equal(chmod(path("dev.pub"), 0600), 0);
	assert_int_equal(edsig_load_private(path("dev.pub"), &back), -EBADMSG);
	assert_int_equal(edsig_save_private(k, path("dev2.key")), 0);
	assert_int_equal(edsig_load_public(path("dev2.key"), &back), -EBADMSG);
	assert_int_equal(edsig_save_private(pub, path("nope.key")), -EINVAL);

	write_file(path("junk.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n", 0600);
	assert_int_equal(edsig_load_private(path("junk.key"), &back), -EBADMSG);
	write_file(path("empty.pub"), "", 0644);
	assert_int_equal(edsig_load_public(path("empty.pub"), &back), -EBADMSG);
	assert_null(back);
	edsig_key_free(pub);
	edsig_key_free(k);
}

/* A P-256 key in a valid PEM is still refused: only Ed25519 is accepted. */
static void test_wrong_algorithm(void **state)
{
	struct edsig_key *back = NULL;
	char cmd[700];

	snprintf(cmd, sizeof(cmd),
		 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' "
		 "2>/dev/null && chmod 600 '%s'", path("ec.key"), path("ec.key"));
	if (system(cmd) != 0)
		skip();
	assert_int_equal(edsig_load_private(path("ec.key"), &back), -EBADMSG);
	assert_null(back);
}

static void test_hex(void **state)
{
	uint8_t in[3] = { 0x00, 0xAB, 0xff }, out[3] = { 9, 9, 9 };
	char s[7];

	assert_int_equal(edsig_hex(in, 3, s, sizeof(s)), 0);
	assert_string_equal(s, "00abff");
	assert_int_equal(edsig_hex(in, 3, s, 6), -EINVAL);
	assert_int_equal(edsig_unhex("00ABff", out, 3), 0);
	assert_memory_equal(out, in, 3);
	memset(out, 9, 3);
	assert_int_equal(edsig_unhex("00abf", out, 3), -EINVAL);
	assert_int_equal(edsig_unhex("00abfff", out, 3), -EINVAL);
	assert_int_equal(edsig_unhex("00abfg", out, 3), -EINVAL);
	assert_int_equal(edsig_unhex(" 0abff", out, 3), -EINVAL);
	assert_int_equal(out[0], 9); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vector),
		cmocka_unit_test(test_sign_verify_tamper),
		cmocka_unit_test(test_private_pem_roundtrip),
		cmocka_unit_test(test_private_key_permissions),
		cmocka_unit_test(test_public_pem_and_garbage),
		cmocka_unit_test(test_wrong_algorithm),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
