/* config_fixity.c - the [fixity] section of dockd's configuration: the
 * scheduled re-verification of stored copies (dockd/fixity.h; keys in
 * docs/dockd-config.md).
 *
 *   [fixity]
 *   interval_s = 86400          between audits; 0 = no scheduled audit
 *   items_per_run = 1000        items checked per audit (oldest check first)
 *   bytes_per_s = 52428800      read rate over the run; 0 = unlimited
 *   max_pause_s = 3600          a run waits for ingest to stop at most this
 *                               long in all (0 = never waits) ...
 *   busy_bytes_per_s = 4194304  ... then reads at this rate while ingest runs
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

void dcfg_fixity_defaults(struct dock_config *c)
{
	c->fixity_interval_s = 86400;
	c->fixity_items = 1000;
	c->fixity_bytes_per_s = 50ull << 20;
	c->fixity_max_pause_s = 3600;
	c->fixity_busy_bytes_per_s = 4ull << 20;
}

/* bytes per second, or "N MiB"; 0 only where zero_ok (= unlimited) */
static int parse_rate(const char *v, bool zero_ok, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);

	if (end != v && v[0] != '-' && !strcmp(end, " MiB") && n >= 1 && n <= 1000000) {
		*out = n << 20;
		return 0;
	}
	if (end == v || *end || v[0] == '-' || (n && n < 65536) || (!n && !zero_ok) ||
	    n > (1ull << 40))
		return -EINVAL;
	*out = n;
	return 0;
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
		*why = "must be bytes per second (0 = unlimited, at least 65536), or N MiB";
		return parse_rate(v, true, &c->fixity_bytes_per_s);
	}
	if (!strcmp(k, "max_pause_s")) {
		*why = "must be 0 (never wait for ingest) or 1..604800 seconds";
		return dcfg_parse_u32(v, 0, 604800, &c->fixity_max_pause_s);
	}
	if (!strcmp(k, "busy_bytes_per_s")) {
		*why = "must be bytes per second (at least 65536), or N MiB";
		return parse_rate(v, false, &c->fixity_busy_bytes_per_s);
	}
	*why = "unknown key";
	return -ENOKEY;
}
