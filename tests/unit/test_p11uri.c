/* test_p11uri.c - PKCS#11 URIs that name token keys (custody/p11key.h):
 * the accepted subset of RFC 7512, percent-decoding, and the refusals
 * (missing, repeated, unknown or PIN-carrying attributes, relative paths,
 * bad escapes, over-long values); the PIN file (first line, mode 0600);
 * the external-signer hook of edkey and edsig (signature checked by
 * OpenSSL, private half never written to a file). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edkey.h"
#include "edsig.h"
#include "p11key_int.h"

#define MOD "?module-path=/usr/lib/x.so&pin-source=file:/etc/pin"

static int parse(const char *uri, struct p11uri *u)
{
	char err[300] = "";
	int r = p11uri_parse(uri, u, err, sizeof(err));

	if (r < 0)
		assert_true(err[0] != '\0');	/* every refusal says why */
	return r;
}

static void test_accepted(void **state)
{
	struct p11uri u;

	assert_int_equal(parse("pkcs11:token=dock;object=dock-key" MOD, &u), 0);
	assert_string_equal(u.token, "dock");
	assert_string_equal(u.object, "dock-key");
	assert_string_equal(u.module, "/usr/lib/x.so");
	assert_string_equal(u.pin_file, "/etc/pin");
	/* order free, type allowed, pin-source without file:, %-escapes */
	assert_int_equal(parse("pkcs11:object=my%20key;type=private;token=Dock%3bA"
			       "?pin-source=/p&module-path=/m.so", &u), 0);
	assert_string_equal(u.object, "my key");
	assert_string_equal(u.token, "Dock;A");
	assert_string_equal(u.pin_file, "/p");
	assert_string_equal(u.module, "/m.so");
	assert_int_equal(p11key_is_uri("pkcs11:x"), 1);
	assert_int_equal(p11key_is_uri("/var/lib/dock.key"), 0);
	assert_int_equal(p11key_is_uri(NULL), 0);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"/var/lib/dock.key",
		"pkcs11:",
		"pkcs11:object=k" MOD,					/* no token */
		"pkcs11:token=t" MOD,					/* no object */
		"pkcs11:token=t;object=k?pin-source=file:/p",		/* no module */
		"pkcs11:token=t;object=k?module-path=/m.so",		/* no PIN source */
		"pkcs11:token=t;object=k;pin-value=1234" MOD,		/* PIN in config */
		"pkcs11:token=t;object=k" MOD "&pin-value=1234",
		"pkcs11:token=t;object=k;id=%01" MOD,			/* unsupported */
		"pkcs11:token=t;object=k;object=j" MOD,			/* repeated */
		"pkcs11:token=t;object=k;type=secret-key" MOD,
		"pkcs11:token=t;object=k?module-path=x.so&pin-source=file:/p", /* relative */
		"pkcs11:token=t;object=k?module-path=/m.so&pin-source=file:p",
		"pkcs11:token=t;object=k%" MOD,				/* bad escapes */
		"pkcs11:token=t;object=k%4" MOD,
		"pkcs11:token=t;object=k%zz" MOD,
		"pkcs11:token=t;object=k%00x" MOD,			/* NUL */
		"pkcs11:token=;object=k" MOD,				/* empty */
		"pkcs11:token=t;object" MOD,				/* no '=' */
		"pkcs11:token=t;module-path=/m.so;object=k?pin-source=/p", /* query in path */
		"pkcs11:token=t;object=k?module-path=/m.so&token=u&pin-source=/p",
		"pkcs11:token=123456789012345678901234567890123;object=k" MOD, /* 33 bytes */
	};
	struct p11uri u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&u, 0x5a, sizeof(u));
		if (parse(bad[i], &u) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(u.token[0], 0x5a);	/* out untouched */
	}
}

static void test_long_uri(void **state)
{
	char uri[P11_URI_MAX + 128];
	struct p11uri u;

	snprintf(uri, sizeof(uri), "pkcs11:token=t;object=%0*d" MOD, P11_URI_MAX, 7);
	assert_int_equal(parse(uri, &u), -EINVAL);
	snprintf(uri, sizeof(uri), "pkcs11:token=t;object=%0*d" MOD, P11_LABEL_MAX + 1, 7);
	assert_int_equal(parse(uri, &u), -EINVAL);
	snprintf(uri, sizeof(uri), "pkcs11:token=t;object=%0*d" MOD, P11_LABEL_MAX, 7);
	assert_int_equal(parse(uri, &u), 0);
}

