/* config_vault.c - the [vault] section of dockd's configuration: when a
 * local vault copy may be purged and how much space the vault and the
 * state directory keep free (dockd/purge.h, dockd/space.h; keys in
 * docs/dockd-config.md, the model in docs/operations.md "Vault space").
 *
 *   [vault]
 *   keep = 30d                 default local keep window ("indefinite": never by age)
 *   keep.homicide = indefinite per category, matched case-insensitively
 *   low_free = 10%             below this much free: purge oldest verified first ...
 *   high_free = 20%            ... until this much is free (N% or N MiB)
 *   keep_held_local = true     an item under legal hold is never purged
 *   purge_interval_s = 600     how often the keep-window pass runs
 *   state_min_free_mb = 256    state_dir (the ledger) below this: pulling pauses
 *   purge_max_defer_s = 3600   keep-window passes wait for ingest at most this
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

void dcfg_vault_defaults(struct dock_config *c)
{
	c->keep_days = 30;
	c->n_keep = 0;
	c->purge_low = (struct dock_free_mark){ 10, true };
	c->purge_high = (struct dock_free_mark){ 20, true };
	c->keep_held_local = true;
	c->purge_interval_s = 600;
	c->state_min_free_mb = 256;
	c->purge_max_defer_s = 3600;
}

/* "N%" (0-99) or "N" MiB (0-1048576). */
static int parse_mark(const char *v, struct dock_free_mark *out)
{
	size_t n = strlen(v);
	uint32_t x;
	char buf[16];

	if (n && v[n - 1] == '%') {
		if (n - 1 == 0 || n - 1 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, v, n - 1);
		buf[n - 1] = '\0';
		if (dcfg_parse_u32(buf, 0, 99, &x) < 0)
			return -EINVAL;
		*out = (struct dock_free_mark){ x, true };
		return 0;
	}
	if (dcfg_parse_u32(v, 0, 1048576, &x) < 0)
		return -EINVAL;
	*out = (struct dock_free_mark){ x, false };
	return 0;
}

static int set_keep(struct dock_config *c, const char *cat, const char *v, const char **why)
{
	int32_t days;

	*why = "must be a duration such as 7d, 6m, 1y, or 'indefinite'";
	if (dcfg_parse_duration_days(v, &days) < 0)
		return -EINVAL;
	if (!cat) {
		c->keep_days = days;
		return 0;
	}
	*why = "category name empty or too long (at most 128 bytes)";
	if (!*cat)
		return -EINVAL;
	for (size_t i = 0; i < c->n_keep; i++)
		if (!strcasecmp(c->keep[i].category, cat)) {
			/* Homicide and homicide are one category: a second
			 * line would silently win or lose. */
			*why = "this category already has a keep window (names match case-insensitively)";
			return -EINVAL;
		}
	*why = "too many categories (at most 32)";
	if (c->n_keep >= DOCK_CONFIG_MAX_CATEGORIES)
		return -E2BIG;
	if (dcfg_copy_str(c->keep[c->n_keep].category, sizeof(c->keep[0].category), cat) < 0)
		return -ENAMETOOLONG;
	c->keep[c->n_keep++].days = days;
	return 0;
}

int dcfg_vault_key(struct dock_config *c, const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "keep"))
		return set_keep(c, NULL, v, why);
	if (!strncmp(k, "keep.", 5))
		return set_keep(c, k + 5, v, why);
	if (!strcmp(k, "low_free") || !strcmp(k, "high_free")) {
		*why = "must be a percentage of the filesystem (0%-99%) or MiB (0-1048576)";
		return parse_mark(v, k[0] == 'l' ? &c->purge_low : &c->purge_high);
	}
	if (!strcmp(k, "keep_held_local")) {
		*why = "must be true or false";
		return dcfg_parse_bool(v, &c->keep_held_local);
	}
	if (!strcmp(k, "purge_interval_s")) {
		*why = "must be between 1 and 86400 seconds";
		return dcfg_parse_u32(v, 1, 86400, &c->purge_interval_s);
	}
	if (!strcmp(k, "state_min_free_mb")) {
		*why = "must be between 0 and 1048576 MiB";
		return dcfg_parse_u32(v, 0, 1048576, &c->state_min_free_mb);
	}
	if (!strcmp(k, "purge_max_defer_s")) {
		*why = "must be between 0 (never wait for ingest) and 604800 seconds";
		return dcfg_parse_u32(v, 0, 604800, &c->purge_max_defer_s);
	}
	*why = "unknown key";
	return -ENOKEY;
}

int dcfg_vault_check(const struct dock_config *c, char *err, size_t errlen)
{
	/* Compared on a nominal filesystem when the units differ would be a
	 * guess: both must use the same unit. */
	if (c->purge_low.percent != c->purge_high.percent) {
		snprintf(err, errlen, "%s: [vault] low_free and high_free: use the same unit"
			 " (both %% or both MiB)", c->path);
		return -EINVAL;
	}
	if (c->purge_high.value < c->purge_low.value) {
		snprintf(err, errlen, "%s: [vault] high_free: must be at least low_free", c->path);
		return -EINVAL;
	}
	return 0;
}

int32_t dock_config_keep_days(const struct dock_config *c, const char *category)
{
	for (size_t i = 0; i < c->n_keep; i++)
		if (!strcasecmp(c->keep[i].category, category))
			return c->keep[i].days;
	return c->keep_days;
}

uint64_t dock_config_mark_bytes(const struct dock_free_mark *m, uint64_t fs_bytes)
{
	if (m->percent)
		return fs_bytes / 100 * m->value;
	return (uint64_t)m->value << 20;
}
