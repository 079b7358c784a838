/* custp_int.h - the custodian process's parts (custp.c, custgate.c,
 * custckpt.c); not used by dockd. */
#ifndef DOCKD_CUSTP_INT_H
#define DOCKD_CUSTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "merkle.h"
#include "publish.h"

/* The receipt gate: 0 when the ledger (the item's events replayed with
 * cust_evstate_apply) shows serial/rid with exactly sha256 in the state
 * the release policy demands ("verified"; with local also "stored",
 * "uploading", "uploaded"); -EPERM with the reason in why; other -errno:
 * the ledger could not be read. */
int custgate_check(struct cust_ledger *l, const char *serial, const char *rid,
		   const uint8_t sha256[32], bool local, char *why, size_t whylen);

/* The last tree the custodian signed, kept in its state file. */
struct custckpt {
	int fd;            /* <state_dir>/custodian.state, open read-write */
	uint64_t gen;      /* write generation (the newer of two slots) */
	bool have;         /* a tree was signed (else: first start) */
	bool checked;      /* this process read every event once already */
	struct merkle_frontier f;
};

/* Open (creating, 0600) and read the state file at path. */
int custckpt_open(const char *path, struct custckpt *st, char *err, size_t errlen);
void custckpt_close(struct custckpt *st);

/* Compute the tree head from l (one read transaction: at the first call
 * of the process every event, then those after st's tree), check it
 * extends st's tree, sign it with s and save the new tree in st before
 * returning. *note (malloc'd, NUL-terminated) and *len, *size. -ENODATA
 * for an empty ledger, -EPERM with why when the ledger is not an
 * extension of the last signed tree (nothing signed), other -errno. */
int custckpt_sign(struct custckpt *st, struct cust_ledger *l, const struct cust_signer *s,
		  uint64_t *size, char **note, size_t *len, char *why, size_t whylen);

#endif
