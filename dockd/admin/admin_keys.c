/* admin_keys.c - `dockd keygen` (the dock's own key) and `dockd certify`
 * (the agency vouches for a dock key); see admin.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin.h"
#include "admin_int.h"
#include "dockcert.h"
#include "dockkey.h"
#include "edsig.h"
#include "p11key.h"

#define CERT_DAYS_DEFAULT 365
#define CERT_DAYS_MAX 3650

/* ---- keygen --------------------------------------------------------------- */

static int record_key_event(struct admin_env *e, const char *hex)
{
	struct cust_event ev;
	json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "key", "dock", "algorithm", "ed25519",
			      "pubkey", hex, "path", e->dc.key_path);
	int r = d ? 0 : -ENOMEM;

	if (r == 0)
		r = cust_event_init(&ev, e->dc.agency_id, CUST_ACTOR_CLERK, e->actor,
				    CUST_A_KEY_CHANGED, NULL, CUST_OUTCOME_OK);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), "dock key generated");
	if (r == 0)
		r = cust_event_set_details(&ev, d);
	json_decref(d);
	if (r == 0)
		r = cust_ledger_append(e->l, &ev);
	return r;
}

int admin_keygen(const char *config, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct edsig_key *k = NULL;
	struct admin_env e;
	uint8_t pub[PROTO_PUBKEY_LEN];
	char hex[2 * PROTO_PUBKEY_LEN + 1], why[600] = "";
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		fputs("usage: dockd --config FILE keygen\n", stderr);
		return ADMIN_USAGE;
	}
	if (optind < argc) {
		admin_err("keygen", "unexpected argument '%s'", argv[optind]);
		return ADMIN_USAGE;
	}
	if ((r = admin_open(&e, "keygen", config, true)) != ADMIN_OK)
		return r;
	/* The key is made first (a new file, O_EXCL, or a new pair in the
	 * PKCS#11 token [dock] key names, whose private half never comes out;
	 * an existing key is never replaced), then its event; if the event
	 * cannot be recorded the key is removed, so a key exists only with its
	 * ledger event. */
	r = dockkey_create(e.dc.key_path, &k, why, sizeof(why));
	if (r < 0) {
		admin_err("keygen", "%s", why);
		goto out;
	}
	r = edsig_public_raw(k, pub);
	if (r == 0)
		r = edsig_hex(pub, sizeof(pub), hex, sizeof(hex));
	if (r == 0 && (r = record_key_event(&e, hex)) < 0) {
		admin_err("keygen", "cannot record key_changed (%s); key removed", cust_ledger_errmsg(e.l));
		dockkey_discard(e.dc.key_path, k);
		k = NULL;
		goto out;
	}
	if (r < 0) {
		admin_err("keygen", "%s", edsig_strerror(r));
		goto out;
	}
	printf("%s\n", hex);
	fprintf(stderr, "dockd keygen: dock key %s %s; have the agency certify it:\n"
			"  dockd certify --agency-key AGENCY.key --agency-id %s --dock-id %s \\\n"
			"      --dock-pub %s --out dock.cert\n",
		p11key_is_uri(e.dc.key_path) ? "created in the token named by" : "written to",
		e.dc.key_path, e.dc.agency_id, e.dc.dock_id, hex);
out:
	edsig_key_free(k);
	admin_close(&e);
	return r < 0 ? ADMIN_FAIL : ADMIN_OK;
}

/* ---- certify -------------------------------------------------------------- */

struct certify_args {
	const char *agency_key, *agency_id, *dock_id, *hex, *file, *out;
	long days;
};

static int certify_usage(void)
{
	fputs("usage: dockd certify --agency-key K --agency-id A --dock-id D\n"
	      "                     (--dock-pub HEX | --dock-pub-file F) [--days N] --out CERT\n",
	      stderr);
	return ADMIN_USAGE;
}

