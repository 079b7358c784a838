/* serve.c - the camera side of the protocol, with test faults: the
 * session (HELLO, AUTH_DOCK, RELEASE, TIME, STATUS, BYE) and the replies;
 * LIST_REQ and READ_REQ are serve_data.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <zlib.h>

#include "camsim.h"
#include "dockcert.h"
#include "edsig.h"
#include "frame_io.h"
#include "serve_int.h"

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cam_now_ns(const struct srv *v)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + v->st->clock_offset_ns;
}

/* --flood: unknown-type frames (type 0x55, empty payload, valid CRC). */
int flood(struct srv *v, uint32_t seq)
{
	uint8_t fr[PROTO_HDR_LEN + PROTO_CRC_LEN] = { 'B', 'C', 'D', 'K', PROTO_VERSION, 0x55 };
	uLong crc;

	fr[8] = (uint8_t)(seq >> 24), fr[9] = (uint8_t)(seq >> 16);
	fr[10] = (uint8_t)(seq >> 8), fr[11] = (uint8_t)seq;
	crc = crc32(crc32(0L, Z_NULL, 0), fr, PROTO_HDR_LEN);
	fr[16] = (uint8_t)(crc >> 24), fr[17] = (uint8_t)(crc >> 16);
	fr[18] = (uint8_t)(crc >> 8), fr[19] = (uint8_t)crc;
	for (int i = 0; i < v->f->flood; i++) {
		int r = transport_send(v->t, fr, sizeof(fr), IO_TIMEOUT_MS);

		if (r < 0)
			return r;
	}
	return 0;
}

int reply(struct srv *v, const struct proto_msg *m, uint32_t seq)
{
	int r = flood(v, seq);

	return r < 0 ? r : frame_write(v->t, m, seq, 0, v->tx, PROTO_MAX_FRAME, IO_TIMEOUT_MS);
}

int error_reply(struct srv *v, uint32_t seq, int err, const char *why)
{
	int r = flood(v, seq);

	return r < 0 ? r : frame_write_error(v->t, seq, err, why, IO_TIMEOUT_MS);
}

/* --bad-hello / --misreply: send m broken the MODE way instead of as is. */
int bad_reply(struct srv *v, const struct proto_msg *m, uint32_t seq, int mode)
{
	struct proto_msg other;
	size_t n = 0;
	int r;

	switch (mode) {
	case FAULT_BAD_SEQ:
		return frame_write(v->t, m, seq + 1, 0, v->tx, PROTO_MAX_FRAME, IO_TIMEOUT_MS);
	case FAULT_BAD_TYPE: /* a valid message, at the wrong time */
		memset(&other, 0, sizeof(other));
		other.type = m->type == PROTO_HELLO_REPLY ? PROTO_AUTH_OK : PROTO_STATUS_REPLY;
		return frame_write(v->t, &other, seq, 0, v->tx, PROTO_MAX_FRAME, IO_TIMEOUT_MS);
	case FAULT_BAD_SILENT:
		return SIM_DISCONNECT;
	default: /* FAULT_BAD_CRC */
		r = proto_frame_encode(m, seq, 0, v->tx, PROTO_MAX_FRAME, &n);
		if (r < 0)
			return r;
		v->tx[n - 1] ^= 0x01;
		return transport_send(v->t, v->tx, n, IO_TIMEOUT_MS);
	}
}

void dock_sent_error(struct srv *v, const struct proto_msg *m)
{
	fprintf(stderr, "camsim: dock sent ERROR %s: %s\n",
		proto_strerror(-(PROTO_E_BASE + m->u.error.code)), m->u.error.text);
	v->dock_error = PROTO_E_BASE + m->u.error.code;
}

static int on_hello(struct srv *v, uint32_t seq, const struct proto_hello *h)
{
	uint8_t tbs[PROTO_TBS_MAX];
	struct proto_msg m;
	struct proto_hello_reply *hr = &m.u.hello_reply;
	size_t n = 0;
	int r;

	if (h->version_min > PROTO_VERSION || h->version_max < PROTO_VERSION) {
		error_reply(v, seq, -PROTO_E_BAD_VERSION, "camera speaks version 1");
		return -PROTO_E_BAD_VERSION;
	}
	memcpy(v->dock_nonce, h->dock_nonce, PROTO_NONCE_LEN);
	memcpy(v->dock_id, h->dock_id, sizeof(v->dock_id));
	if (RAND_bytes(v->cam_nonce, PROTO_NONCE_LEN) != 1)
		return -EIO;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO_REPLY;
	hr->version = v->f->wrong_version ? 9 : PROTO_VERSION;
	memcpy(hr->cam_nonce, v->cam_nonce, PROTO_NONCE_LEN);
	memcpy(hr->id.serial, v->st->serial, sizeof(hr->id.serial));
	memcpy(hr->id.model, v->st->model, sizeof(hr->id.model));
	memcpy(hr->id.firmware, v->st->firmware, sizeof(hr->id.firmware));
	memcpy(hr->id.officer_id, v->st->officer, sizeof(hr->id.officer_id));
	hr->id.clock_ns = v->f->clock_min ? INT64_MIN : cam_now_ns(v);
	if ((r = edsig_public_raw(v->dev, hr->id.pubkey)) < 0 ||
	    (r = proto_identity_tbs(v->dock_nonce, v->cam_nonce, &hr->id, tbs, sizeof(tbs), &n)) < 0 ||
	    (r = edsig_sign(v->dev, tbs, n, hr->sig)) < 0)
		return r;
	if (v->f->bad_identity)
		hr->sig[0] ^= 0x01; /* a camera that cannot prove its key */
	v->state = WANT_AUTH;
	if (v->f->bad_hello)
		return bad_reply(v, &m, seq, v->f->bad_hello);
	return reply(v, &m, seq);
}

