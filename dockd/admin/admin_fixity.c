/* admin_fixity.c - `dockd --config FILE fixity [--items N] [--bytes-per-s N]
 * [--json]`: run one fixity audit now (fixity.h), beside a running daemon
 * or without one, with the [fixity] limits unless overridden. Damaged
 * copies raise the configured alert and are repaired as the scheduled
 * audit does. Exit 0 when every copy checked is intact (or was repaired),
 * 1 when a copy stays damaged or could not be read, 2 usage. It runs at
 * the lifecycle jobs' priority (lcprio.h) but, being another process,
 * cannot see a running dockd's ingest: it does not pause for it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "admin_int.h"
#include "alert.h"
#include "fixity.h"
#include "lcprio.h"

static void a_alert(void *arg, const char *target, const char *msg)
{
	struct admin_env *e = arg;
	struct alert_config ac = { .command = e->dc.alert_command, .timeout_ms = 0 };
	struct alert a = { .kind = "fixity", .uid = -1, .agency = e->dc.agency_id,
			   .op = "dockd fixity", .target = target, .detail = msg };

	fprintf(stderr, "dockd fixity: ALERT %s: %s\n", target, msg);
	if (e->dc.alert_command[0])
		(void)alert_raise(&ac, &a);
}

static int usage(void)
{
	fputs("usage: dockd --config FILE fixity [--items N] [--bytes-per-s N] [--json]\n", stderr);
	return ADMIN_USAGE;
}

int admin_fixity(const char *config, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "items", required_argument, NULL, 'i' }, { "bytes-per-s", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },	   { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	long long items = -1, rate = -1;
	struct fixity_stats st = { 0 };
	struct store_target *store = NULL;
	struct admin_env e;
	char err[512], reason[CUST_ACTOR_ID_MAX + 64];
	int c, r, json = 0;
	char *end;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j') {
			json = 1;
		} else if (c == 'i' || c == 'b') {
			long long v = strtoll(optarg, &end, 10);
			if (*end || v < (c == 'i' ? 1 : 0) || v > (c == 'i' ? 1000000 : (1ll << 40)))
				return usage();
			*(c == 'i' ? &items : &rate) = v;
		} else {
			return usage();
		}
	}
	if (optind < argc)
		return usage();
	if ((r = admin_open(&e, "fixity", config, true)) != ADMIN_OK)
		return r;
	/* s3://: through a storage uploader process of its own, as the daemon
	 * (store.h): this process, which writes the ledger, never loads the
	 * S3 credentials */
	if (e.dc.storage_target[0] &&
	    (r = store_open_split(&e.dc, NULL, NULL, NULL, &store, err, sizeof(err))) < 0) {
		admin_err("fixity", "%s (vault copies only)", err);
		store = NULL;
	}
	snprintf(reason, sizeof(reason), "fixity audit run by %s", e.actor);
	struct fixity_env env = {
		.l = e.l, .agency = e.dc.agency_id, .actor_id = e.dc.dock_id, .reason = reason,
		.store = store, .state_dir = e.dc.state_dir,
		.items = items > 0 ? (uint32_t)items : e.dc.fixity_items,
		.bytes_per_s = rate >= 0 ? (uint64_t)rate : e.dc.fixity_bytes_per_s,
		.alert = a_alert, .alert_arg = &e,
	};
	lcprio_background("dockd fixity");	/* below a running dockd's ingest */
	r = fixity_run(&env, &st);
	store_close(store);
	admin_close(&e);
	if (r < 0) {
		admin_err("fixity", "audit stopped: %s", strerror(-r));
		return ADMIN_FAIL;
	}
	if (json) {
		json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "items", (json_int_t)st.items,
				      "copies", (json_int_t)st.copies, "ok", (json_int_t)st.ok,
				      "damaged", (json_int_t)st.failed, "unreadable", (json_int_t)st.errors,
				      "repaired", (json_int_t)st.repaired,
				      "unrepaired", (json_int_t)st.unrepaired, "bytes", (json_int_t)st.bytes);
		if (o && json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
			fputc('\n', stdout);
		json_decref(o);
	} else {
		printf("fixity: %u item(s), %u copies: %u intact, %u damaged, %u unreadable; "
		       "%u repaired, %u not repaired; %llu bytes read\n", st.items, st.copies, st.ok,
		       st.failed, st.errors, st.repaired, st.unrepaired, (unsigned long long)st.bytes);
	}
	return st.unrepaired || st.errors ? ADMIN_FAIL : ADMIN_OK;
}
