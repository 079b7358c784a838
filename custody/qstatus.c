/* qstatus: the dock's status reply as text. See qstatus.h. */
#include "qstatus.h"
#include "query.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define CELL_MAX 128	/* longest text cell we print (bytes) */

/* Copy a JSON string into buf for a terminal: control characters (C0,
 * DEL, and C1 = U+0080..U+009F, which some terminals obey as escapes)
 * become '?'; cut at cap - 1 bytes on a UTF-8 boundary. "-" if absent. */
static const char *cell(const json_t *v, char *buf, size_t cap)
{
	const unsigned char *s;
	size_t i = 0, o = 0, n;

	if (!json_is_string(v) || json_string_length(v) == 0)
		return "-";
	s = (const unsigned char *)json_string_value(v);
	n = json_string_length(v);
	while (i < n && o + 1 < cap) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 :
			     (c >> 4) == 14 ? 3 : 4;

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < n &&
					      s[i + 1] >= 0x80 &&
					      s[i + 1] < 0xa0)) {
			buf[o++] = '?';
			i += c == 0xc2 ? 2 : 1;
			continue;
		}
		if (o + len >= cap || i + len > n)
			break;
		memcpy(buf + o, s + i, len);
		o += len;
		i += len;
	}
	buf[o] = '\0';
	return buf;
}

static const char *field(const json_t *o, const char *k, char *buf,
			 size_t cap)
{
	return cell(json_object_get(o, k), buf, cap);
}

/* A time member (RFC 3339 UTC in the JSON) in the one form people read
 * everywhere (query.h cust_format_time: local with offset, or Z). */
static const char *tfield(const json_t *o, const char *k, char *buf,
			  size_t cap)
{
	char raw[64];
	const char *v = json_string_value(json_object_get(o, k));

	if (!v || strlen(v) >= sizeof(raw))
		return field(o, k, buf, cap);
	memcpy(raw, v, strlen(v) + 1);
	if (cust_format_time_text(raw, buf, cap))
		return field(o, k, buf, cap);
	return buf;
}

void qstatus_bytes(uint64_t n, char *buf, size_t cap)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, cap, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, unit[u]);
}

void qstatus_duration(int64_t s, char *buf, size_t cap)
{
	if (s < 0)
		snprintf(buf, cap, "-");
	else if (s >= 100 * 3600)
		snprintf(buf, cap, "> 99 h");
	else
		snprintf(buf, cap, "%d:%02d:%02d", (int)(s / 3600),
			 (int)(s / 60 % 60), (int)(s % 60));
}

/* A non-negative integer field; -1 when absent or not one. */
static int64_t count(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (int64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0 &&
	    json_real_value(v) < 9.0e18)
		return (int64_t)json_real_value(v);
	return -1;
}

static void progress(const json_t *r, char *buf, size_t cap)
{
	int64_t done = count(r, "bytes"), size = count(r, "size");
	char a[24], b[24];

	if (done < 0) {
		snprintf(buf, cap, "-");
		return;
	}
	qstatus_bytes((uint64_t)done, a, sizeof(a));
	if (size <= 0) {
		snprintf(buf, cap, "%s", a);
		return;
	}
	qstatus_bytes((uint64_t)size, b, sizeof(b));
	snprintf(buf, cap, "%s / %s %3d%%", a, b,
		 done >= size ? 100 : (int)((double)done * 100.0 / (double)size));
}

static void recording(const json_t *r, FILE *out)
{
	char id[CELL_MAX], st[CELL_MAX], prog[64], rate[32], eta[16], b[24];
	int64_t bps = count(r, "rate_bps");

	progress(r, prog, sizeof(prog));
	if (bps < 0) {
		snprintf(rate, sizeof(rate), "-");
	} else {
		qstatus_bytes((uint64_t)bps, b, sizeof(b));
		snprintf(rate, sizeof(rate), "%s/s", b);
	}
	qstatus_duration(count(r, "eta_s"), eta, sizeof(eta));
	fprintf(out, "  %-32.64s %-12.24s %-26s %-12s %s\n",
		field(r, "evidence_id", id, sizeof(id)),
		json_object_get(r, "state") || !json_object_get(r, "object_key") ?
			field(r, "state", st, sizeof(st)) : "uploading",
		prog, rate, eta);
}

static void more(FILE *out, const char *indent, size_t n)
{
	if (n > QSTATUS_MAX_ROWS)
		fprintf(out, "%s... %zu more\n", indent, n - QSTATUS_MAX_ROWS);
}

