/*
 * test_facts.c - governing facts are events (custody/facts.h,
 * verify_facts.c, verify_origin.c) on a real SQLite ledger:
 *   - custody_users and dock_cameras rows written by direct SQL (no event)
 *     are refused at runtime and reported by cust_verify (table-users,
 *     table-cameras); so are rows changed or deleted behind the events;
 *   - an ingested event's manifest signature is checked against the key
 *     the ledger enrolled for its camera (class manifest): a valid one
 *     passes, a tampered signature, entry, key or a missing manifest is
 *     reported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agencynote.h"
#include "edkey.h"
#include "edsig.h"
#include "signote.h"
#include "enrol.h"
#include "event.h"
#include "ledger.h"
#include "users.h"
#include "verify.h"
#include "wire.h"

#define AG "pd-a"

struct fx {
	char dir[64], path[128];
	struct cust_ledger *l;
};

static int setup(void **st)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_facts.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
	if (cust_ledger_open(f->path, CUST_LEDGER_CREATE, &f->l, err, sizeof(err)) < 0)
		return -1;
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;
	char cmd[160];

	cust_ledger_close(f->l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

/* Findings of one class, and all findings. */
struct tally {
	const char *cls;
	int n, all;
	char last[768];
};

static void count(void *arg, const char *cls, uint64_t seq, const char *msg)
{
	struct tally *t = arg;

	(void)seq;
	t->all++;
	if (!strcmp(cls, t->cls)) {
		t->n++;
		snprintf(t->last, sizeof(t->last), "%s", msg);
	}
}

static struct tally verify(struct cust_ledger *l, const char *cls)
{
	struct cust_verify_opts o = { 0 };
	struct cust_verify_result res;
	struct tally t = { .cls = cls };

	assert_int_equal(cust_verify(l, &o, count, &t, &res), 0);
	return t;
}

static void sql(struct cust_ledger *l, const char *q)
{
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), q, NULL, NULL, NULL), SQLITE_OK);
}

static const struct users_actor local = { CUST_ACTOR_SYSTEM, "local:test", -1, NULL };

static void test_users_replayed(void **st)
{
	struct fx *f = *st;
	struct cust_user u;
	struct tally t;

	assert_int_equal(users_add(f->l, &local, "alice", CUSTODY_ROLE_ADMIN, AG, NULL), 0);
	assert_int_equal(users_add(f->l, &local, "bob", CUSTODY_ROLE_CLERK, AG, NULL), 0);
	assert_int_equal(users_set_role(f->l, &local, "bob", CUSTODY_ROLE_AUDITOR, NULL), 0);
	assert_int_equal(users_add(f->l, &local, "carol", CUSTODY_ROLE_CLERK, AG, NULL), 0);
	assert_int_equal(users_remove(f->l, &local, "carol", NULL), 0);
	t = verify(f->l, "table-users");
	assert_int_equal(t.all, 0);
	assert_int_equal(users_lookup(f->l, "bob", &u), 0);
	assert_int_equal(u.role, CUSTODY_ROLE_AUDITOR);

	/* a role granted by SQL, no event: refused and reported */
	sql(f->l, "INSERT INTO custody_users VALUES('mallory','admin','pd-a',1,0)");
	assert_int_equal(users_lookup(f->l, "mallory", &u), -EPERM);
	t = verify(f->l, "table-users");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "mallory"));
	/* pointing the row at a real event of another user does not help */
	sql(f->l, "UPDATE custody_users SET changed_seq = 2 WHERE name = 'mallory'");
	assert_int_equal(users_lookup(f->l, "mallory", &u), -EPERM);
	/* a removed user put back with its old event: runtime accepts the
	 * row's event, the replay does not */
	sql(f->l, "DELETE FROM custody_users WHERE name = 'mallory'");
	sql(f->l, "INSERT INTO custody_users SELECT 'carol','clerk','pd-a',seq,0 FROM events"
		  " WHERE action = 44 AND details LIKE '%carol%'");
	t = verify(f->l, "table-users");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "carol"));
	sql(f->l, "DELETE FROM custody_users WHERE name = 'carol'");
	/* a role raised by SQL */
	sql(f->l, "UPDATE custody_users SET role = 'admin' WHERE name = 'bob'");
	assert_int_equal(users_lookup(f->l, "bob", &u), -EPERM);
	t = verify(f->l, "table-users");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "bob"));
	/* a row deleted behind the events */
	sql(f->l, "DELETE FROM custody_users WHERE name = 'bob'");
	t = verify(f->l, "table-users");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "no row for bob"));
}

