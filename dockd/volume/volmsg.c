/* volmsg.c - the volume reader worker's messages (see volmsg.h). */
#include <errno.h>
#include <string.h>

#include "volmsg.h"

struct rd {
	const uint8_t *p;
	size_t n, at;
	int bad;
};

struct wr {
	uint8_t *p;
	size_t cap, at;
	int full;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || r->n - r->at < n) {
		r->bad = 1;
		return NULL;
	}
	q = r->p + r->at;
	r->at += n;
	return q;
}

static uint64_t get_le(struct rd *r, size_t n)
{
	const uint8_t *q = take(r, n);
	uint64_t v = 0;

	for (size_t i = 0; q && i < n; i++)
		v |= (uint64_t)q[i] << (8 * i);
	return v;
}

/* str[cap] into out (cap + 1 bytes); no NUL allowed. */
static void get_str(struct rd *r, char *out, size_t cap)
{
	size_t n = (size_t)get_le(r, 2);
	const uint8_t *q;

	if (r->bad || n > cap) {
		r->bad = 1;
		return;
	}
	q = take(r, n);
	if (!q || memchr(q, 0, n)) {
		r->bad = 1;
		return;
	}
	memcpy(out, q, n);
	out[n] = '\0';
}

static void put_le(struct wr *w, uint64_t v, size_t n)
{
	if (w->full || w->cap - w->at < n) {
		w->full = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->at++] = (uint8_t)(v >> (8 * i));
}

static void put_str(struct wr *w, const char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n > cap) {
		w->full = 2;
		return;
	}
	put_le(w, n, 2);
	if (w->full || w->cap - w->at < n) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->at, s, n);
	w->at += n;
}

const char *volmsg_skip_name(uint8_t why)
{
	switch (why) {
	case VS_SYMLINK: return "symlink";
	case VS_NOT_REGULAR: return "not a regular file";
	case VS_BAD_NAME: return "name refused";
	case VS_TOO_DEEP: return "too deep";
	case VS_UNREADABLE: return "unreadable";
	}
	return "?";
}

static int known(uint8_t t)
{
	return t == VM_LIST || t == VM_READ || t == VM_BYE || t == VM_DATA || t == VM_FILE ||
	       t == VM_SKIP || t == VM_LIST_DONE || t == VM_READ_DONE || t == VM_DELETE ||
	       t == VM_DELETE_DONE;
}

int volmsg_hdr_decode(const uint8_t b[LINKMSG_HDR_LEN], struct linkmsg_hdr *out)
{
	uint32_t len = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
		       (uint32_t)b[7] << 24;

	if (b[0] != VOLMSG_VERSION || !known(b[1]) || b[2] || b[3])
		return -EPROTO;
	if (b[1] == VM_DATA ? (len < 8 || len > LINKMSG_DATA_MAX) : len > LINKMSG_SMALL_MAX)
		return -EPROTO;
	out->type = b[1];
	out->length = len;
	return 0;
}

/* A path: 1..PROFILE_PATH_MAX bytes, components joined by single '/', each
 * profile_name_ok, at most PROFILE_DEPTH_MAX of them. */
static int path_ok(const char *s)
{
	char buf[PROFILE_PATH_MAX + 1];
	size_t n = strlen(s), start = 0;
	int depth = 0;

	if (n == 0 || n > PROFILE_PATH_MAX)
		return 0;
	memcpy(buf, s, n + 1);
	for (size_t i = 0; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (++depth > PROFILE_DEPTH_MAX || !profile_name_ok(buf + start))
			return 0;
		start = i + 1;
	}
	return 1;
}

