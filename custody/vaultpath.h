/*
 * vaultpath.h - where a stored evidence file lives, for `custody decrypt`.
 *
 * The dock names things (docs/dockd.md, "Identities and names"):
 *   evidence id   "<camera serial>/<recording id>"
 *   vault file    <vault_dir>/<agency>/<serial>/<recording id>.bcde
 *   storage copy  <storage dir>/<object key>   (file:// targets only)
 * The directories come from the shared INI file's [dock] and [storage]
 * sections, which dockd owns and validates (dockd/core/config.c). The custody
 * config parser ignores them; this module reads just these three keys
 * (everything else is skipped, nothing is validated beyond what a path
 * needs), with dockd's defaults:
 *   [dock] state_dir = /var/lib/evidence-dock
 *   [dock] vault_dir = <state_dir>/vault
 *   [storage] target = file:///DIR  ->  storage_dir DIR ("" if unset)
 *
 * Names from the ledger or a file header are checked before they become
 * path parts: no '/', not empty, not "." or "..", printable ASCII.
 *
 * Returns 0 or a negative errno; out-parameters untouched on failure.
 */
#ifndef CUSTODY_VAULTPATH_H
#define CUSTODY_VAULTPATH_H

#include <stddef.h>

#define CUST_VAULT_PATH_MAX 512
#define CUST_VAULT_DEFAULT_STATE_DIR "/var/lib/evidence-dock"

struct cust_vaultcfg {
	char state_dir[CUST_VAULT_PATH_MAX];
	char vault_dir[CUST_VAULT_PATH_MAX];
	char storage_dir[CUST_VAULT_PATH_MAX];	/* "" = not a file:// target */
};

/* Defaults (no file). */
void cust_vaultcfg_init(struct cust_vaultcfg *c);

/* Read [dock] state_dir / vault_dir and [storage] target from the INI
 * file at path over the defaults. On failure a one-line message naming
 * the file (and line) goes to err: -ENOENT/-EACCES (file), -EFBIG (not a
 * regular file of at most 64 KiB), -EINVAL (syntax, or a path too long). */
int cust_vaultcfg_load(const char *path, struct cust_vaultcfg *c, char *err,
		       size_t errlen);

/* 1 if s may be used as one path component (see above), else 0. */
int cust_vault_name_ok(const char *s);

/* Split "<serial>/<recording>" at its only '/'; both parts must pass
 * cust_vault_name_ok(). -EINVAL otherwise, -ENAMETOOLONG if a part does
 * not fit its buffer. */
int cust_vault_split_id(const char *evidence_id, char *serial, size_t scap,
			char *recording, size_t rcap);

/* <vault_dir>/<agency>/<serial>/<recording>.bcde into buf. */
int cust_vault_file(const struct cust_vaultcfg *c, const char *agency,
		    const char *evidence_id, char *buf, size_t cap);

/* <storage_dir>/<object_key> into buf (-ENOENT if no file:// target).
 * object_key is a relative path of name_ok components joined by '/'. */
int cust_vault_storage_file(const struct cust_vaultcfg *c,
			    const char *object_key, char *buf, size_t cap);

#endif /* CUSTODY_VAULTPATH_H */
