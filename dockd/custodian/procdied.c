/* procdied.c - record a sandboxed service process's death (procdied.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "ledgerw.h"
#include "log.h"
#include "procdied.h"

int procdied_record(struct dockd *d, const char *serial, const char *process, const char *why,
		    int sig)
{
	struct cust_event ev;
	json_t *o = json_pack("{s:s,s:s,s:i}", "serial", serial ? serial : "", "why", why,
			      "signal", sig);
	int r = o ? 0 : -ENOMEM;

	if (r == 0 && process)
		r = json_object_set_new(o, "process", json_string(process)) ? -ENOMEM : 0;
	if (r == 0)
		r = ledgerw_event(d->w, &ev, CUST_A_LINK_WORKER_KILLED, NULL, CUST_OUTCOME_DENIED);
	if (r == 0)
		r = cust_event_set_details(&ev, o);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), why);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(o);
	if (r < 0)
		log_error("ledger: link_worker_killed (%s) not recorded: %s",
			  process ? process : "camera-link worker", strerror(-r));
	return r;
}

void custodian_process_died(struct dockd *d, const char *process, const char *why, int sig)
{
	/* the same event as a camera-link worker's: a sandboxed process broke
	 * its contract or died; details.process says which one */
	(void)procdied_record(d, "", process, why, sig);
	dockd_alert(d, process, NULL, "%s (signal %d%s)", why, sig,
		    sig == SIGSYS ? ": seccomp, a forbidden system call" : "");
}