static struct dock_enrol_req req(const char *serial, const uint8_t pub[32])
{
	struct dock_enrol_req rq = { .agency_id = AG, .serial = serial, .officer = "ofc-1",
				     .model = "BC-9", .actor_id = "user:t(0)" };

	memcpy(rq.pubkey, pub, 32);
	return rq;
}

static void test_cameras_replayed(void **st)
{
	struct fx *f = *st;
	struct proto_identity id = { 0 };
	struct dock_enrol_req rq;
	uint8_t pub[32];
	char why[96], q[512], hex[65];
	struct tally t;

	memset(pub, 7, sizeof(pub));
	rq = req("CAM1", pub);
	assert_int_equal(dock_enrol_add(f->l, &rq, NULL, why, sizeof(why)), 0);
	pub[0] = 8;
	rq = req("CAM2", pub);
	assert_int_equal(dock_enrol_add(f->l, &rq, NULL, why, sizeof(why)), 0);
	assert_int_equal(dock_enrol_revoke(f->l, AG, "CAM2", "lost", "user:t(0)", NULL, why,
					   sizeof(why)), 0);
	rq.replace = true;
	pub[0] = 9;
	memcpy(rq.pubkey, pub, 32);
	assert_int_equal(dock_enrol_add(f->l, &rq, NULL, why, sizeof(why)), 0);
	t = verify(f->l, "table-cameras");
	assert_int_equal(t.all, 0);

	/* a camera enrolled by SQL: refused at HELLO, reported by verify */
	memset(id.pubkey, 0x33, 32);
	snprintf(id.serial, sizeof(id.serial), "EVIL");
	edsig_hex(id.pubkey, 32, hex, sizeof(hex));
	snprintf(q, sizeof(q), "INSERT INTO dock_cameras VALUES('EVIL','%s','ofc-1','BC-9',"
		 "'pd-a','enrolled',1)", hex);
	sql(f->l, q);
	assert_int_equal(dock_enrol_check(f->l, AG, &id, why, sizeof(why)), -PROTO_E_UNENROLLED);
	assert_string_equal(why, "enrolment row has no device_enrolled event");
	t = verify(f->l, "table-cameras");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "EVIL"));
	sql(f->l, "DELETE FROM dock_cameras WHERE serial = 'EVIL'");

	/* a key swapped by SQL (row still names the real event) */
	snprintf(id.serial, sizeof(id.serial), "CAM1");
	snprintf(q, sizeof(q), "UPDATE dock_cameras SET pubkey = '%s' WHERE serial = 'CAM1'", hex);
	sql(f->l, q);
	assert_int_equal(dock_enrol_check(f->l, AG, &id, why, sizeof(why)), -PROTO_E_UNENROLLED);
	assert_string_equal(why, "enrolment row has no device_enrolled event");
	t = verify(f->l, "table-cameras");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "CAM1"));

	/* a revocation undone by SQL */
	sql(f->l, "UPDATE dock_cameras SET status = 'enrolled' WHERE serial = 'CAM1'");
	sql(f->l, "DELETE FROM dock_cameras WHERE serial = 'CAM2'");
	t = verify(f->l, "table-cameras");
	assert_int_equal(t.n, 2);
}

/* ---- manifest signatures ---------------------------------------------- */

