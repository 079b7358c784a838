/*
 * verify_origin.c - the origin of each ingested recording: the camera's
 * signed manifest entry, kept in the ingested event, must verify with the
 * device key that the ledger's own device_enrolled events gave its serial
 * (replayed up to that event), and must name the same recording, size and
 * SHA-256 as the event (class "manifest"; docs/custody-ledger.md,
 * "Origin of a recording", gives the exact bytes).
 *
 * Only ingested events that name a camera ("camera" or "manifest_sig" in
 * their details) are checked: a ledger filled by other tools has none.
 * One that says "source": "unsigned" (a mass-storage camera) carries no
 * signature and is checked as such (check_unsigned): accepted as unsigned,
 * never as camera-signed.
 *
 * Readers: the key ids of an ingested file's recipient stanzas (details
 * "recipients") must be exactly those of the recipient policy in force,
 * the newest recipient_policy event before it (class "recipients"). The
 * policy's key ids are read from its note's text; the note's agency
 * signature is the statement check's business (agencynote.h).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "agencynote.h"
#include "edkey.h"
#include "verify_facts.h"

#define MANIFEST_DOMAIN     "BCDK-v1 manifest"	/* + NUL: 17 bytes */
#define MANIFEST_ENTRY_MAX  512			/* 134..325 by the protocol */
#define ID_MAX              64

/* Lower-case or upper-case hex of exactly n bytes; -1 otherwise. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	if (!s || strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		int c = s[i], x = c >= '0' && c <= '9' ? c - '0' :
				  c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (x < 0)
			return -1;
		if (i & 1)
			out[i / 2] = (uint8_t)(out[i / 2] | x);
		else
			out[i / 2] = (uint8_t)(x << 4);
	}
	return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t x = 0;

	while (n--)
		x = x << 8 | *p++;
	return x;
}

/* The fields of an encoded manifest entry (docs/protocol.md 6.5) that an
 * event also states; 0 or -1 when the bytes are not one whole entry. */
struct entry {
	char rid[ID_MAX + 1];
	uint64_t size;
	uint8_t sha[32];
};

static int parse_entry(const uint8_t *b, size_t n, struct entry *e)
{
	size_t o = 0, l;

	if (n < 2 || (l = be(b, 2)) < 1 || l > ID_MAX || n < 2 + l)
		return -1;
	memcpy(e->rid, b + 2, l);
	e->rid[l] = '\0';
	o = 2 + l;
	if (n < o + 8 + 32 + 16 + 2)
		return -1;
	e->size = be(b + o, 8);
	memcpy(e->sha, b + o + 8, 32);
	o += 8 + 32 + 16;
	l = be(b + o, 2);
	o += 2 + l;
	/* gps_present, lat_e7, lon_e7 close the entry; nothing after them */
	return n == o + 1 + 4 + 4 && l <= 128 ? 0 : -1;
}

/* The manifest check proper; returns the problem, NULL when it holds. */
static const char *check(const struct cust_event *ev, json_t *d, const struct fcam *cam,
			 const char *serial)
{
	uint8_t entry[MANIFEST_ENTRY_MAX], sig[64], key[32], want[32];
	uint8_t tbs[sizeof(MANIFEST_DOMAIN) + 2 + ID_MAX + MANIFEST_ENTRY_MAX];
	const char *ehex = json_string_value(json_object_get(d, "manifest_entry"));
	const char *rid = strchr(ev->evidence_id, '/');
	size_t elen = ehex ? strlen(ehex) / 2 : 0, slen = strlen(serial), o;
	struct entry e;

	if (!cam)
		return "its camera was never enrolled in this ledger";
	if (!ehex || !json_object_get(d, "manifest_sig"))
		return "it carries no manifest signature";
	if (unhex(json_string_value(json_object_get(d, "device_key")), key, 32) ||
	    unhex(json_string_value(json_object_get(d, "manifest_sig")), sig, 64) ||
	    elen > sizeof(entry) || unhex(ehex, entry, elen) || parse_entry(entry, elen, &e))
		return "its manifest_entry, manifest_sig or device_key is malformed";
	if (unhex(cam->pubkey, want, 32) || memcmp(key, want, 32))
		return "device_key is not the key the ledger enrolled for its camera";
	if (slen > ID_MAX || !rid || (size_t)(rid - ev->evidence_id) != slen ||
	    strncmp(ev->evidence_id, serial, slen) || strcmp(rid + 1, e.rid))
		return "the signed entry names another recording";
	if (e.size != (uint64_t)json_integer_value(json_object_get(d, "size")) ||
	    unhex(json_string_value(json_object_get(d, "sha256")), want, 32) ||
	    memcmp(want, e.sha, 32))
		return "the signed entry's size or SHA-256 differs from the event's";
	memcpy(tbs, MANIFEST_DOMAIN, sizeof(MANIFEST_DOMAIN)); /* with its NUL */
	o = sizeof(MANIFEST_DOMAIN);
	tbs[o++] = (uint8_t)(slen >> 8);
	tbs[o++] = (uint8_t)slen;
	memcpy(tbs + o, serial, slen);
	o += slen;
	memcpy(tbs + o, entry, elen);
	o += elen;
	if (edkey_verify_raw(key, tbs, o, sig))
		return "the manifest signature does not verify with the enrolled device key";
	return NULL;
}

