/* camsim.h - the reference camera's internals (shared by its files only).
 *
 *   main.c        command line: init, add, serve, list
 *   store.c       the camera's state directory (keys, recordings, state)
 *   serve.c       the camera side of the protocol: the session, the replies
 *   serve_data.c  the manifest (LIST_REQ), the recordings' bytes (READ_REQ)
 *   serve_int.h   what the two share
 *   faults.c      misbehaviour switches used by the tests
 *
 * State directory layout:
 *   config              "key value" lines: serial, model, firmware, officer
 *   device.key/.pub     Ed25519 device key (PEM, private 0600)
 *   agency.pub          the agency key that must sign dock certificates
 *   state               clock_offset_ns, receipts accepted
 *   rec/ID.bin, ID.meta recording bytes; size, cached sha256, metadata
 *   receipts/ID         the dock receipt on whose word ID was deleted
 * Every file is replaced by write-temp + fsync + rename (+ dir fsync).
 */
#ifndef CAMSIM_H
#define CAMSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define CAMSIM_MAX_RECS 10000
#define CAMSIM_PATH_MAX 4096

struct cam_rec {
	char id[PROTO_ID_MAX + 1];
	uint64_t size;
	uint8_t sha256[PROTO_SHA256_LEN];
	int64_t start_utc, end_utc;
	char category[PROTO_TEXT_MAX + 1];
	bool has_gps;
	int32_t lat_e7, lon_e7;
};

struct cam_store {
	char dir[CAMSIM_PATH_MAX];
	char serial[PROTO_ID_MAX + 1];
	char model[PROTO_TEXT_MAX + 1];
	char firmware[PROTO_TEXT_MAX + 1];
	char officer[PROTO_ID_MAX + 1];
	int64_t clock_offset_ns;
	uint64_t receipts;
	struct cam_rec *recs; /* sorted by id */
	size_t n;
};

struct cam_faults {
	uint64_t disconnect_after; /* 0: off */
	int64_t corrupt_at;        /* -1: off */
	bool bad_signature, lie_hash, out_of_order, wrong_version, unenrolled_key;
	bool bad_identity;         /* HELLO_REPLY identity signature invalid */
	int64_t lie_size;          /* -1: off */
	int stall_ms, flood;
	uint64_t slow_bps;         /* 0: off */
	bool has_clock_offset;
	int64_t clock_offset_s;
	uint32_t chunk;            /* DATA frame size (tuning, not a fault) */
	int idle_ms;               /* wait for the dock's next request (tuning) */
	int trickle_ms;            /* sleep after every DATA frame (0: off) */
	int bad_hello;             /* FAULT_BAD_* for HELLO_REPLY (0: off) */
	int misreply;              /* FAULT_BAD_* for the first LIST_REPLY (0: off) */
	bool keep;                 /* RELEASE_REPLY deleted=0: valid receipt, kept */
	bool dup_id;               /* the manifest lists the first recording twice */
	uint32_t claim_total;      /* manifest total claimed, padded with FAKE-i (0: off) */
	uint32_t abandon_list;     /* hang up at the LIST_REQ after this many pages (0: off) */
	/* --hostile MODE (may be repeated): a camera written to break the dock */
	bool clock_min;            /* clock-min: HELLO_REPLY clock_ns = INT64_MIN */
	bool refuse_release;       /* refuse-release: every RELEASE_REQ gets ERROR */
	char short_id[PROTO_ID_MAX + 1]; /* short:ID: ID's manifest entry claims
	                                    HOSTILE_SHORT_BY more bytes than it
	                                    holds; its DATA ends (END) at the real end */
};

/* --bad-hello / --misreply modes */
enum { FAULT_BAD_CRC = 1, FAULT_BAD_SEQ, FAULT_BAD_TYPE, FAULT_BAD_SILENT };

#define HOSTILE_SHORT_BY 4096u

/* store.c */
int store_init(const char *dir, const char *serial, const char *model, const char *officer,
	       const char *agency_pub_path);
int store_open(const char *dir, struct cam_store *st);
void store_free(struct cam_store *st);
int store_add(struct cam_store *st, const struct cam_rec *meta, const char *src_path);
const struct cam_rec *store_find(const struct cam_store *st, const char *id);
int store_path(const struct cam_store *st, const char *name, char *buf, size_t cap);
int store_save_state(const struct cam_store *st);
int store_release(struct cam_store *st, const char *id, const struct proto_receipt *r);
int store_write_file(const char *path, const void *data, size_t len, int mode);

/* faults.c */
void faults_default(struct cam_faults *f);
/* Parse one fault option (name without "--"); 1 if consumed, 0 if not a
 * fault, negative on a bad value. */
int faults_parse(struct cam_faults *f, const char *name, const char *val);
/* Fault-aware helpers used while serving. */
void faults_sleep_ms(int ms);
void faults_throttle(const struct cam_faults *f, uint64_t sent, int64_t start_ns);

/* serve.c */
struct transport;
int serve(struct cam_store *st, const struct cam_faults *f, struct transport *t);

#endif