/* An ingested event as dockd writes it (docs/custody-ledger.md). */
static void ingested(struct cust_event *ev, const char *serial, const struct proto_manifest_entry *e,
		     const uint8_t key[32], const uint8_t sig[64], int with_manifest)
{
	uint8_t tbs[PROTO_TBS_MAX];
	char ehex[2 * PROTO_TBS_MAX + 1], shex[129], khex[65], sha[65], id[160];
	size_t n = 0, skip = 17 + 2 + strlen(serial);
	json_t *d;

	assert_int_equal(proto_manifest_tbs(serial, e, tbs, sizeof(tbs), &n), 0);
	edsig_hex(tbs + skip, n - skip, ehex, sizeof(ehex));
	edsig_hex(sig, 64, shex, sizeof(shex));
	edsig_hex(key, 32, khex, sizeof(khex));
	edsig_hex(e->sha256, 32, sha, sizeof(sha));
	snprintf(id, sizeof(id), "%s/%s", serial, e->recording_id);
	assert_int_equal(cust_event_init(ev, AG, CUST_ACTOR_DOCK, "dock-1", CUST_A_INGESTED, id,
					 CUST_OUTCOME_OK), 0);
	d = json_pack("{s:I,s:s,s:s,s:s}", "size", (json_int_t)e->size, "sha256", sha, "camera",
		      serial, "officer", "ofc-1");
	if (with_manifest) {
		json_t *m = json_pack("{s:s,s:s,s:s,s:[]}", "manifest_entry", ehex, "manifest_sig",
				      shex, "device_key", khex, "recipients");

		json_object_update(d, m);
		json_decref(m);
	}
	assert_int_equal(cust_event_set_details(ev, d), 0);
	json_decref(d);
}

static void test_manifest(void **st)
{
	struct fx *f = *st;
	struct edsig_key *cam, *other;
	struct proto_manifest_entry e = { .size = 1234, .start_utc = 1700000000,
					  .end_utc = 1700000060, .has_gps = true,
					  .lat_e7 = 515000000, .lon_e7 = -1000000 };
	struct dock_enrol_req rq;
	struct cust_event ev;
	uint8_t pub[32], opub[32], tbs[PROTO_TBS_MAX], sig[64], bad[64];
	size_t n = 0;
	char why[96];
	struct tally t;

	assert_int_equal(edsig_generate(&cam), 0);
	assert_int_equal(edsig_generate(&other), 0);
	edsig_public_raw(cam, pub);
	edsig_public_raw(other, opub);
	rq = req("CAM1", pub);
	assert_int_equal(dock_enrol_add(f->l, &rq, NULL, why, sizeof(why)), 0);
	snprintf(e.recording_id, sizeof(e.recording_id), "REC-1");
	snprintf(e.category, sizeof(e.category), "patrol");
	memset(e.sha256, 0xab, 32);
	assert_int_equal(proto_manifest_tbs("CAM1", &e, tbs, sizeof(tbs), &n), 0);
	assert_int_equal(edsig_sign(cam, tbs, n, sig), 0);

	ingested(&ev, "CAM1", &e, pub, sig, 1);
	assert_int_equal(cust_ledger_append(f->l, &ev), 0);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 0);

	/* a forged event: one signature bit flipped */
	memcpy(bad, sig, 64);
	bad[10] ^= 1;
	snprintf(e.recording_id, sizeof(e.recording_id), "REC-2");
	ingested(&ev, "CAM1", &e, pub, bad, 1);
	assert_int_equal(cust_ledger_append(f->l, &ev), 0);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "does not verify"));

	/* signed by a key the ledger never enrolled for CAM1 */
	assert_int_equal(proto_manifest_tbs("CAM1", &e, tbs, sizeof(tbs), &n), 0);
	assert_int_equal(edsig_sign(other, tbs, n, bad), 0);
	ingested(&ev, "CAM1", &e, opub, bad, 1);
	assert_int_equal(cust_ledger_append(f->l, &ev), 0);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 2);
	assert_non_null(strstr(t.last, "not the key the ledger enrolled"));

	/* a valid signature over another size than the event claims */
	snprintf(e.recording_id, sizeof(e.recording_id), "REC-3");
	assert_int_equal(proto_manifest_tbs("CAM1", &e, tbs, sizeof(tbs), &n), 0);
	assert_int_equal(edsig_sign(cam, tbs, n, sig), 0);
	ingested(&ev, "CAM1", &e, pub, sig, 1);
	assert_non_null(strstr(ev.details, "\"size\":1234"));
	{
		char *p = strstr(ev.details, "\"size\":1234");
		p[8] = '9'; /* 1934: the canonical JSON stays valid */
	}
	assert_int_equal(cust_ledger_append(f->l, &ev), 0);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 3);
	assert_non_null(strstr(t.last, "size or SHA-256"));

	/* no manifest at all, and a camera never enrolled */
	snprintf(e.recording_id, sizeof(e.recording_id), "REC-4");
	ingested(&ev, "CAM1", &e, pub, sig, 0);
	assert_int_equal(cust_ledger_append(f->l, &ev), 0);
	ingested(&ev, "CAM9", &e, pub, sig, 1);
	assert_int_equal(cust_ledger_append(f->l, &ev), 0);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 5);
	assert_non_null(strstr(t.last, "never enrolled"));
	edsig_key_free(other);
	edsig_key_free(cam);
}