static void camera(const json_t *c, FILE *out)
{
	char ser[CELL_MAX], off[CELL_MAX], tr[CELL_MAX], since[CELL_MAX];
	const json_t *recs = json_object_get(c, "recordings"), *r;
	size_t i;

	fprintf(out, "%-20.64s %-16.64s %-10.16s %s\n",
		field(c, "serial", ser, sizeof(ser)),
		field(c, "officer", off, sizeof(off)),
		field(c, "transport", tr, sizeof(tr)),
		tfield(c, "since", since, sizeof(since)));
	if (json_array_size(recs) == 0) {
		fprintf(out, "  (no recording in progress)\n");
		return;
	}
	fprintf(out, "  %-32s %-12s %-26s %-12s %s\n", "EVIDENCE ID", "STATE",
		"PROGRESS", "RATE", "ETA");
	json_array_foreach(recs, i, r) {
		if (i >= QSTATUS_MAX_ROWS)
			break;
		recording(r, out);
	}
	more(out, "  ", json_array_size(recs));
}

static void queue_line(const json_t *q, FILE *out)
{
	int64_t st = count(q, "storage"), rel = count(q, "release_pending");
	int64_t up = count(q, "uploading");
	char a[24] = "-", b[24] = "-";

	if (st >= 0)
		snprintf(a, sizeof(a), "%" PRId64, st);
	if (rel >= 0)
		snprintf(b, sizeof(b), "%" PRId64, rel);
	fprintf(out, "QUEUE  storage: %s  release pending: %s", a, b);
	if (up >= 0)
		fprintf(out, "  uploading: %" PRId64, up);
	fputc('\n', out);
}

/* STORAGE  s3://bucket/x  state: failing since ...  retry at ...
 *   last error: ...                                   (only when present) */
static void storage_line(const json_t *st, FILE *out)
{
	char tg[CELL_MAX], state[CELL_MAX], since[CELL_MAX], retry[CELL_MAX], err[CELL_MAX * 2];
	int64_t workers = count(st, "workers");

	if (!json_is_object(st))
		return;
	fprintf(out, "STORAGE  %s  state: %s", field(st, "target", tg, sizeof(tg)),
		field(st, "state", state, sizeof(state)));
	if (workers >= 0)
		fprintf(out, "  workers: %" PRId64, workers);
	if (json_is_string(json_object_get(st, "since")))
		fprintf(out, "  since %s", tfield(st, "since", since, sizeof(since)));
	if (json_is_string(json_object_get(st, "retry_at")))
		fprintf(out, "  next attempt %s", tfield(st, "retry_at", retry, sizeof(retry)));
	fputc('\n', out);
	if (json_is_string(json_object_get(st, "last_error")))
		fprintf(out, "  last error: %s\n", field(st, "last_error", err, sizeof(err)));
}

static void uploads(const json_t *ups, FILE *out)
{
	const json_t *u;
	size_t i;

	if (json_array_size(ups) == 0)
		return;
	fprintf(out, "UPLOADS (%zu)\n  %-32s %-12s %-26s %-12s %s\n", json_array_size(ups),
		"EVIDENCE ID", "STATE", "PROGRESS", "RATE", "ETA");
	json_array_foreach(ups, i, u) {
		if (i >= QSTATUS_MAX_ROWS)
			break;
		recording(u, out);
	}
	more(out, "  ", json_array_size(ups));
}

int qstatus_format(const json_t *status, FILE *out)
{
	const json_t *cams = json_object_get(status, "cameras"), *c;
	const json_t *alerts = json_object_get(status, "alerts");
	char dock[CELL_MAX], ag[CELL_MAX], when[CELL_MAX], al[CELL_MAX * 2];
	size_t i;

	if (!json_is_object(status) || !out)
		return -EINVAL;
	fprintf(out, "Dock %s (agency %s), %s\n\n",
		field(status, "dock_id", dock, sizeof(dock)),
		field(status, "agency_id", ag, sizeof(ag)),
		tfield(status, "time", when, sizeof(when)));
	if (json_array_size(cams) == 0) {
		fprintf(out, "CAMERAS: none docked\n");
	} else {
		fprintf(out, "CAMERAS (%zu)\n%-20s %-16s %-10s %s\n",
			json_array_size(cams), "SERIAL", "OFFICER",
			"TRANSPORT", "DOCKED SINCE");
		json_array_foreach(cams, i, c) {
			if (i >= QSTATUS_MAX_ROWS)
				break;
			camera(c, out);
		}
		more(out, "", json_array_size(cams));
	}
	fputc('\n', out);
	storage_line(json_object_get(status, "storage"), out);
	uploads(json_object_get(status, "uploads"), out);
	queue_line(json_object_get(status, "queue"), out);
	if (json_array_size(alerts) > 0) {
		fprintf(out, "ALERTS\n");
		json_array_foreach(alerts, i, c) {
			if (i >= QSTATUS_MAX_ROWS)
				break;
			fprintf(out, "  %s\n", cell(c, al, sizeof(al)));
		}
		more(out, "  ", json_array_size(alerts));
	}
	return ferror(out) ? -EIO : 0;
}
