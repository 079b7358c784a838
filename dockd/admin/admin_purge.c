/* admin_purge.c - `dockd --config FILE purge --dry-run`: the vault copies
 * dockd's purge worker would remove if it ran now (purge.h), read-only.
 * One line per copy:
 *     <evidence id> <vault-relative path> <bytes> <keep_window|low_space> <verified location>
 * lines starting with '#' name copies that are damaged or missing, and a
 * summary ends the list. Purging itself is only ever done by dockd (the
 * worker records local_purged before it unlinks): without --dry-run the
 * command refuses. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "admin_int.h"
#include "daemon.h"
#include "ledgerw.h"
#include "purge.h"

static int usage(void)
{
	fputs("usage: dockd --config FILE purge --dry-run\n"
	      "  lists the vault copies dockd would purge now (dockd purges them itself)\n",
	      stderr);
	return ADMIN_USAGE;
}

int admin_purge(const char *config, int argc, char **argv)
{
	static const struct option opts[] = { { "dry-run", no_argument, NULL, 'n' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct admin_env e;
	struct dockd *d = NULL;
	struct dock_snap *snap = NULL;
	struct purge_stats st;
	int c, r, dry = 0, rc = ADMIN_FAIL;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'n')
			return usage();
		dry = 1;
	}
	if (optind < argc || !dry)
		return usage();
	if ((r = admin_open(&e, "purge", config, false)) != ADMIN_OK)
		return r;
	d = calloc(1, sizeof(*d));
	snap = calloc(1, sizeof(*snap));
	if (!d || !snap || ledgerw_wrap(e.l, e.dc.agency_id, e.dc.dock_id, &d->w) < 0) {
		admin_err("purge", "out of memory");
		admin_close(&e);
		goto out;
	}
	e.l = NULL; /* d->w owns the ledger now */
	snap->cfg = e.dc;
	snap->refs = 1;
	d->snap = snap;
	r = purge_run(d, snap, true, stdout, &st);
	if (r < 0) {
		admin_err("purge", "cannot read the ledger: %s", strerror(-r));
	} else {
		printf("# would purge %u cop%s, %" PRIu64 " bytes; %u held, %u in their keep"
		       " window, %u damaged, %u missing\n", st.purged, st.purged == 1 ? "y" : "ies",
		       st.bytes, st.held, st.young, st.damaged, st.missing);
		rc = ADMIN_OK;
	}
	ledgerw_close(d->w);
out:
	free(snap);
	free(d);
	return rc;
}
