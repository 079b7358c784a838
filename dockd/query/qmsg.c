/* qmsg.c - codec of the query-service channel (qmsg.h). */
#include "qmsg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alert.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t type_cap(uint16_t type)
{
	switch (type) {
	case QM_APPEND: return QMSG_APPEND_MAX;
	case QM_STATUS: case QM_PUBLISH: case QM_PUBLISHED: case QM_ALERTED: return 0;
	case QM_ALERT: return QMSG_ALERT_MAX;
	case QM_APPENDED: return 2 + 8 * QMSG_MAX_EVENTS;
	case QM_FAILED: return 4;
	case QM_STATUS_REPLY: return QMSG_STATUS_MAX;
	default: return UINT32_MAX;	/* unknown */
	}
}

int qmsg_header(const uint8_t hdr[QMSG_HDR], uint16_t *type, uint32_t *len)
{
	uint16_t t = get16(hdr + 2);
	uint32_t n = get32(hdr + 4), cap = type_cap(t);

	if (hdr[0] != 'Q' || hdr[1] != QMSG_VERSION || cap == UINT32_MAX)
		return -EPROTO;
	if (n > cap)
		return -E2BIG;
	*type = t;
	*len = n;
	return 0;
}

void qmsg_put_header(uint8_t hdr[QMSG_HDR], uint16_t type, uint32_t len)
{
	hdr[0] = 'Q';
	hdr[1] = QMSG_VERSION;
	put16(hdr + 2, type);
	put32(hdr + 4, len);
}

int qmsg_encode_append(const struct cust_event *evs, size_t n, uint8_t *buf,
		       size_t cap, size_t *len)
{
	size_t off = 2, el;
	int r;

	if (!evs || n == 0 || n > QMSG_MAX_EVENTS || cap < 2)
		return -EINVAL;
	put16(buf, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		if (cap - off < 4 + CUST_CANON_MAX)
			return -E2BIG;
		r = cust_event_encode(&evs[i], buf + off + 4, cap - off - 4, &el);
		if (r)
			return r;
		put32(buf + off, (uint32_t)el);
		off += 4 + el;
	}
	*len = off;
	return 0;
}

int qmsg_decode_append(const uint8_t *p, size_t len, struct cust_event *evs,
		       size_t cap, size_t *n)
{
	size_t off = 2, cnt;

	if (len < 2)
		return -EPROTO;
	cnt = get16(p);
	if (cnt == 0 || cnt > QMSG_MAX_EVENTS || cnt > cap)
		return -EPROTO;
	for (size_t i = 0; i < cnt; i++) {
		uint32_t el;

		if (len - off < 4)
			return -EPROTO;
		el = get32(p + off);
		off += 4;
		if (el > CUST_CANON_MAX || el > len - off)
			return -EPROTO;
		if (cust_event_decode(p + off, el, &evs[i]) < 0)
			return -EPROTO;
		off += el;
	}
	if (off != len)
		return -EPROTO;
	*n = cnt;
	return 0;
}

int qmsg_encode_appended(const uint64_t *seqs, size_t n, uint8_t *buf, size_t cap,
			 size_t *len)
{
	if (n == 0 || n > QMSG_MAX_EVENTS || cap < 2 + 8 * n)
		return -EINVAL;
	put16(buf, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		put32(buf + 2 + 8 * i, (uint32_t)(seqs[i] >> 32));
		put32(buf + 6 + 8 * i, (uint32_t)seqs[i]);
	}
	*len = 2 + 8 * n;
	return 0;
}

int qmsg_decode_appended(const uint8_t *p, size_t len, uint64_t *seqs, size_t n)
{
	uint64_t v[QMSG_MAX_EVENTS];

	if (n == 0 || n > QMSG_MAX_EVENTS || len != 2 + 8 * n || get16(p) != n)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint64_t)get32(p + 2 + 8 * i) << 32 | get32(p + 6 + 8 * i);
		if (v[i] == 0)
			return -EPROTO;
	}
	memcpy(seqs, v, n * sizeof(v[0]));
	return 0;
}

int qmsg_encode_alert(const struct alert *a, uint8_t *buf, size_t cap, size_t *len)
{
	const char *f[6];
	uint64_t uid;
	size_t off = 8;

	if (!a || cap < QMSG_ALERT_MAX)
		return -EINVAL;
	f[0] = a->kind, f[1] = a->user, f[2] = a->agency;
	f[3] = a->op, f[4] = a->target, f[5] = a->detail;
	uid = a->uid < -1 ? (uint64_t)-1 : (uint64_t)(int64_t)a->uid;
	put32(buf, (uint32_t)(uid >> 32));
	put32(buf + 4, (uint32_t)uid);
	for (int i = 0; i < 6; i++) {
		size_t n = f[i] ? strnlen(f[i], QMSG_ALERT_FIELD_MAX) : 0;

		put16(buf + off, (uint16_t)n);
		if (n)
			memcpy(buf + off + 2, f[i], n);
		off += 2 + n;
	}
	*len = off;
	return 0;
}

