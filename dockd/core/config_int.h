/* config_int.h - shared between config.c ([dock], [encryption],
 * [retention], the file) and config_storage.c ([storage], [s3]). Not an
 * API for other modules: use config.h. */
#ifndef DOCKD_CONFIG_INT_H
#define DOCKD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* -ENAMETOOLONG when v does not fit cap (NUL included). */
int dcfg_copy_str(char *dst, size_t cap, const char *v);
/* true/false, yes/no, on/off, 1/0. */
int dcfg_parse_bool(const char *v, bool *out);
/* Decimal in [min, max]. */
int dcfg_parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out);
/* Comma list, items trimmed of blanks; an empty item is -EINVAL. */
int dcfg_for_each_item(const char *v, int (*fn)(void *, const char *, size_t), void *arg);

/* [storage] and [s3] defaults (after the struct was zeroed). */
void dcfg_storage_defaults(struct dock_config *c);
/* One key of [storage] or [s3]: 0, -ENOKEY (unknown; *why set) or another
 * -errno with *why naming the problem. */
int dcfg_storage_key(struct dock_config *c, const char *section, const char *k,
		     const char *v, const char **why);
/* Rules spanning keys (s3:// needs endpoint and credentials_file; [s3]
 * only with an s3:// target). text: the file, to name the [s3] line. */
int dcfg_storage_check(const struct dock_config *c, const char *text, char *err,
		       size_t errlen);

/* [witness]: defaults, and one key (-ENOKEY unknown, *why set). */
void dcfg_witness_defaults(struct dock_config *c);
int dcfg_witness_key(struct dock_config *c, const char *k, const char *v,
		     const char **why);

/* [fixity] (config_fixity.c; docs/dockd-config.md): defaults, one key. */
void dcfg_fixity_defaults(struct dock_config *c);
int dcfg_fixity_key(struct dock_config *c, const char *k, const char *v,
		    const char **why);
/* [vault] (config_vault.c): defaults, one key, and the low <= high rule. */
void dcfg_vault_defaults(struct dock_config *c);
int dcfg_vault_key(struct dock_config *c, const char *k, const char *v, const char **why);
int dcfg_vault_check(const struct dock_config *c, char *err, size_t errlen);
/* "90d", "6m", "2y", "indefinite" (-1) -> days (config.c). */
int dcfg_parse_duration_days(const char *v, int32_t *out);

/* [profile NAME] (config_profile.c): defaults (the built-in profile), one
 * key, and the check that each profile is complete. */
void dcfg_profile_defaults(struct dock_config *c);
int dcfg_profile_key(struct dock_config *c, const char *name, const char *k, const char *v,
		     const char **why);
int dcfg_profile_check(const struct dock_config *c, char *err, size_t errlen);

#endif
