/*
 * config.h - the custody library's part of the shared INI file (the same
 * file dockd reads; `custody --config FILE`). This module owns the
 * [ledger] section only and ignores every other section.
 *
 *   [ledger]
 *   path = /var/lib/evidence-dock/custody.db        (required)
 *   agency_id = pd-example                          (required)
 *   checkpoint_key = /etc/evidence-dock/ckpt.key    Ed25519 PKCS#8 PEM, 0600
 *   checkpoint_pub = /etc/evidence-dock/ckpt.vkey   vkey lines (trusted keys)
 *   checkpoint_origin = evidence-dock.example/pd-example
 *   external_checkpoint_dir = /mnt/anchor/checkpoints
 *   checkpoint_interval_s = 10                      0 = only per session
 *   custody_cert = /etc/evidence-dock/custody.cert  agency-signed custody-cert/v1
 *   witness_policy = /etc/evidence-dock/witnesses.note  agency-signed witnesses/v1
 *   agency_vkey = /etc/evidence-dock/agency.vkey    the agency's vkey, for the
 *                 dock's own start-up check of those two (docs/trust.md);
 *                 auditors never trust this copy
 *
 * An unknown key in [ledger], a duplicate key, a bad value, or a line too
 * long is an error "FILE:LINE: [ledger] KEY: problem"; the whole file is
 * then rejected. Defaults: checkpoint_interval_s 10, other keys "".
 */
#ifndef CUSTODY_CONFIG_H
#define CUSTODY_CONFIG_H

#include <stdint.h>
#include <stddef.h>

#define CUST_CONFIG_PATH_MAX 512

struct cust_config {
	char file[CUST_CONFIG_PATH_MAX];	/* where it came from, or "" */
	char ledger_path[CUST_CONFIG_PATH_MAX];
	char agency_id[65];
	char checkpoint_key[CUST_CONFIG_PATH_MAX];
	char checkpoint_pub[CUST_CONFIG_PATH_MAX];
	char checkpoint_origin[256];
	char external_checkpoint_dir[CUST_CONFIG_PATH_MAX];
	uint32_t checkpoint_interval_s;
	char custody_cert[CUST_CONFIG_PATH_MAX];
	char witness_policy[CUST_CONFIG_PATH_MAX];
	char agency_vkey[CUST_CONFIG_PATH_MAX];
};

/* Defaults (all empty, interval 10). */
void cust_config_init(struct cust_config *c);
/* Load path into c (initialised first). On error a message naming file,
 * line and key goes to err; returns -EINVAL (bad content), -ENOENT /
 * -EACCES (file), -EFBIG (over 64 KiB). */
int cust_config_load(const char *path, struct cust_config *c, char *err,
		     size_t errlen);

#endif /* CUSTODY_CONFIG_H */
