/* admin_storage.c - enrolment of USB mass-storage cameras (enrol_msc.h):
 *   dockd --config FILE enroll --storage VID:PID:SERIAL --officer O --profile P
 *                              [--reason TEXT] [--replace]
 *   dockd --config FILE revoke --storage VID:PID:SERIAL --reason TEXT
 * and their rows in `dockd cameras` (kind "storage"). admin.c hands a
 * command with --storage over to these. docs/operations.md, "Enrolling a
 * USB mass-storage camera". */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "admin_int.h"
#include "admin_storage.h"
#include "enrol_msc.h"

bool admin_storage_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--storage") || !strncmp(argv[i], "--storage=", 10))
			return true;
	return false;
}

static int enroll_usage(void)
{
	fputs("usage: dockd --config FILE enroll --storage VID:PID:SERIAL --officer O\n"
	      "             --profile NAME [--reason TEXT] [--replace]\n",
	      stderr);
	return ADMIN_USAGE;
}

static int bad_id(const char *cmd)
{
	admin_err(cmd, "--storage must be VID:PID:SERIAL: 4 hex digits, 4 hex digits and the "
		  "USB serial (1-64 characters of A-Z a-z 0-9 . _ : -), e.g. 2e8a:0001:BC200-0042");
	return ADMIN_USAGE;
}

int admin_storage_enroll(const char *config, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "storage", required_argument, NULL, 's' }, { "officer", required_argument, NULL, 'o' },
		{ "profile", required_argument, NULL, 'p' }, { "reason", required_argument, NULL, 'r' },
		{ "replace", no_argument, NULL, 'R' },       { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *id = NULL, *officer = NULL, *profile = NULL, *reason = NULL;
	char serial[PROTO_ID_MAX + 1], why[256];
	struct dock_msc_req rq = { 0 };
	struct admin_env e;
	uint64_t seq = 0;
	int c, r, replace = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': id = optarg; break;
		case 'o': officer = optarg; break;
		case 'p': profile = optarg; break;
		case 'r': reason = optarg; break;
		case 'R': replace = 1; break;
		default: return enroll_usage();
		}
	}
	if (optind < argc || !id || !officer || !profile) {
		admin_err("enroll", "%s", optind < argc ? "unexpected argument" :
			  !officer ? "--officer is required" : "--profile is required");
		return enroll_usage();
	}
	if (dock_msc_parse_id(id, &rq.vid, &rq.pid, serial, sizeof(serial)) < 0)
		return bad_id("enroll");
	if (!proto_id_valid(officer)) {
		admin_err("enroll", "--officer must be 1-64 characters of A-Z a-z 0-9 . _ : -");
		return ADMIN_USAGE;
	}
	if ((r = admin_open(&e, "enroll", config, true)) != ADMIN_OK)
		return r;
	/* The profile is read at each docking from the configuration: one
	 * that does not exist now would make every docking fail later. */
	if (!dock_config_profile(&e.dc, profile)) {
		admin_err("enroll", "no camera profile '%s' in %s (define a [profile %s] section, "
			  "or use generic-dcim)", profile, e.dc.path, profile);
		admin_close(&e);
		return ADMIN_USAGE;
	}
	rq.agency_id = e.dc.agency_id;
	rq.serial = serial;
	rq.officer = officer;
	rq.profile = profile;
	rq.reason = reason;
	rq.actor_id = e.actor;
	rq.replace = replace;
	r = dock_msc_add(e.l, &rq, &seq, why, sizeof(why));
	admin_close(&e);
	if (r < 0) {
		admin_err("enroll", "%s", why);
		return r == -EINVAL ? ADMIN_USAGE : ADMIN_FAIL;
	}
	printf("enrolled mass-storage camera %04x:%04x:%s for officer %s, profile %s (agency %s): "
	       "ledger event %llu\n", rq.vid, rq.pid, serial, officer, profile, rq.agency_id,
	       (unsigned long long)seq);
	return ADMIN_OK;
}

int admin_storage_revoke(const char *config, int argc, char **argv)
{
	static const struct option opts[] = { { "storage", required_argument, NULL, 's' },
					      { "reason", required_argument, NULL, 'r' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *id = NULL, *reason = NULL;
	char serial[PROTO_ID_MAX + 1], why[256];
	struct admin_env e;
	uint16_t vid, pid;
	uint64_t seq = 0;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's') id = optarg;
		else if (c == 'r') reason = optarg;
		else goto usage;
	}
	if (optind < argc || !id || !reason || !*reason) {
		admin_err("revoke", "%s", optind < argc ? "unexpected argument" : "--reason is required");
		goto usage;
	}
	if (dock_msc_parse_id(id, &vid, &pid, serial, sizeof(serial)) < 0)
		return bad_id("revoke");
	if ((r = admin_open(&e, "revoke", config, true)) != ADMIN_OK)
		return r;
	r = dock_msc_revoke(e.l, e.dc.agency_id, vid, pid, serial, reason, e.actor, &seq, why,
			    sizeof(why));
	admin_close(&e);
	if (r < 0) {
		admin_err("revoke", "%s", why);
		return r == -EINVAL ? ADMIN_USAGE : ADMIN_FAIL;
	}
	printf("revoked mass-storage camera %04x:%04x:%s: ledger event %llu\n", vid, pid, serial,
	       (unsigned long long)seq);
	return ADMIN_OK;
usage:
	fputs("usage: dockd --config FILE revoke --storage VID:PID:SERIAL --reason TEXT\n", stderr);
	return ADMIN_USAGE;
}

static int print_row(void *arg, const struct dock_msc_camera *m)
{
	json_t *arr = arg, *o;
	char id[96];

	snprintf(id, sizeof(id), "%04x:%04x:%s", m->vid, m->pid, m->cam.serial);
	if (!arr) {
		printf("%-20s %-8s %-16s %-16s %8llu %-64s storage\n", id,
		       dock_cam_status_name(m->cam.status), m->cam.officer, m->profile,
		       (unsigned long long)m->cam.changed_seq, "-");
		return 0;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "storage",
		      "serial", m->cam.serial, "vid", id, "pid", id + 5, "status",
		      dock_cam_status_name(m->cam.status), "officer", m->cam.officer, "profile",
		      m->profile, "agency", m->cam.agency, "changed_seq",
		      (json_int_t)m->cam.changed_seq);
	if (o) {
		/* vid and pid as their own 4-digit strings */
		json_object_set_new(o, "vid", json_stringn(id, 4));
		json_object_set_new(o, "pid", json_stringn(id + 5, 4));
	}
	if (!o || json_array_append_new(arr, o) < 0)
		return -ENOMEM;
	return 0;
}

int admin_storage_list(struct cust_ledger *l, json_t *arr)
{
	return dock_msc_list(l, print_row, arr);
}