/* ---- unsigned sources (mass-storage cameras) ---------------------------- */

/* An ingested event from an unsigned source as dockd writes it
 * (docs/custody-ledger.md, "Unsigned sources"), plus extra (JSON, may be
 * NULL) merged in. */
static void unsigned_event(struct cust_ledger *l, const char *serial, const char *rid,
			   const char *source, int with_volume, const char *extra)
{
	struct cust_event ev;
	char id[96];
	json_t *d;

	snprintf(id, sizeof(id), "%s/%s", serial, rid);
	assert_int_equal(cust_event_init(&ev, AG, CUST_ACTOR_DOCK, "dock-1", CUST_A_INGESTED, id,
					 CUST_OUTCOME_OK), 0);
	d = json_pack("{s:I,s:s,s:s,s:s,s:s,s:[]}", "size", (json_int_t)5, "sha256",
		      "ab00000000000000000000000000000000000000000000000000000000000000",
		      "camera", serial, "officer", "ofc-1", "source", source, "recipients");
	if (with_volume)
		json_object_set_new(d, "volume", json_pack("{s:s,s:s}", "path",
							   "DCIM/100MEDIA/A.MP4", "kind",
							   "recording"));
	if (extra) {
		json_t *x = json_loads(extra, 0, NULL);

		assert_non_null(x);
		json_object_update(d, x);
		json_decref(x);
	}
	assert_int_equal(cust_event_set_details(&ev, d), 0);
	json_decref(d);
	assert_int_equal(cust_ledger_append(l, &ev), 0);
}

static void test_unsigned_source(void **st)
{
	struct fx *f = *st;
	struct dock_enrol_req rq;
	uint8_t pub[32];
	char why[96];
	struct tally t;

	memset(pub, 7, sizeof(pub));
	rq = req("MSC1", pub);
	assert_int_equal(dock_enrol_add(f->l, &rq, NULL, why, sizeof(why)), 0);
	/* accepted as unsigned: no manifest, and no finding for it */
	unsigned_event(f->l, "MSC1", "v01", "unsigned", 1, NULL);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 0);
	/* an unsigned event that also claims a camera signature */
	unsigned_event(f->l, "MSC1", "v02", "unsigned", 1,
		       "{\"manifest_sig\":\"00\",\"device_key\":\"00\"}");
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "carries a manifest signature"));
	/* another source claim, a missing volume, an unenrolled camera */
	unsigned_event(f->l, "MSC1", "v03", "signed", 1, NULL);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 2);
	assert_non_null(strstr(t.last, "neither"));
	unsigned_event(f->l, "MSC1", "v04", "unsigned", 0, NULL);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 3);
	assert_non_null(strstr(t.last, "volume"));
	unsigned_event(f->l, "MSC9", "v05", "unsigned", 1, NULL);
	t = verify(f->l, "manifest");
	assert_int_equal(t.n, 4);
	assert_non_null(strstr(t.last, "never enrolled"));
}

