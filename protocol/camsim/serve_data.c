/* serve_data.c - the camera side of the protocol, with test faults: the
 * manifest (LIST_REQ) and the recordings' bytes (READ_REQ). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "camsim.h"
#include "edsig.h"
#include "frame_io.h"
#include "serve_int.h"

/* --hostile short:ID: this recording's signed size over-states it. */
static bool is_short(const struct srv *v, const struct cam_rec *rec)
{
	return v->f->short_id[0] && strcmp(v->f->short_id, rec->id) == 0;
}

static int make_entry(struct srv *v, const struct cam_rec *rec, struct proto_manifest_entry *e)
{
	uint8_t tbs[PROTO_TBS_MAX];
	size_t n = 0;
	int r;

	memset(e, 0, sizeof(*e));
	memcpy(e->recording_id, rec->id, sizeof(e->recording_id));
	e->size = v->f->lie_size >= 0 ? (uint64_t)v->f->lie_size : rec->size;
	if (is_short(v, rec))
		e->size += HOSTILE_SHORT_BY;
	memcpy(e->sha256, rec->sha256, PROTO_SHA256_LEN);
	if (v->f->lie_hash)
		e->sha256[0] ^= 0xff;
	e->start_utc = rec->start_utc;
	e->end_utc = rec->end_utc;
	memcpy(e->category, rec->category, sizeof(e->category));
	e->has_gps = rec->has_gps;
	e->lat_e7 = rec->lat_e7;
	e->lon_e7 = rec->lon_e7;
	if ((r = proto_manifest_tbs(v->st->serial, e, tbs, sizeof(tbs), &n)) < 0 ||
	    (r = edsig_sign(v->dev, tbs, n, e->sig)) < 0)
		return r;
	if (v->f->bad_signature)
		e->sig[5] ^= 0x01;
	return 0;
}

/* The manifest as served: the store's recordings, then (--dup-id) the
 * first one again, then (--claim-total) signed 1-byte FAKE-i entries. */
static uint32_t served_total(const struct srv *v)
{
	uint64_t n = v->st->n + (v->f->dup_id && v->st->n ? 1 : 0);

	if (v->f->claim_total > n)
		n = v->f->claim_total;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static const struct cam_rec *served_rec(const struct srv *v, uint32_t i, struct cam_rec *fake)
{
	if (i < v->st->n)
		return &v->st->recs[i];
	if (i == v->st->n && v->f->dup_id && v->st->n)
		return &v->st->recs[0];
	memset(fake, 0, sizeof(*fake));
	snprintf(fake->id, sizeof(fake->id), "FAKE-%u", i);
	fake->size = 1;
	memset(fake->sha256, 0xfa, sizeof(fake->sha256));
	fake->start_utc = fake->end_utc = 1700000000;
	return fake;
}

int on_list(struct srv *v, uint32_t seq, uint32_t start)
{
	uint32_t total = served_total(v);
	struct proto_msg *m;
	struct cam_rec fake;
	int r = 0;

	if (v->f->abandon_list && v->list_pages >= v->f->abandon_list)
		return SIM_DISCONNECT;
	v->list_pages++;
	if (start > total)
		return error_reply(v, seq, -PROTO_E_RANGE, "list start beyond manifest");
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->type = PROTO_LIST_REPLY;
	m->u.list_reply.total = total;
	for (uint32_t i = start; i < total && m->u.list_reply.count < PROTO_LIST_MAX && r == 0; i++)
		r = make_entry(v, served_rec(v, i, &fake),
			       &m->u.list_reply.entries[m->u.list_reply.count++]);
	if (r == 0 && v->f->misreply && !v->misreplied) {
		v->misreplied = true;
		r = bad_reply(v, m, seq, v->f->misreply);
	} else if (r == 0) {
		r = reply(v, m, seq);
	}
	free(m);
	return r;
}

/* Send one DATA frame of the bytes at p; --out-of-order holds the first
 * frame of the first multi-frame read back and sends it after the second. */
static int send_data_frame(struct srv *v, uint32_t seq, uint64_t off, const uint8_t *p,
			   uint32_t len, bool end)
{
	struct proto_msg m = { .type = PROTO_DATA };
	size_t n = 0;
	int r;

	m.u.data.offset = off;
	m.u.data.len = len;
	m.u.data.data = p;
	if (v->f->out_of_order && !v->swapped && !end) {
		r = proto_frame_encode(&m, seq, 0, v->held, PROTO_MAX_FRAME, &n);
		if (r < 0)
			return r;
		v->held_len = n;
		v->swapped = true;
		return 0;
	}
	r = frame_write(v->t, &m, seq, end ? PROTO_F_END : 0, v->tx, PROTO_MAX_FRAME,
			IO_TIMEOUT_MS);
	if (r == 0 && v->held_len) {
		r = transport_send(v->t, v->held, v->held_len, IO_TIMEOUT_MS);
		v->held_len = 0;
	}
	return r;
}

/* A read-only mapping of one READ_REQ's range (<= PROTO_MAX_READ + a page):
 * the page cache is sent from directly instead of being copied by pread
 * first. base NULL: not mapped, read with pread. */
struct rec_map {
	const uint8_t *base; /* recording byte `start` */
	void *addr;
	size_t len;
	uint64_t start;
};

static void map_range(int fd, uint64_t off, uint64_t end, struct rec_map *mp)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), lo = off & ~(page - 1);
	struct stat st;
	void *a;

	memset(mp, 0, sizeof(*mp));
	/* Map only what the file really holds: touching a page past its end
	 * would be SIGBUS. A short file goes the pread way (and fails). */
	if (end <= off || fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size < end)
		return;
	a = mmap(NULL, (size_t)(end - lo), PROT_READ, MAP_SHARED, fd, (off_t)lo);
	if (a == MAP_FAILED)
		return;
	(void)madvise(a, (size_t)(end - lo), MADV_SEQUENTIAL);
	mp->addr = a;
	mp->len = (size_t)(end - lo);
	mp->start = off;
	mp->base = (const uint8_t *)a + (off - lo);
}