static void test_pin_file(void **state)
{
	char path[] = "/tmp/p11pin.XXXXXX", pin[P11_PIN_MAX + 1], err[300], big[P11_PIN_MAX + 2];
	struct p11uri u;
	size_t len = 0;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	memset(&u, 0, sizeof(u));
	snprintf(u.pin_file, sizeof(u.pin_file), "%s", path);
	f = fopen(path, "w");
	fputs("1234\nsecond line\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(p11uri_read_pin(&u, pin, &len, err, sizeof(err)), 0);
	assert_string_equal(pin, "1234");
	assert_int_equal(len, 4);
	chmod(path, 0640);
	assert_int_equal(p11uri_read_pin(&u, pin, &len, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	chmod(path, 0600);
	f = fopen(path, "w");
	fputs("\n", f);
	fclose(f);
	assert_int_equal(p11uri_read_pin(&u, pin, &len, err, sizeof(err)), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f = fopen(path, "w");
	fputs(big, f);
	fclose(f);
	assert_int_equal(p11uri_read_pin(&u, pin, &len, err, sizeof(err)), -EINVAL);
	unlink(path);
	assert_int_equal(p11uri_read_pin(&u, pin, &len, err, sizeof(err)), -ENOENT);
}

/* A stand-in "token": a real OpenSSL key behind the external-signer hook. */
static int released;
static int sign_edkey(void *ctx, const void *msg, size_t len, uint8_t sig[EDKEY_SIG_LEN])
{
	return edkey_sign(ctx, msg, len, sig);
}
static void release_edkey(void *ctx)
{
	released++;
	edkey_free(ctx);
}
static int sign_edsig(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[EDSIG_SIG_LEN])
{
	return edsig_sign(ctx, msg, len, sig);
}
static void release_edsig(void *ctx)
{
	released++;
	edsig_key_free(ctx);
}

static void test_external_signer(void **state)
{
	struct edkey *inner = NULL, *k = NULL;
	struct edsig_key *sinner = NULL, *sk = NULL;
	uint8_t pub[32], sig[64];
	static const char msg[] = "release receipt";

	released = 0;
	assert_int_equal(edkey_generate(&inner), 0);
	assert_int_equal(edkey_public_raw(inner, pub), 0);
	assert_int_equal(edkey_from_signer(pub, sign_edkey, release_edkey, inner, &k), 0);
	assert_int_equal(edkey_has_private(k), 1);
	assert_int_equal(edkey_sign(k, msg, sizeof(msg), sig), 0);
	assert_int_equal(edkey_verify_raw(pub, msg, sizeof(msg), sig), 0);
	assert_int_equal(edkey_save_private(k, "/tmp/never-written.key"), -ENOKEY);
	assert_int_equal(access("/tmp/never-written.key", F_OK), -1);
	edkey_free(k);
	assert_int_equal(released, 1);

	assert_int_equal(edsig_generate(&sinner), 0);
	assert_int_equal(edsig_public_raw(sinner, pub), 0);
	assert_int_equal(edsig_from_signer(pub, sign_edsig, release_edsig, sinner, &sk), 0);
	assert_true(edsig_has_private(sk));
	assert_ptr_equal(edsig_signer_ctx(sk), sinner);
	assert_int_equal(edsig_sign(sk, (const uint8_t *)msg, sizeof(msg), sig), 0);
	assert_int_equal(edsig_verify_raw(pub, (const uint8_t *)msg, sizeof(msg), sig), 0);
	assert_int_equal(edsig_save_private(sk, "/tmp/never-written.key"), -EINVAL);
	assert_int_equal(access("/tmp/never-written.key", F_OK), -1);
	edsig_key_free(sk);
	assert_int_equal(released, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_uri),
		cmocka_unit_test(test_pin_file),
		cmocka_unit_test(test_external_signer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
