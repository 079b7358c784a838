/* daemon_start.c - dockd's state at start (see daemon_int.h): the dock's
 * certificate, the custodian process that holds its keys, the vault, the
 * ledger and its dock tables, the storage target, and the configuration
 * recorded as a ledger fact (also at each SIGHUP). The main loop, the
 * snapshots and dockd_run() are in daemon.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agencyrec.h"
#include "cfgfacts.h"
#include "custc.h"
#include "daemon.h"
#include "daemon_int.h"
#include "dockcert.h"
#include "dockdb.h"
#include "enrol.h"
#include "ingest.h"
#include "log.h"
#include "procdied.h"
#include "startmsg.h"

/* The dock's certificate; its key is the custodian's (custc.h), checked
 * against the certificate once the custodian runs (dockd_open_state). */
int dockd_load_identity(struct dockd *d, const struct dock_config *c)
{
	int r = dockcert_load(c->cert_path, &d->cert);

	if (r < 0) {
		log_error("%s: dock certificate: %s", c->cert_path, edsig_strerror(r));
		return r;
	}
	if (strcmp(d->cert.dock_id, c->dock_id) || strcmp(d->cert.agency_id, c->agency_id)) {
		log_error("%s: certificate is not for this dock's [dock] id and agency_id",
			  c->cert_path);
		return -EINVAL;
	}
	return 0;
}

/* The custodian died, or refused to sign a checkpoint (custc.h, ledgerw.h). */
static void custodian_note(void *ctx, const char *kind, const char *what)
{
	dockd_alert(ctx, kind, NULL, "%s", what);
}

/* The custodian died and is being restarted (custc.c). */
static void custodian_died(void *ctx, const char *what, int sig)
{
	custodian_process_died(ctx, "custodian", what, sig);
}

/* Start the custodian process (it opens the dock and checkpoint keys and
 * the ledger read-only), check its dock key against the certificate and
 * hand it to the ledger writer. dockd never opens a key itself. */
static int start_custodian(struct dockd *d)
{
	uint8_t pub[EDSIG_PUBKEY_LEN], ck[EDSIG_PUBKEY_LEN];
	char err[1200] = "";
	bool have = false;
	int r;

	r = custc_start(NULL, d->config_path, custodian_note, d, &d->cust, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	custc_on_death(d->cust, custodian_died, d);
	custc_keys(d->cust, pub, &have, ck);
	if (memcmp(pub, d->cert.dock_pubkey, sizeof(pub))) {
		log_error("%s: certificate is not for this dock's key", d->snap->cfg.cert_path);
		return -EINVAL;
	}
	r = custc_auth_key(d->cust, &d->dock_key);
	if (r < 0)
		return r;
	r = ledgerw_attach_custodian(d->w, d->cust, custodian_note, d, err, sizeof(err));
	if (r < 0)
		log_error("%s", err);
	return r;
}

/* After start: an expired or soon expiring certificate is an alert. */
void dockd_alert_custody_cert(struct dockd *d)
{
	const struct cust_trust_status *t = ledgerw_trust(d->w);

	if (t->have_cert && t->days_left < CUST_CERT_WARN_DAYS)
		dockd_alert(d, "custody-cert", t->cert.dock, "agency custody certificate %s "
			    "%lld day(s): renew it", t->days_left < 0 ? "expired" : "expires in",
			    (long long)(t->days_left < 0 ? -t->days_left : t->days_left));
}

/* The storage uploader died and is being restarted (store_remote.c). */
static void store_died(void *ctx, const char *what, int sig)
{
	custodian_process_died(ctx, "storage-uploader", what, sig);
}

int dockd_open_state(struct dockd *d, const struct dock_config *c)
{
	char err[1600] = "";
	int r;

	if (mkdir(c->vault_dir, 0700) < 0 && errno != EEXIST) {
		log_error("%s: %s", c->vault_dir, strerror(errno));
		return -errno;
	}
	if ((r = startmsg_vault_writable(d->config_path, c->vault_dir, err, sizeof(err))) < 0) {
		log_error("%s", err);
		return r;
	}
	/* first: the custodian's refusals at start are alerts (status view) */
	if ((r = status_new(c->dock_id, c->agency_id, &d->status)) < 0)
		return r;
	r = ledgerw_open_dock(d->config_path, c->agency_id, c->dock_id, &d->w, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	if ((r = start_custodian(d)) < 0)
		return r;
	ledgerw_lock(d->w);
	r = dockdb_schema(ledgerw_ledger(d->w));
	if (r == 0)
		r = dock_enrol_schema(ledgerw_ledger(d->w));
	ledgerw_unlock(d->w);
	if (r < 0) {
		log_error("ledger: cannot create dock tables: %s", strerror(-r));
		return r;
	}
	ingest_sweep(d, c);
	if (c->storage_target[0]) {
		r = store_open_split(c, &d->stop, store_died, d, &d->store, err, sizeof(err));
		if (r < 0) {
			log_error("%s", err);
			return r;
		}
	} else if (c->release_policy == DOCK_RELEASE_STORAGE) {
		log_warning("no [storage] target: recordings stay in the vault and are never released");
	}
	return 0;
}

/* config_changed (cfgfacts.h): the configuration in force is a ledger
 * fact; a dock that cannot record it does not start. */
int dockd_record_config(struct dockd *d, bool on_sighup)
{
	struct dock_snap *s = dockd_snap_get(d);
	char err[700] = "";
	int done = 0, r = cfgfacts_record(d->w, d->config_path, on_sighup, &done);

	if (r < 0)
		log_error("%s: config_changed not recorded in the ledger: %s", d->config_path,
			  strerror(-r));
	else if (done)
		log_info("config_changed recorded (%s)", on_sighup ? "SIGHUP" : "start");
	if (r == 0 && (r = recpolicy_record(d->w, &s->policy, d->config_path, &done, err,
					    sizeof(err))) < 0)
		log_error("%s", err);
	else if (r == 0 && done)
		log_info("recipient_policy version %llu recorded",
			 (unsigned long long)s->policy.version);
	dockd_snap_put(d, s);
	return r;
}