static int parse_days(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > CERT_DAYS_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int certify_parse(int argc, char **argv, struct certify_args *a)
{
	static const struct option opts[] = {
		{ "agency-key", required_argument, NULL, 'k' }, { "agency-id", required_argument, NULL, 'a' },
		{ "dock-id", required_argument, NULL, 'd' },    { "dock-pub", required_argument, NULL, 'p' },
		{ "dock-pub-file", required_argument, NULL, 'f' }, { "days", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },        { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *missing = NULL;
	int c;

	a->days = CERT_DAYS_DEFAULT;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': a->agency_key = optarg; break;
		case 'a': a->agency_id = optarg; break;
		case 'd': a->dock_id = optarg; break;
		case 'p': a->hex = optarg; break;
		case 'f': a->file = optarg; break;
		case 'o': a->out = optarg; break;
		case 'n':
			if (parse_days(optarg, &a->days) < 0) {
				admin_err("certify", "--days must be a whole number from 1 to %d", CERT_DAYS_MAX);
				return ADMIN_USAGE;
			}
			break;
		default: return certify_usage();
		}
	}
	if (optind < argc)
		missing = "no positional arguments";
	else if (!a->agency_key)
		missing = "--agency-key is required";
	else if (!a->agency_id || !proto_id_valid(a->agency_id))
		missing = "--agency-id is required (1-64 characters of A-Z a-z 0-9 . _ : -)";
	else if (!a->dock_id || !proto_id_valid(a->dock_id))
		missing = "--dock-id is required (1-64 characters of A-Z a-z 0-9 . _ : -)";
	else if (!a->hex == !a->file)
		missing = "give exactly one of --dock-pub and --dock-pub-file";
	else if (!a->out)
		missing = "--out is required";
	if (missing) {
		admin_err("certify", "%s", missing);
		return certify_usage();
	}
	return ADMIN_OK;
}

static void utc_text(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%" PRId64, t);
}

/* certify runs on the agency's machine: no dock configuration, no ledger. */
int admin_certify(const char *config, int argc, char **argv)
{
	struct certify_args a = { 0 };
	struct edsig_key *agency = NULL, *dock = NULL;
	struct proto_dock_cert cert;
	uint8_t pub[PROTO_PUBKEY_LEN];
	char why[512], until[32], hex[2 * PROTO_PUBKEY_LEN + 1];
	int64_t now = (int64_t)time(NULL);
	int r;

	(void)config;
	if ((r = certify_parse(argc, argv, &a)) != ADMIN_OK)
		return r;
	if (admin_read_pubkey(a.hex, a.file, pub, why, sizeof(why)) < 0) {
		admin_err("certify", "%s", why);
		return ADMIN_USAGE;
	}
	if (access(a.out, F_OK) == 0) {
		admin_err("certify", "%s exists already; refusing to overwrite it", a.out);
		return ADMIN_FAIL;
	}
	r = edsig_load_private(a.agency_key, &agency);
	if (r < 0) {
		admin_err("certify", "%s: %s", a.agency_key, edsig_strerror(r));
		return ADMIN_FAIL;
	}
	/* Issue, then check the result as a camera would before saving it. */
	if ((r = edsig_from_public(pub, &dock)) < 0 ||
	    (r = dockcert_issue(agency, a.agency_id, a.dock_id, dock, now, now + a.days * 86400,
				&cert)) < 0 ||
	    (r = dockcert_verify(&cert, agency, now)) < 0 || (r = dockcert_save(&cert, a.out)) < 0)
		admin_err("certify", "%s", edsig_strerror(r));
	edsig_key_free(agency);
	edsig_key_free(dock);
	if (r < 0)
		return ADMIN_FAIL;
	utc_text(cert.not_after, until, sizeof(until));
	edsig_hex(pub, sizeof(pub), hex, sizeof(hex));
	printf("certified dock %s of agency %s (key %s) until %s: %s\n", a.dock_id, a.agency_id,
	       hex, until, a.out);
	return ADMIN_OK;
}