static void unmap_range(struct rec_map *mp)
{
	if (mp->addr)
		munmap(mp->addr, mp->len);
	memset(mp, 0, sizeof(*mp));
}

static int open_rec(const struct srv *v, const char *id)
{
	char path[CAMSIM_PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/rec/%s.bin", v->st->dir, id) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Bytes of the next frame: the chunk size, cut short by --disconnect-after. */
static uint32_t next_len(const struct srv *v, uint64_t left, bool *cut)
{
	uint64_t n = left < v->f->chunk ? left : v->f->chunk;

	*cut = false;
	if (v->f->disconnect_after && v->data_sent + n >= v->f->disconnect_after) {
		n = v->f->disconnect_after - v->data_sent;
		*cut = true;
	}
	return (uint32_t)n;
}

/* The bytes [off, off+n) of the recording: straight from the mapping when
 * there is one (no copy), else read into v->data; --corrupt-at flips a
 * byte in a private copy. NULL when the storage read fails. */
static const uint8_t *frame_bytes(struct srv *v, int fd, const struct rec_map *mp, uint64_t off,
				  uint32_t n)
{
	bool corrupt = v->f->corrupt_at >= (int64_t)off && v->f->corrupt_at < (int64_t)(off + n);

	if (mp->base && !corrupt)
		return mp->base + (off - mp->start);
	if (mp->base)
		memcpy(v->data, mp->base + (off - mp->start), n);
	else if (pread(fd, v->data, n, (off_t)off) != (ssize_t)n)
		return NULL;
	if (corrupt)
		v->data[v->f->corrupt_at - (int64_t)off] ^= 0x5a;
	return v->data;
}

/* --trickle: the pause after a DATA frame, listening: an ERROR from the
 * dock (e.g. too slow) ends the session, as it would on a real camera. */
static int trickle_wait(struct srv *v)
{
	struct proto_msg *m = calloc(1, sizeof(*m));
	struct proto_hdr h;
	int r;

	if (!m)
		return -ENOMEM;
	r = frame_read(v->t, v->rx, PROTO_MAX_FRAME, v->f->trickle_ms, &h, m);
	if (r == -ETIMEDOUT) {
		r = 0;
	} else if (r == 0 && m->type == PROTO_ERROR) {
		dock_sent_error(v, m);
		r = -v->dock_error;
	} else if (r == 0) {
		r = -PROTO_E_UNEXPECTED; /* a request in the middle of our DATA */
	}
	free(m);
	return r;
}

static int stream(struct srv *v, int fd, uint32_t seq, uint64_t off, uint64_t end)
{
	struct rec_map mp;
	int r = flood(v, seq);

	map_range(fd, off, end, &mp);
	while (r == 0 && off < end) {
		bool cut;
		uint32_t n = next_len(v, end - off, &cut);
		const uint8_t *p = n > 0 ? frame_bytes(v, fd, &mp, off, n) : NULL;

		if (n > 0 && !p) {
			r = error_reply(v, seq, -PROTO_E_INTERNAL, "storage read failed");
			break;
		}
		if (n > 0)
			r = send_data_frame(v, seq, off, p, n, off + n == end);
		if (r < 0)
			break;
		v->data_sent += n;
		off += n;
		faults_throttle(v->f, v->data_sent, v->data_start_ns);
		if (v->f->trickle_ms && off < end && (r = trickle_wait(v)) < 0)
			break;
		if (cut) {
			r = SIM_DISCONNECT;
			break;
		}
	}
	unmap_range(&mp);
	return r;
}

int on_read(struct srv *v, uint32_t seq, const struct proto_read_req *q)
{
	const struct cam_rec *rec = store_find(v->st, q->recording_id);
	int fd, r;

	if (!rec)
		return error_reply(v, seq, -PROTO_E_NOT_FOUND, "no such recording");
	uint64_t size = rec->size + (is_short(v, rec) ? HOSTILE_SHORT_BY : 0);
	uint64_t end;

	if (q->offset > size || q->length > size - q->offset)
		return error_reply(v, seq, -PROTO_E_RANGE, "read beyond the recording");
	end = q->offset + q->length;
	if (end > rec->size) { /* short:ID: stop at the real end, flagged END */
		struct proto_msg m = { .type = PROTO_DATA };

		end = rec->size;
		if (q->offset >= end) {
			m.u.data.offset = q->offset;
			return frame_write(v->t, &m, seq, PROTO_F_END, v->tx, PROTO_MAX_FRAME,
					   IO_TIMEOUT_MS);
		}
	}
	fd = open_rec(v, rec->id);
	if (fd < 0)
		return error_reply(v, seq, -PROTO_E_INTERNAL, "recording unreadable");
	if (!v->data_start_ns)
		v->data_start_ns = mono_ns();
	r = stream(v, fd, seq, q->offset, end);
	close(fd);
	return r;
}
