/* wire_util.c - field rules, names and messages for the wire codec.
 * See wire.h and docs/protocol.md ("Field encodings"). */
#define _GNU_SOURCE /* strerrordesc_np: thread-safe errno text */
#include <errno.h>
#include <string.h>

#include "wire_priv.h"

bool wire_type_known(uint8_t type)
{
	switch (type) {
	case PROTO_HELLO: case PROTO_HELLO_REPLY: case PROTO_AUTH_DOCK: case PROTO_AUTH_OK:
	case PROTO_LIST_REQ: case PROTO_LIST_REPLY: case PROTO_READ_REQ: case PROTO_DATA:
	case PROTO_RELEASE_REQ: case PROTO_RELEASE_REPLY: case PROTO_TIME_SET:
	case PROTO_TIME_REPLY: case PROTO_STATUS_REQ: case PROTO_STATUS_REPLY: case PROTO_BYE:
	case PROTO_ERROR:
		return true;
	default:
		return false;
	}
}

static bool id_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

/* Length of the UTF-8 sequence at s[0..n), or 0 when it is not a valid,
 * shortest-form scalar value (RFC 3629: no overlongs, no surrogates). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t need;
	uint32_t min, v;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2; min = 0x80; v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3; min = 0x800; v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4; min = 0x10000; v = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return need;
}

int wire_check_str(const uint8_t *s, size_t n, size_t max, enum wire_str_kind kind)
{
	if (n > max)
		return -PROTO_E_TOO_LONG;
	if (kind == WIRE_ID) {
		if (n == 0)
			return -PROTO_E_BAD_STRING;
		for (size_t i = 0; i < n; i++)
			if (!id_char(s[i]))
				return -PROTO_E_BAD_STRING;
		return 0;
	}
	/* text: printable, valid UTF-8 - it ends up in logs, JSON and the ledger */
	for (size_t i = 0; i < n;) {
		size_t k;

		if (s[i] < 0x20 || s[i] == 0x7F)
			return -PROTO_E_BAD_STRING;
		k = utf8_seq(s + i, n - i);
		if (k == 0)
			return -PROTO_E_BAD_STRING;
		i += k;
	}
	return 0;
}

bool proto_id_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, PROTO_ID_MAX + 1);
	return wire_check_str((const uint8_t *)s, n, PROTO_ID_MAX, WIRE_ID) == 0;
}

int wire_check_hello(const struct proto_hello *h)
{
	return (h->version_min == 0 || h->version_min > h->version_max) ? -PROTO_E_BAD_FIELD : 0;
}

int wire_check_cert(const struct proto_dock_cert *c)
{
	return c->not_before > c->not_after ? -PROTO_E_BAD_FIELD : 0;
}

int wire_check_entry(const struct proto_manifest_entry *e)
{
	if (e->size > (uint64_t)INT64_MAX || e->start_utc > e->end_utc)
		return -PROTO_E_BAD_FIELD;
	if (!e->has_gps)
		/* canonical form: absent position is encoded as zeros */
		return (e->lat_e7 || e->lon_e7) ? -PROTO_E_BAD_FIELD : 0;
	if (e->lat_e7 < -WIRE_LAT_MAX || e->lat_e7 > WIRE_LAT_MAX ||
	    e->lon_e7 < -WIRE_LON_MAX || e->lon_e7 > WIRE_LON_MAX)
		return -PROTO_E_BAD_FIELD;
	return 0;
}

int wire_check_read(const struct proto_read_req *r)
{
	if (r->length == 0 || r->length > PROTO_MAX_READ)
		return -PROTO_E_BAD_FIELD;
	if (r->offset > (uint64_t)INT64_MAX - r->length)
		return -PROTO_E_BAD_FIELD;
	return 0;
}

int wire_check_data(const struct proto_data *d)
{
	if (d->len > PROTO_MAX_DATA)
		return -PROTO_E_TOO_LONG;
	if (d->offset > (uint64_t)INT64_MAX - d->len)
		return -PROTO_E_BAD_FIELD;
	return 0;
}

int wire_check_status(const struct proto_status_reply *s)
{
	if (s->battery_pct > 100 || s->storage_free > s->storage_total)
		return -PROTO_E_BAD_FIELD;
	return 0;
}

int wire_check_error(const struct proto_error *e)
{
	return (e->code < 1 || e->code > PROTO_E_MAX - PROTO_E_BASE) ? -PROTO_E_BAD_FIELD : 0;
}

int wire_check_flags(uint8_t type, uint16_t flags)
{
	if (flags & ~PROTO_F_MASK)
		return -PROTO_E_BAD_FLAGS;
	/* END only means something on DATA; elsewhere it is an undefined bit */
	if ((flags & PROTO_F_END) && type != PROTO_DATA)
		return -PROTO_E_BAD_FLAGS;
	return 0;
}

static const char *const err_names[PROTO_E_MAX - PROTO_E_BASE] = {
	"bad magic (not a BCDK frame)",
	"unsupported protocol version",
	"unknown message type",
	"undefined flag bits set",
	"length above limit",
	"truncated frame or field",
	"CRC-32 mismatch",
	"trailing bytes after last field",
	"invalid string (empty id, bad charset, control character)",
	"field value out of range",
	"out-of-order sequence or offset",
	"unexpected message in this state",
	"signature or certificate did not verify",
	"device not enrolled or key differs from enrolment",
	"recording not found",
	"read range outside the recording",
	"release receipt invalid (nothing deleted)",
	"camera busy, retry later",
	"camera internal failure",
	"data disagrees with the signed manifest",
};

const char *proto_strerror(int err)
{
	const char *s;

	if (err == 0)
		return "success";
	if (err <= -(PROTO_E_BASE + 1) && err >= -PROTO_E_MAX)
		return err_names[-err - PROTO_E_BASE - 1];
	if (err < 0 && err > -PROTO_E_BASE) {
		s = strerrordesc_np(-err);
		if (s)
			return s;
	}
	return "unknown error";
}

const char *proto_type_name(uint8_t type)
{
	switch (type) {
	case PROTO_HELLO: return "HELLO";
	case PROTO_HELLO_REPLY: return "HELLO_REPLY";
	case PROTO_AUTH_DOCK: return "AUTH_DOCK";
	case PROTO_AUTH_OK: return "AUTH_OK";
	case PROTO_LIST_REQ: return "LIST_REQ";
	case PROTO_LIST_REPLY: return "LIST_REPLY";
	case PROTO_READ_REQ: return "READ_REQ";
	case PROTO_DATA: return "DATA";
	case PROTO_RELEASE_REQ: return "RELEASE_REQ";
	case PROTO_RELEASE_REPLY: return "RELEASE_REPLY";
	case PROTO_TIME_SET: return "TIME_SET";
	case PROTO_TIME_REPLY: return "TIME_REPLY";
	case PROTO_STATUS_REQ: return "STATUS_REQ";
	case PROTO_STATUS_REPLY: return "STATUS_REPLY";
	case PROTO_BYE: return "BYE";
	case PROTO_ERROR: return "ERROR";
	default: return "UNKNOWN";
	}
}
