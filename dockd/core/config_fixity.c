/* config_fixity.c - the [fixity] section of dockd's configuration: the
 * scheduled re-verification of stored copies (dockd/fixity.h; keys in
 * docs/dockd-config.md).
 *
 *   [fixity]
 *   interval_s = 86400          between audits; 0 = no scheduled audit
 *   items_per_run = 1000        items checked per audit (oldest check first)
 *   bytes_per_s = 52428800      read rate over the run; 0 = unlimited
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

void dcfg_fixity_defaults(struct dock_config *c)
{
	c->fixity_interval_s = 86400;
	c->fixity_items = 1000;
	c->fixity_bytes_per_s = 50ull << 20;
}

int dcfg_fixity_key(struct dock_config *c, const char *k, const char *v,
		    const char **why)
{
	if (!strcmp(k, "interval_s")) {
		*why = "must be 0 (off) or 1..31536000 seconds";
		return dcfg_parse_u32(v, 0, 31536000, &c->fixity_interval_s);
	}
	if (!strcmp(k, "items_per_run")) {
		*why = "must be 1..1000000";
		return dcfg_parse_u32(v, 1, 1000000, &c->fixity_items);
	}
	if (!strcmp(k, "bytes_per_s")) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		*why = "must be bytes per second (0 = unlimited, at least 65536), or N MiB";
		if (end != v && v[0] != '-' && !strcmp(end, " MiB") && n >= 1 && n <= 1000000) {
			c->fixity_bytes_per_s = n << 20;
			return 0;
		}
		if (end == v || *end || v[0] == '-' || (n && n < 65536) || n > (1ull << 40))
			return -EINVAL;
		c->fixity_bytes_per_s = n;
		return 0;
	}
	*why = "unknown key";
	return -ENOKEY;
}
