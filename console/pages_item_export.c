/* pages_item_export: an item's court package (docs/console.md "Court
 * packages").
 *
 * POST /export (id, reason, optional case; the CSRF token is checked by
 * http.c before this runs) asks the query service to build the package
 * (op "export-package", custody/qpackage.h) for the signed-in user. The
 * console's account can read neither the ledger nor the vault, so the
 * service - dockd's account - runs the dock's exporter, the `custody`
 * binary, for USER:
 *
 *   custody --config CONF export ID --out DIR/court-ID.tar --reason R
 *           [--case C] --socket SOCK --on-behalf USER
 *
 * so the code that writes the package is the one clerks run on the dock
 * and at workstations (docs/court-package.md): the `exported` event is
 * written by the query service for USER (via=console; roles and agency
 * decided as for the user) BEFORE any byte of the package exists, the
 * evidence is copied and checked against the ledger's hash, a damaged
 * copy aborts with a failed `exported` event and no package. The service
 * removes the file and hands the console an open descriptor (SCM_RIGHTS
 * on the reply): no path the console could not open itself, nothing left
 * on disk.
 *
 * The console then records the download (console_download, detail
 * "package") and only then streams the descriptor to the browser
 * (MHD_create_response_from_fd: no memory copy), at most HTTP_PACKAGE_MAX
 * bytes. A failure is recorded (console_download failed, with the
 * service's message) and shows that message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "pages.h"
#include "qclient.h"
#include "qpackage.h"

#define ERR_MAX 2048		/* the service's message kept for the page */
/* the service's exporter time limit, and a minute for the reply */
#define EXPORT_WAIT_MS ((QPACKAGE_SECONDS + 60) * 1000)

static enum MHD_Result failed(struct MHD_Connection *c, const struct csess *s,
			      unsigned status, const char *title, const char *msg)
{
	struct hbuf b;

	hb_init(&b);
	page_error(&b, s, title, msg);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

/* One line of printable text (the exporter refuses others too). */
static int one_line(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/* "court-SERIAL_REC": letters, digits, '.', '-' kept, others '_' (the
 * exporter takes the bag's name from it; never a path). */
static void bag_name(const char *id, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "court-");

	for (; *id && o + 1 < cap; id++) {
		char ch = *id;

		out[o++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ? ch : '_';
	}
	out[o] = 0;
}

/* A failure: recorded (with the item when the service lets the console
 * name it, i.e. it is in the user's agency), then shown. */
static enum MHD_Result export_failed(struct MHD_Connection *c,
				     const struct csess *s, const char *client,
				     const char *id, unsigned status,
				     const char *msg)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "package: %s", msg);
	if (svc_event(http_svc(), s->user, client, "download", "failed", NULL,
		      "/export", id, detail, NULL) &&
	    svc_event(http_svc(), s->user, client, "download", "failed", NULL,
		      "/export", NULL, detail, NULL))
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "The export failed and the failure could not be "
			      "recorded in the custody ledger.");
	return failed(c, s, status, "Export failed", msg);
}

enum MHD_Result handle_export(struct MHD_Connection *c, const struct csess *s,
			      const char *client, const struct req *r)
{
	const struct console_cfg *cfg = http_cfg();
	const char *id = http_field(r, "id"), *reason = http_field(r, "reason");
	const char *kase = http_field(r, "case"), *code, *msg;
	char bag[160], disp[220], why[ERR_MAX];
	struct MHD_Response *resp;
	json_t *req, *reply = NULL;
	enum MHD_Result ret;
	struct stat st;
	unsigned status;
	int rc, fd = -1;

	if (!id || !*id || *id == '-' || strlen(id) > 128 || !one_line(id))
		return failed(c, s, MHD_HTTP_BAD_REQUEST, "No item",
			      "Which item? Open one from the search.");
	if (!reason || !*reason || !one_line(reason) || strlen(reason) > 512)
		return failed(c, s, MHD_HTTP_BAD_REQUEST, "A reason is required",
			      "Give the reason for the export (one line): it is "
			      "recorded with the export.");
	if (kase && (!*kase || !one_line(kase) || strlen(kase) > 128))
		kase = NULL;
	req = json_pack("{s:s, s:s, s:s, s:s}", "op", "export-package", "on_behalf",
			s->user, "item", id, "reason", reason);
	if (req && kase)
		json_object_set_new(req, "case", json_string(kase));
	rc = req ? qclient_call_fd(cfg->svc.socket, req, EXPORT_WAIT_MS, &reply, &fd) :
		   -ENOMEM;
	json_decref(req);
	if (rc || fd < 0) {
		code = reply ? json_string_value(json_object_get(reply, "error")) : NULL;
		msg = reply ? json_string_value(json_object_get(reply, "message")) : NULL;
		snprintf(why, sizeof(why), "%s", rc ? strerror(-rc) : msg ? msg :
			 "the query service did not build the package");
		/* the service's refusal is a 403 like the other refused pages */
		status = code && !strcmp(code, "denied") ? MHD_HTTP_FORBIDDEN :
			 code && !strcmp(code, "too-large") ? MHD_HTTP_CONTENT_TOO_LARGE :
			 MHD_HTTP_INTERNAL_SERVER_ERROR;
		json_decref(reply);
		return export_failed(c, s, client, id, status, why);
	}
	json_decref(reply);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > HTTP_PACKAGE_MAX) {
		close(fd);
		return export_failed(c, s, client, id, MHD_HTTP_CONTENT_TOO_LARGE,
				     "the package is larger than the console sends "
				     "(export it on the dock with custody export)");
	}
	/* its event first: nothing leaves without its record */
	if (svc_event(http_svc(), s->user, client, "download", "ok", NULL,
		      "/export", id, "package", NULL)) {
		close(fd);
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "This could not be recorded in the custody ledger, "
			      "so it is not sent.");
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	bag_name(id, bag, sizeof(bag));
	http_headers(resp, NULL);
	MHD_add_response_header(resp, "Content-Type", "application/x-tar");
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.tar\"", bag);
	MHD_add_response_header(resp, "Content-Disposition", disp);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