static int on_auth(struct srv *v, uint32_t seq, const struct proto_auth_dock *a)
{
	uint8_t tbs[PROTO_TBS_MAX];
	struct proto_msg m = { .type = PROTO_AUTH_OK };
	size_t n = 0;
	int r = dockcert_verify(&a->cert, v->agency, cam_now_ns(v) / 1000000000);

	if (r == 0 && strcmp(a->cert.dock_id, v->dock_id) != 0)
		r = -PROTO_E_AUTH;
	if (r == 0)
		r = proto_dock_auth_tbs(v->cam_nonce, v->dock_nonce, v->st->serial, &a->cert, tbs,
					sizeof(tbs), &n);
	if (r == 0)
		r = edsig_verify_raw(a->cert.dock_pubkey, tbs, n, a->sig);
	if (r < 0) {
		error_reply(v, seq, -PROTO_E_AUTH, "dock certificate or signature invalid");
		return -PROTO_E_AUTH;
	}
	v->cert = a->cert;
	v->state = READY;
	return reply(v, &m, seq);
}

/* Delete only on a receipt signed by the authenticated dock (whose cert
 * chained to our agency key at AUTH_DOCK) for the exact content. */
static int check_receipt(const struct srv *v, const struct proto_receipt *rc)
{
	const struct cam_rec *rec = store_find(v->st, rc->recording_id);
	uint8_t tbs[PROTO_TBS_MAX];
	size_t n = 0;

	if (!rec)
		return -PROTO_E_NOT_FOUND; /* protocol.md 7.5 step 1 */
	if (strcmp(rc->dock_id, v->cert.dock_id) != 0 ||
	    memcmp(rc->sha256, rec->sha256, PROTO_SHA256_LEN) != 0)
		return -PROTO_E_BAD_RECEIPT;
	if (proto_receipt_tbs(rc, tbs, sizeof(tbs), &n) < 0 ||
	    edsig_verify_raw(v->cert.dock_pubkey, tbs, n, rc->sig) < 0)
		return -PROTO_E_BAD_RECEIPT;
	return 0;
}

static int on_release(struct srv *v, uint32_t seq, const struct proto_receipt *rc)
{
	struct proto_msg m = { .type = PROTO_RELEASE_REPLY };

	if (v->f->refuse_release)
		return error_reply(v, seq, -PROTO_E_BAD_RECEIPT, "hostile: keeps every recording");
	int r = check_receipt(v, rc);

	if (r == -PROTO_E_NOT_FOUND)
		return error_reply(v, seq, r, "no such recording");
	if (r < 0)
		return error_reply(v, seq, -PROTO_E_BAD_RECEIPT, "receipt invalid: nothing deleted");
	if (v->f->keep) { /* valid receipt, recording kept (6.9) */
		memcpy(m.u.release_reply.recording_id, rc->recording_id, sizeof(rc->recording_id));
		return reply(v, &m, seq);
	}
	if (store_release(v->st, rc->recording_id, rc) < 0)
		return error_reply(v, seq, -PROTO_E_INTERNAL, "could not delete");
	memcpy(m.u.release_reply.recording_id, rc->recording_id, sizeof(rc->recording_id));
	m.u.release_reply.deleted = 1;
	return reply(v, &m, seq);
}

static int on_time(struct srv *v, uint32_t seq, int64_t dock_ns)
{
	struct proto_msg m = { .type = PROTO_TIME_REPLY };
	int64_t before = cam_now_ns(v);

	v->st->clock_offset_ns += dock_ns - before;
	m.u.time_reply.camera_before_ns = before;
	m.u.time_reply.camera_after_ns = cam_now_ns(v);
	if (store_save_state(v->st) < 0)
		return error_reply(v, seq, -PROTO_E_INTERNAL, "could not save clock");
	return reply(v, &m, seq);
}

