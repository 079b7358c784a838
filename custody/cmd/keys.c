/*
 * keys.c - `custody agency-keygen` and `custody agency-keyid`: the agency
 * ENCRYPTION key pairs evidence files are encrypted to (custody/agencykey.h).
 *
 *   custody [--config F] agency-keygen --type p256|p384|rsa3072
 *           --private FILE --public FILE
 *   custody agency-keyid FILE          (a public or a private key file)
 *
 * Neither touches evidence, so neither needs a ledger. When a ledger is
 * named (--config/--db) and writable, agency-keygen records a key_changed
 * event (details: type, key_id, public path) - the agency's own record
 * that a new recipient key exists; failing to record it is a warning.
 * The key id is the hex SHA-256 of the SubjectPublicKeyInfo DER, as in the
 * evidence files' recipient stanzas and `openssl pkey -pubout -outform DER
 * | sha256sum`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agencykey.h"
#include "cmd.h"

static const struct {
	const char *name;
	enum agencykey_type type;
} types[] = {
	{ "p256", AGENCYKEY_P256 },
	{ "p384", AGENCYKEY_P384 },
	{ "rsa3072", AGENCYKEY_RSA },
};

static void key_id_hex(const EVP_PKEY *k, char out[2 * AGENCYKEY_ID_LEN + 1])
{
	static const char d[] = "0123456789abcdef";
	uint8_t id[AGENCYKEY_ID_LEN];
	size_t i;

	out[0] = '\0';
	if (agencykey_id(k, id))
		return;
	for (i = 0; i < AGENCYKEY_ID_LEN; i++) {
		out[2 * i] = d[id[i] >> 4];
		out[2 * i + 1] = d[id[i] & 15];
	}
	out[2 * AGENCYKEY_ID_LEN] = '\0';
}

static int parse_keygen(int argc, char **argv, const char **type,
			const char **priv, const char **pub)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--type") ? type :
				   !strcmp(argv[i], "--private") ? priv :
				   !strcmp(argv[i], "--public") ? pub : NULL;
		if (!dst || i + 1 >= argc || !*argv[i + 1] || *dst) {
			cmd_err("agency-keygen: unexpected or incomplete argument '%s'",
				argv[i]);
			return -EINVAL;
		}
		*dst = argv[++i];
	}
	if (!*type || !*priv || !*pub) {
		cmd_err("usage: custody agency-keygen --type p256|p384|rsa3072 "
			"--private FILE --public FILE");
		return -EINVAL;
	}
	if (!strcmp(*priv, *pub)) {
		cmd_err("agency-keygen: --private and --public must differ");
		return -EINVAL;
	}
	return 0;
}

/* key_changed, when a writable ledger is named; a warning otherwise. */
static void record_keygen(struct cmd_ctx *ctx, const char *type,
			  const char *id, const char *pub)
{
	json_t *d;

	if (!ctx->db_path || access(ctx->db_path, W_OK) != 0)
		return;
	if (cmd_open_ledger(ctx, false) || ctx->read_only) {
		cmd_err("warning: the key_changed event was not recorded");
		return;
	}
	d = json_pack("{s:s, s:s, s:s}", "type", type, "key_id", id, "public", pub);
	if (cmd_audit(ctx, CUST_A_KEY_CHANGED, NULL, "agency-keygen", d))
		cmd_err("warning: the key_changed event was not recorded");
	json_decref(d);
}

int cmd_agency_keygen(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *type = NULL, *priv = NULL, *pub = NULL;
	char id[2 * AGENCYKEY_ID_LEN + 1];
	struct stat st;
	EVP_PKEY *k = NULL;
	size_t i;
	int r;

	if (parse_keygen(argc, argv, &type, &priv, &pub))
		return CMD_ERROR;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].name, type))
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		cmd_err("agency-keygen: --type must be p256, p384 or rsa3072");
		return CMD_ERROR;
	}
	/* Check both names first so a refusal leaves nothing half made. */
	if (lstat(priv, &st) == 0 || lstat(pub, &st) == 0) {
		cmd_err("agency-keygen: %s exists; refusing to overwrite a key",
			lstat(priv, &st) == 0 ? priv : pub);
		return CMD_ERROR;
	}
	if ((r = agencykey_generate(types[i].type, &k))) {
		cmd_err("agency-keygen: key generation failed: %s", strerror(-r));
		return CMD_ERROR;
	}
	if ((r = agencykey_save_private(priv, k))) {
		cmd_err("agency-keygen: %s: %s", priv, strerror(-r));
		goto fail;
	}
	if ((r = agencykey_save_public(pub, k))) {
		cmd_err("agency-keygen: %s: %s", pub, strerror(-r));
		unlink(priv);	/* ours, just made: no orphan private key */
		goto fail;
	}
	key_id_hex(k, id);
	EVP_PKEY_free(k);
	if (id[0])
		printf("key id %s\n", id);
	else
		cmd_err("agency-keygen: keys written, but the key id could not be "
			"computed (custody agency-keyid %s)", pub);
	fprintf(stderr, "custody: %s is the agency's PRIVATE key: keep it off every "
		"dock (offline, backed up at the agency); install only %s on docks "
		"([encryption] recipients).\n", priv, pub);
	record_keygen(ctx, type, id, pub);
	return CMD_OK;
fail:
	EVP_PKEY_free(k);
	return CMD_ERROR;
}

/* A PEM private key file (by its BEGIN line)? Only then is it loaded as
 * one, so a stray world-readable file is not blamed for its mode. */
static int looks_private(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, "-----BEGIN PRIVATE KEY-----") != NULL ||
	       strstr(buf, "-----BEGIN EC PRIVATE KEY-----") != NULL ||
	       strstr(buf, "-----BEGIN RSA PRIVATE KEY-----") != NULL;
}

int cmd_agency_keyid(struct cmd_ctx *ctx, int argc, char **argv)
{
	char id[2 * AGENCYKEY_ID_LEN + 1];
	EVP_PKEY *k = NULL;
	int r;

	(void)ctx;
	if (argc != 2 || argv[1][0] == '-') {
		cmd_err("usage: custody agency-keyid FILE   (public or private key)");
		return CMD_ERROR;
	}
	r = agencykey_load_public(argv[1], &k);
	if (r == -EPROTO && looks_private(argv[1]))
		r = agencykey_load_private(argv[1], &k);
	if (r == -EPERM)
		cmd_err("%s: a private key file must be a regular file readable by "
			"its owner only (chmod 600)", argv[1]);
	else if (r == -EPROTO)
		cmd_err("%s: not a PEM public or unencrypted private key", argv[1]);
	else if (r == -EPROTONOSUPPORT)
		cmd_err("%s: not an agency key (EC P-256, P-384 or RSA 3072-8192)", argv[1]);
	else if (r)
		cmd_err("%s: %s", argv[1], strerror(-r));
	if (r)
		return CMD_ERROR;
	key_id_hex(k, id);
	EVP_PKEY_free(k);
	if (!id[0]) {
		cmd_err("%s: cannot compute the key id", argv[1]);
		return CMD_ERROR;
	}
	printf("%s\n", id);
	return CMD_OK;
}