/* An UNSIGNED source (a USB mass-storage camera's volume, docs/custody-
 * ledger.md "Unsigned sources"): nothing proves what the camera recorded,
 * so the event must say so and claim no signature at all - a camera-signed
 * event is never mistaken for it, nor it for one. Its camera must be
 * enrolled in this ledger. NULL when it holds. */
static const char *check_unsigned(json_t *d, const struct fcam *cam)
{
	const char *src = json_string_value(json_object_get(d, "source"));

	if (!src || strcmp(src, "unsigned"))
		return "its source is neither a signed manifest nor \"unsigned\"";
	if (json_object_get(d, "manifest_sig") || json_object_get(d, "manifest_entry") ||
	    json_object_get(d, "device_key"))
		return "it says its source is unsigned and carries a manifest signature";
	if (!json_is_object(json_object_get(d, "volume")))
		return "an unsigned source without its \"volume\" facts";
	if (!cam)
		return "its camera was never enrolled in this ledger";
	return NULL;
}

/* The signed text of a note: up to and including the '\n' before the
 * blank line. */
static size_t note_text_len(const char *note)
{
	const char *sep = strstr(note, "\n\n");

	return sep ? (size_t)(sep - note) + 1 : 0;
}

void verify_origin_policy(struct vctx *v, const struct cust_event *ev)
{
	struct vfacts *f = verify_facts_state(v);
	struct agn_recipients *rp = calloc(1, sizeof(*rp));
	json_t *d = NULL, *ids;
	const char *note;
	size_t i;

	if (!f || !rp) {
		free(rp);
		return;
	}
	if (cust_event_details(ev, &d) || !(note = json_string_value(json_object_get(d, "note"))) ||
	    agn_recipients_parse(note, note_text_len(note), rp) < 0 || rp->n > 16) {
		verify_find(v, "recipients", ev->seq, "recipient_policy event without a valid "
			    "evidence-dock/recipients/v1 note");
		goto out;
	}
	ids = json_object_get(d, "key_ids");
	for (i = 0; ids && i < rp->n; i++)
		if (strcmp(json_string_value(json_array_get(ids, i)) ?: "", rp->r[i].key_id))
			break;
	if (ids && (i < rp->n || json_array_size(ids) != rp->n))
		verify_find(v, "recipients", ev->seq, "recipient_policy key_ids differ from its "
			    "note's recipient lines");
	f->pol_seq = ev->seq;
	f->pol_version = rp->version;
	f->pol_n = rp->n;
	for (i = 0; i < rp->n; i++)
		memcpy(f->pol_ids[i], rp->r[i].key_id, sizeof(f->pol_ids[i]));
out:
	json_decref(d);
	free(rp);
}

/* The file's stanza key ids against the policy in force. */
static void check_recipients(struct vctx *v, const struct cust_event *ev, json_t *d)
{
	const struct vfacts *f = v->facts;
	json_t *ids = json_object_get(d, "recipients");
	size_t i, j;

	if (!ids || !f || !f->pol_seq)
		return;	/* no policy recorded yet: nothing to compare with */
	if (!json_is_array(ids) || json_array_size(ids) != f->pol_n)
		goto differ;
	for (i = 0; i < f->pol_n; i++) {
		const char *k = json_string_value(json_array_get(ids, i));

		for (j = 0; k && j < f->pol_n && strcmp(k, f->pol_ids[j]); j++)
			;
		if (!k || j == f->pol_n)
			goto differ;
		for (j = 0; j < i; j++)	/* no key twice */
			if (!strcmp(k, json_string_value(json_array_get(ids, j))))
				goto differ;
	}
	return;
differ:
	verify_find(v, "recipients", ev->seq, "%s was encrypted to other keys than the "
		    "recipient policy in force (version %llu, seq %llu)", ev->evidence_id,
		    (unsigned long long)f->pol_version, (unsigned long long)f->pol_seq);
}

void verify_origin_ingested(struct vctx *v, const struct cust_event *ev)
{
	const char *serial, *why;
	json_t *d = NULL;

	if (!strstr(ev->details, "\"camera\":") && !strstr(ev->details, "\"manifest_sig\":") &&
	    !strstr(ev->details, "\"recipients\":"))
		return;
	if (cust_event_details(ev, &d)) {
		verify_find(v, "manifest", ev->seq, "details are not a JSON object");
		return;
	}
	check_recipients(v, ev, d);
	serial = json_string_value(json_object_get(d, "camera"));
	if (!serial)
		why = "it names no camera";
	else if (json_object_get(d, "source"))
		why = check_unsigned(d, verify_facts_camera(v, serial) ?
					  verify_facts_camera(v, serial) :
					  verify_facts_storage_camera(v, serial));
	else
		why = check(ev, d, verify_facts_camera(v, serial), serial);
	if (why)
		verify_find(v, "manifest", ev->seq, "origin of %s not proven: %s",
			    ev->evidence_id, why);
	json_decref(d);
}