static int on_status(struct srv *v, uint32_t seq)
{
	struct proto_msg m = { .type = PROTO_STATUS_REPLY };
	struct statvfs fs;

	m.u.status_reply.battery_pct = 87;
	if (statvfs(v->st->dir, &fs) == 0) {
		m.u.status_reply.storage_total = (uint64_t)fs.f_blocks * fs.f_frsize;
		m.u.status_reply.storage_free = (uint64_t)fs.f_bavail * fs.f_frsize;
	}
	m.u.status_reply.recordings = (uint32_t)v->st->n;
	return reply(v, &m, seq);
}

static int dispatch(struct srv *v, const struct proto_hdr *h, const struct proto_msg *m)
{
	if (m->type == PROTO_ERROR) {
		dock_sent_error(v, m);
		return -v->dock_error;
	}
	if (m->type == PROTO_HELLO && v->state == WANT_HELLO)
		return on_hello(v, h->seq, &m->u.hello);
	if (m->type == PROTO_AUTH_DOCK && v->state == WANT_AUTH)
		return on_auth(v, h->seq, &m->u.auth_dock);
	if (v->state != READY)
		return error_reply(v, h->seq, -PROTO_E_UNEXPECTED, "authenticate first");
	if (v->f->stall_ms && !v->stalled) {
		v->stalled = true;
		faults_sleep_ms(v->f->stall_ms);
	}
	switch (m->type) {
	case PROTO_LIST_REQ: return on_list(v, h->seq, m->u.list_req.start);
	case PROTO_READ_REQ: return on_read(v, h->seq, &m->u.read_req);
	case PROTO_RELEASE_REQ: return on_release(v, h->seq, &m->u.release_req);
	case PROTO_TIME_SET: return on_time(v, h->seq, m->u.time_set.dock_ns);
	case PROTO_STATUS_REQ: return on_status(v, h->seq);
	case PROTO_BYE: return DONE;
	default: return error_reply(v, h->seq, -PROTO_E_UNEXPECTED, "unexpected message");
	}
}

static int loop(struct srv *v)
{
	struct proto_msg *m = calloc(1, sizeof(*m));
	struct proto_hdr h;
	int r = 0;

	if (!m)
		return -ENOMEM;
	while (r == 0) {
		r = frame_read(v->t, v->rx, PROTO_MAX_FRAME, v->f->idle_ms, &h, m);
		if (r == -PROTO_E_BAD_TYPE) {
			r = error_reply(v, h.seq, r, "unknown message type");
			continue;
		}
		if (r <= -PROTO_E_BASE && r >= -PROTO_E_MAX) {
			error_reply(v, 0, r, "malformed frame");
			break;
		}
		if (r == 0)
			r = dispatch(v, &h, m);
	}
	free(m);
	return r;
}

static int load_keys(struct srv *v)
{
	char path[CAMSIM_PATH_MAX];
	int r;

	if (v->f->unenrolled_key)
		r = edsig_generate(&v->dev);
	else if ((r = store_path(v->st, "device.key", path, sizeof(path))) == 0)
		r = edsig_load_private(path, &v->dev);
	if (r < 0)
		return r;
	if ((r = store_path(v->st, "agency.pub", path, sizeof(path))) < 0)
		return r;
	return edsig_load_public(path, &v->agency);
}

/* Exit status: 0 after BYE or a simulated disconnect, 3 when the dock sent
 * ERROR, 1 on any other failure. */
int serve(struct cam_store *st, const struct cam_faults *f, struct transport *t)
{
	struct srv v = { .st = st, .f = f, .t = t };
	int r;

	if (f->has_clock_offset)
		st->clock_offset_ns = f->clock_offset_s * 1000000000;
	v.rx = malloc(PROTO_MAX_FRAME);
	v.tx = malloc(PROTO_MAX_FRAME);
	v.held = malloc(PROTO_MAX_FRAME);
	v.data = malloc(PROTO_MAX_DATA);
	r = (v.rx && v.tx && v.held && v.data) ? load_keys(&v) : -ENOMEM;
	if (r == 0)
		r = loop(&v);
	if (r < 0 && r != SIM_DISCONNECT && !v.dock_error)
		fprintf(stderr, "camsim: session ended: %s\n", edsig_strerror(r));
	if (r == SIM_DISCONNECT)
		fprintf(stderr, "camsim: simulated disconnect after %llu data bytes\n",
			(unsigned long long)v.data_sent);
	edsig_key_free(v.dev);
	edsig_key_free(v.agency);
	free(v.rx);
	free(v.tx);
	free(v.held);
	free(v.data);
	if (r == DONE || r == SIM_DISCONNECT)
		return 0;
	return v.dock_error ? 3 : 1;
}