/* ---- recipients against the policy in force ---------------------------- */

static void policy_event(struct cust_ledger *l, const char *id, const char *key_ids_json)
{
	struct agn_recipients rp = { .version = 3, .issued = 1700000000, .n = 1 };
	struct edkey *k;
	struct cust_event ev;
	char text[1024], note[2048], name[80];
	size_t len = 0;
	json_t *d;

	snprintf(rp.agency, sizeof(rp.agency), "%s", AG);
	snprintf(rp.r[0].type, sizeof(rp.r[0].type), "p256");
	snprintf(rp.r[0].key_id, sizeof(rp.r[0].key_id), "%s", id);
	assert_int_equal(agn_recipients_text(&rp, text, sizeof(text), &len), 0);
	assert_int_equal(edkey_generate(&k), 0);
	assert_int_equal(agn_key_name(AG, name, sizeof(name)), 0);
	assert_int_equal(signote_sign(text, len, name, k, note, sizeof(note), NULL), 0);
	edkey_free(k);
	assert_int_equal(cust_event_init(&ev, AG, CUST_ACTOR_DOCK, "dock-1",
					 CUST_A_RECIPIENT_POLICY, NULL, CUST_OUTCOME_OK), 0);
	d = json_pack("{s:s,s:i,s:o}", "note", note, "version", 3, "key_ids",
		      json_loads(key_ids_json, 0, NULL));
	assert_int_equal(cust_event_set_details(&ev, d), 0);
	json_decref(d);
	assert_int_equal(cust_ledger_append(l, &ev), 0);
}

static void ingested_to(struct cust_ledger *l, const char *rid, const char *recipients_json)
{
	struct cust_event ev;
	char id[64];
	json_t *d;

	snprintf(id, sizeof(id), "CAM1/%s", rid);
	assert_int_equal(cust_event_init(&ev, AG, CUST_ACTOR_DOCK, "dock-1", CUST_A_INGESTED, id,
					 CUST_OUTCOME_OK), 0);
	d = json_pack("{s:I,s:o}", "size", (json_int_t)1, "recipients",
		      json_loads(recipients_json, 0, NULL));
	assert_int_equal(cust_event_set_details(&ev, d), 0);
	json_decref(d);
	assert_int_equal(cust_ledger_append(l, &ev), 0);
}

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

static void test_recipients(void **st)
{
	struct fx *f = *st;
	struct tally t;

	/* before any policy: nothing to compare with */
	ingested_to(f->l, "R0", "[\"" K2 "\"]");
	t = verify(f->l, "recipients");
	assert_int_equal(t.n, 0);
	policy_event(f->l, K1, "[\"" K1 "\"]");
	ingested_to(f->l, "R1", "[\"" K1 "\"]");
	t = verify(f->l, "recipients");
	assert_int_equal(t.n, 0);
	/* a key the agency did not sign forced into a file */
	ingested_to(f->l, "R2", "[\"" K1 "\", \"" K2 "\"]");
	t = verify(f->l, "recipients");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.last, "CAM1/R2"));
	/* the agency's key left out, or listed twice */
	ingested_to(f->l, "R3", "[\"" K2 "\"]");
	ingested_to(f->l, "R4", "[]");
	t = verify(f->l, "recipients");
	assert_int_equal(t.n, 3);
	/* a policy event whose key_ids are not its note's */
	policy_event(f->l, K1, "[\"" K2 "\"]");
	t = verify(f->l, "recipients");
	assert_int_equal(t.n, 4);
	assert_non_null(strstr(t.last, "key_ids differ"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cameras_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipients, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