int volmsg_decode(const struct linkmsg_hdr *h, const uint8_t *p, struct volmsg *out)
{
	struct rd r = { p, h->length, 0, 0 };
	struct volmsg m;

	memset(&m, 0, sizeof(m));
	m.type = h->type;
	switch (h->type) {
	case VM_LIST:
		m.u.list.max_depth = (uint8_t)get_le(&r, 1);
		m.u.list.max_files = (uint32_t)get_le(&r, 4);
		m.u.list.n = (uint8_t)get_le(&r, 1);
		if (m.u.list.max_depth < 1 || m.u.list.max_depth > PROFILE_DEPTH_MAX ||
		    m.u.list.max_files < 1 || m.u.list.max_files > PROFILE_FILES_MAX ||
		    m.u.list.n > VOLMSG_PATTERNS_MAX)
			return -EPROTO;
		for (unsigned i = 0; i < m.u.list.n && !r.bad; i++) {
			m.u.list.kind[i] = (uint8_t)get_le(&r, 1);
			get_str(&r, m.u.list.pat[i], PROFILE_PATTERN_MAX);
			if (!r.bad && (m.u.list.kind[i] < PROFILE_RECORDING ||
				       m.u.list.kind[i] > PROFILE_ID ||
				       !profile_pattern_ok(m.u.list.pat[i])))
				return -EPROTO;
		}
		break;
	case VM_READ:
		m.u.read.index = (uint32_t)get_le(&r, 4);
		m.u.read.offset = get_le(&r, 8);
		m.u.read.length = get_le(&r, 8);
		m.u.read.uncached = (uint8_t)get_le(&r, 1);
		if (m.u.read.uncached > 1 || m.u.read.offset > INT64_MAX ||
		    m.u.read.length > INT64_MAX - m.u.read.offset)
			return -EPROTO;
		break;
	case VM_BYE:
		break;
	case VM_DELETE:
		m.u.read.index = (uint32_t)get_le(&r, 4);
		break;
	case VM_DATA:
		m.u.data.offset = get_le(&r, 8);
		m.u.data.len = h->length - 8;
		m.u.data.data = take(&r, m.u.data.len);
		break;
	case VM_FILE:
		m.u.file.index = (uint32_t)get_le(&r, 4);
		m.u.file.kind = (uint8_t)get_le(&r, 1);
		m.u.file.size = get_le(&r, 8);
		m.u.file.mtime_s = (int64_t)get_le(&r, 8);
		get_str(&r, m.u.file.path, PROFILE_PATH_MAX);
		if (!r.bad && ((m.u.file.kind < PROFILE_RECORDING ||
				m.u.file.kind > PROFILE_ID) ||
			       m.u.file.size > INT64_MAX || !path_ok(m.u.file.path)))
			return -EPROTO;
		break;
	case VM_SKIP:
		m.u.skip.why = (uint8_t)get_le(&r, 1);
		get_str(&r, m.u.skip.path, PROFILE_PATH_MAX);
		/* the path of a refused entry is shown, never used: any bytes but
		 * control bytes (so a log line stays one line) */
		for (const char *s = m.u.skip.path; !r.bad && *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				return -EPROTO;
		if (!r.bad && (m.u.skip.why < 1 || m.u.skip.why > VS_MAX_))
			return -EPROTO;
		break;
	case VM_LIST_DONE:
	case VM_READ_DONE:
	case VM_DELETE_DONE:
		m.u.done.result = (int32_t)get_le(&r, 4);
		if (h->type == VM_LIST_DONE)
			m.u.done.files = (uint32_t)get_le(&r, 4);
		else
			m.u.result = m.u.done.result;
		if (m.u.done.result > 0 || m.u.done.result < -4095)
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	if (r.bad || r.at != r.n)
		return -EPROTO;
	*out = m;
	return 0;
}

int volmsg_encode(const struct volmsg *m, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wr w = { buf, cap, LINKMSG_HDR_LEN, 0 };
	size_t len;

	if (cap < LINKMSG_HDR_LEN)
		return -ENOSPC;
	switch (m->type) {
	case VM_LIST:
		put_le(&w, m->u.list.max_depth, 1);
		put_le(&w, m->u.list.max_files, 4);
		put_le(&w, m->u.list.n, 1);
		for (unsigned i = 0; i < m->u.list.n && i < VOLMSG_PATTERNS_MAX; i++) {
			put_le(&w, m->u.list.kind[i], 1);
			put_str(&w, m->u.list.pat[i], PROFILE_PATTERN_MAX);
		}
		break;
	case VM_READ:
		put_le(&w, m->u.read.index, 4);
		put_le(&w, m->u.read.offset, 8);
		put_le(&w, m->u.read.length, 8);
		put_le(&w, m->u.read.uncached, 1);
		break;
	case VM_BYE:
		break;
	case VM_DELETE:
		put_le(&w, m->u.read.index, 4);
		break;
	case VM_DATA:
		if (m->u.data.len > PROTO_MAX_DATA)
			return -EINVAL;
		put_le(&w, m->u.data.offset, 8);
		break;
	case VM_FILE:
		put_le(&w, m->u.file.index, 4);
		put_le(&w, m->u.file.kind, 1);
		put_le(&w, m->u.file.size, 8);
		put_le(&w, (uint64_t)m->u.file.mtime_s, 8);
		put_str(&w, m->u.file.path, PROFILE_PATH_MAX);
		break;
	case VM_SKIP:
		put_le(&w, m->u.skip.why, 1);
		put_str(&w, m->u.skip.path, PROFILE_PATH_MAX);
		break;
	case VM_LIST_DONE:
		put_le(&w, (uint32_t)m->u.done.result, 4);
		put_le(&w, m->u.done.files, 4);
		break;
	case VM_READ_DONE:
	case VM_DELETE_DONE:
		put_le(&w, (uint32_t)m->u.result, 4);
		break;
	default:
		return -EINVAL;
	}
	if (w.full)
		return w.full == 2 ? -EINVAL : -ENOSPC;
	len = w.at - LINKMSG_HDR_LEN + (m->type == VM_DATA ? m->u.data.len : 0);
	buf[0] = VOLMSG_VERSION;
	buf[1] = m->type;
	buf[2] = buf[3] = 0;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(len >> (8 * i));
	*len_out = w.at;
	return 0;
}

void volmsg_list_from_profile(const struct msc_profile *p, struct volmsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = VM_LIST;
	m->u.list.max_depth = p->max_depth;
	m->u.list.max_files = p->max_files;
	for (unsigned i = 0; i < p->n_rec; i++) {
		m->u.list.kind[m->u.list.n] = PROFILE_RECORDING;
		memcpy(m->u.list.pat[m->u.list.n++], p->rec[i], sizeof(p->rec[i]));
	}
	for (unsigned i = 0; i < p->n_side; i++) {
		m->u.list.kind[m->u.list.n] = PROFILE_SIDECAR;
		memcpy(m->u.list.pat[m->u.list.n++], p->side[i], sizeof(p->side[i]));
	}
	if (p->id_file[0]) {
		m->u.list.kind[m->u.list.n] = PROFILE_ID;
		memcpy(m->u.list.pat[m->u.list.n++], p->id_file, sizeof(p->id_file));
	}
}

int volmsg_list_to_profile(const struct volmsg *m, struct msc_profile *p)
{
	struct msc_profile q;

	if (m->type != VM_LIST || profile_init(&q, "worker") < 0)
		return -EINVAL;
	q.max_depth = m->u.list.max_depth;
	q.max_files = m->u.list.max_files;
	for (unsigned i = 0; i < m->u.list.n && i < VOLMSG_PATTERNS_MAX; i++) {
		int rec = m->u.list.kind[i] == PROFILE_RECORDING;
		uint8_t *n = rec ? &q.n_rec : &q.n_side;

		if (m->u.list.kind[i] == PROFILE_ID) {
			if (q.id_file[0])
				return -EINVAL; /* one id file */
			memcpy(q.id_file, m->u.list.pat[i], sizeof(q.id_file));
			continue;
		}

		if (*n >= PROFILE_PATTERNS_MAX)
			return -EINVAL;
		memcpy(rec ? q.rec[*n] : q.side[*n], m->u.list.pat[i], PROFILE_PATTERN_MAX + 1);
		(*n)++;
	}
	*p = q;
	return 0;
}
