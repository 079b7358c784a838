/*
 * ledger_rewrite.c - the dock's root rewriting history, for the
 * root-attacker test (tests/integration/custody_root_attack.sh).
 *
 *   ledger_rewrite OLD.db NEW.db KEY.pem ORIGIN EXTDIR SEQ [drop|rewrite]
 *
 * Builds NEW.db from OLD.db's events without event SEQ (drop: every
 * other event byte-identical in its fields, renumbered; rewrite: SEQ
 * becomes a harmless ledger_verified of the same time, so every size
 * stays what it was), recomputing
 * every leaf, the tree and the frontier through the ledger's own code,
 * and signs a checkpoint with KEY.pem under ORIGIN at every size where
 * OLD.db had one (shifted by the dropped event), publishing them to
 * EXTDIR: a ledger that is internally perfect, signed by whatever key
 * root holds. Prints the number of checkpoints written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ledger.h"
#include "publish.h"

int main(int argc, char **argv)
{
	struct cust_ledger *old = NULL, *nw = NULL;
	struct cust_signer s;
	struct cust_config cfg;
	sqlite3_stmt *st;
	int rewrite;
	uint64_t n = 0, drop, sizes[4096], n_sizes = 0, k = 0, written = 0;
	char err[512];
	int r;

	if (argc != 7 && argc != 8) {
		fputs("usage: ledger_rewrite OLD NEW KEY ORIGIN EXTDIR SEQ [drop|rewrite]\n", stderr);
		return 2;
	}
	drop = strtoull(argv[6], NULL, 10);
	rewrite = argc == 8 && !strcmp(argv[7], "rewrite");
	cust_config_init(&cfg);
	snprintf(cfg.checkpoint_key, sizeof(cfg.checkpoint_key), "%s", argv[3]);
	snprintf(cfg.checkpoint_origin, sizeof(cfg.checkpoint_origin), "%s", argv[4]);
	snprintf(cfg.external_checkpoint_dir, sizeof(cfg.external_checkpoint_dir), "%s", argv[5]);
	if (cust_signer_load(&cfg, &s, err, sizeof(err)) ||
	    cust_ledger_open(argv[1], CUST_LEDGER_RDONLY, &old, err, sizeof(err)) ||
	    cust_ledger_open(argv[2], CUST_LEDGER_CREATE, &nw, err, sizeof(err))) {
		fprintf(stderr, "ledger_rewrite: %s\n", err);
		return 1;
	}
	if (sqlite3_prepare_v2(cust_ledger_db(old), "SELECT size FROM checkpoints ORDER BY size",
			       -1, &st, NULL) != SQLITE_OK)
		return 1;
	while (sqlite3_step(st) == SQLITE_ROW && n_sizes < 4096) {
		uint64_t z = (uint64_t)sqlite3_column_int64(st, 0);
		sizes[n_sizes++] = z >= drop && !rewrite ? z - 1 : z;
	}
	sqlite3_finalize(st);
	cust_ledger_size(old, &n);
	for (uint64_t seq = 1; seq <= n; seq++) {
		struct cust_event ev;
		uint64_t size;

		if (seq == drop && !rewrite)
			continue;
		if ((r = cust_ledger_get(old, seq, &ev)))
			goto bad;
		if (seq == drop) {
			ev.action = CUST_A_LEDGER_VERIFIED;
			ev.evidence_id[0] = ev.reason[0] = ev.case_no[0] = '\0';
			snprintf(ev.details, sizeof(ev.details), "{}");
		}
		ev.seq = 0;
		if ((r = cust_ledger_append(nw, &ev))) {
bad:
			fprintf(stderr, "ledger_rewrite: event %llu: %s\n", (unsigned long long)seq,
				strerror(-r));
			return 1;
		}
		cust_ledger_size(nw, &size);
		while (k < n_sizes && sizes[k] < size)
			k++;
		if (k < n_sizes && sizes[k] == size) {
			if (cust_checkpoint_write(nw, &s, NULL, err, sizeof(err))) {
				fprintf(stderr, "ledger_rewrite: %s\n", err);
				return 1;
			}
			written++;
		}
	}
	printf("%llu\n", (unsigned long long)written);
	cust_signer_free(&s);
	cust_ledger_close(old);
	cust_ledger_close(nw);
	return 0;
}