int qmsg_decode_alert(const uint8_t *p, size_t len, struct alert *a, char *strs,
		      size_t cap)
{
	const char *f[6];
	int64_t uid;
	size_t off = 8, at = 0;

	if (cap < 6 * (QMSG_ALERT_FIELD_MAX + 1))
		return -EINVAL;
	if (len < 8)
		return -EPROTO;
	uid = (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
	if (uid < -1 || uid > (int64_t)0xffffffffLL)
		return -EPROTO;
	for (int i = 0; i < 6; i++) {
		size_t n;

		if (len - off < 2)
			return -EPROTO;
		n = get16(p + off);
		off += 2;
		if (n > QMSG_ALERT_FIELD_MAX || n > len - off || memchr(p + off, 0, n))
			return -EPROTO;
		f[i] = NULL;
		if (n) {
			memcpy(strs + at, p + off, n);
			strs[at + n] = 0;
			f[i] = strs + at;
			at += n + 1;
		}
		off += n;
	}
	if (off != len)
		return -EPROTO;
	memset(a, 0, sizeof(*a));
	a->uid = (long)uid;
	a->kind = f[0], a->user = f[1], a->agency = f[2];
	a->op = f[3], a->target = f[4], a->detail = f[5];
	return 0;
}

int qmsg_alert_kind_allowed(const char *kind)
{
	static const char *const kinds[] = { "access-denied", "unknown-user",
					     "console-lockout", "destruction-refused",
					     "receipt-refused" };

	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return 1;
	return 0;
}

int qmsg_action_allowed(int a, int o)
{
	switch (a) {
	/* the service's own audit trail (qrequest.c, qconsole.c) */
	case CUST_A_LOGON: case CUST_A_LEDGER_READ: case CUST_A_ACCESS_DENIED:
	case CUST_A_CONSOLE_LOGIN: case CUST_A_CONSOLE_LOGOUT:
	case CUST_A_CONSOLE_PAGE_VIEW: case CUST_A_CONSOLE_DOWNLOAD:
	case CUST_A_CONSOLE_REFUSED: case CUST_A_CONSOLE_LOCKOUT:
	/* clerks' and supervisors' metadata edits (qedit.c) */
	case CUST_A_CATEGORIZED: case CUST_A_HOLD_SET: case CUST_A_HOLD_CLEARED:
	case CUST_A_CASE_ASSIGNED: case CUST_A_CASE_UNASSIGNED: case CUST_A_ANNOTATED:
	case CUST_A_RETENTION_SET: case CUST_A_RETENTION_EXTENDED:
	/* destruction, two people (qdestroy.c); dockd's lifecycle destroys */
	case CUST_A_DESTRUCTION_REQUESTED: case CUST_A_DESTRUCTION_APPROVED:
	/* exports and their receipts (qexport.c) */
	case CUST_A_EXPORTED: case CUST_A_SHARED: case CUST_A_EXPORT_RECEIPT_FILED:
	case CUST_A_OFFLINE_RECEIPTS_ISSUED:
		return 1;
	/* user administration changes the users table with its event in one
	 * transaction (users.c), which a read-only process cannot do: only
	 * the record of a refused or failed attempt passes */
	case CUST_A_USER_ADDED: case CUST_A_USER_REMOVED: case CUST_A_PERMISSION_CHANGED:
		return o != CUST_OUTCOME_OK;
	default:
		return 0;
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (r == 0)
			return -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int qmsg_send(int fd, uint16_t type, const void *body, uint32_t len)
{
	uint8_t hdr[QMSG_HDR];
	int r;

	if (len > type_cap(type) || (len && !body))
		return -EINVAL;
	qmsg_put_header(hdr, type, len);
	r = write_all(fd, hdr, sizeof(hdr));
	return r ? r : write_all(fd, body, len);
}

int qmsg_recv(int fd, uint8_t *buf, size_t cap, uint16_t *type, uint32_t *len)
{
	uint8_t hdr[QMSG_HDR];
	uint16_t t;
	uint32_t n;
	int r = read_all(fd, hdr, sizeof(hdr));

	if (r)
		return r;
	if ((r = qmsg_header(hdr, &t, &n)))
		return r;
	if (n > cap)
		return -E2BIG;
	if ((r = read_all(fd, buf, n)))
		return r;
	*type = t;
	*len = n;
	return 0;
}
