/*
 * decrypt.h - state shared by decrypt.c (`custody decrypt`) and
 * decrypt_out.c (its output file: unnamed until verified). Internal to
 * the custody command.
 */
#ifndef CUSTODY_CMD_DECRYPT_H
#define CUSTODY_CMD_DECRYPT_H

#include <stdint.h>

#include <openssl/evp.h>

#include "agencykey.h"
#include "evfile.h"
#include "event.h"
#include "exprec.h"

struct cmd_ctx;

#define DEC_PATH_MAX 1024

struct dec_opts {
	const char *key, *reason, *out, *file, *id, *vault;
	const char *share;	/* --share FILE: the recipient's mode (share_dec.c) */
	int no_ledger;
	int no_ledger_asked;	/* --no-ledger given (not implied by --share): banner */
	struct exprec_opts rec;	/* where the access is recorded (exprec.h) */
};

struct dec_job {
	struct dec_opts o;
	EVP_PKEY *key;
	char key_id[2 * AGENCYKEY_ID_LEN + 1];
	char evid[CUST_EVIDENCE_MAX + 1];
	char agency[CUST_AGENCY_MAX + 1];
	char sha_ledger[65];
	char object_key[256];
	char in_path[DEC_PATH_MAX];
	int in_fd;
	struct evfile_reader *rd;
	struct evfile_info info;
	char out_path[DEC_PATH_MAX], tmp_path[DEC_PATH_MAX];
	int tmp_fd;
	char sha_hex[65];
	uint64_t n;
};

/* Shared with share.c / share_dec.c; each returns a CMD_* status and
 * names the problem on stderr. */
/* The private key o.key into key and key_id. */
int dec_load_key(struct dec_job *j);
/* The ledger's record of evid: agency, sha_ledger, object_key. */
int dec_lookup_record(struct cmd_ctx *ctx, struct dec_job *j);
/* in_path: the vault copy of evid, else the file:// storage copy. */
int dec_locate_file(struct cmd_ctx *ctx, struct dec_job *j);
/* in_fd: in_path opened read-only, a regular file. */
int dec_open_input(struct dec_job *j);

/* SIGINT/SIGTERM/SIGHUP remove a named temp file before dying (an
 * unnamed one needs nothing: the kernel frees it). */
void dec_install_signals(void);
/* The output's temp file in --out's directory: unnamed (O_TMPFILE), or on
 * filesystems without it a named hidden one, with a warning. Fills
 * out_path, tmp_fd, tmp_path ("" when unnamed). Returns a CMD_* status. */
int dec_make_temp(struct dec_job *j);
/* fsync, then name the temp file out_path, never replacing a file. */
int dec_commit_output(struct dec_job *j);
/* Drop the temp file (partial or unverified plaintext); idempotent. */
void dec_discard_temp(struct dec_job *j);

#endif /* CUSTODY_CMD_DECRYPT_H */
