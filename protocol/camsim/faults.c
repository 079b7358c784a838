/* faults.c - camsim's misbehaviour switches (each one used by a test). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camsim.h"

void faults_default(struct cam_faults *f)
{
	memset(f, 0, sizeof(*f));
	f->corrupt_at = -1;
	f->lie_size = -1;
	f->chunk = PROTO_MAX_DATA;
	f->idle_ms = 600000; /* a docked camera may wait while the dock uploads */
}

static int num(const char *val, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!val)
		return -EINVAL;
	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno || end == val || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Options without a value. */
static int flag(struct cam_faults *f, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{ "bad-signature", offsetof(struct cam_faults, bad_signature) },
		{ "lie-hash", offsetof(struct cam_faults, lie_hash) },
		{ "out-of-order", offsetof(struct cam_faults, out_of_order) },
		{ "wrong-version", offsetof(struct cam_faults, wrong_version) },
		{ "unenrolled-key", offsetof(struct cam_faults, unenrolled_key) },
		{ "bad-identity-signature", offsetof(struct cam_faults, bad_identity) },
		{ "keep", offsetof(struct cam_faults, keep) },
		{ "dup-id", offsetof(struct cam_faults, dup_id) },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(name, flags[i].name) == 0) {
			*(bool *)((char *)f + flags[i].off) = true;
			return 1;
		}
	return 0;
}

static int mode(const char *val, bool silent_ok, int *out)
{
	static const char *const names[] = { "crc", "seq", "type", "silent" };

	for (int i = 0; val && i < (silent_ok ? 4 : 3); i++)
		if (strcmp(val, names[i]) == 0) {
			*out = FAULT_BAD_CRC + i;
			return 0;
		}
	return -EINVAL;
}

/* --hostile MODE: clock-min | refuse-release | short:ID */
static int hostile(struct cam_faults *f, const char *m)
{
	if (!m)
		return -EINVAL;
	if (strcmp(m, "clock-min") == 0)
		f->clock_min = true;
	else if (strcmp(m, "refuse-release") == 0)
		f->refuse_release = true;
	else if (strncmp(m, "short:", 6) == 0 && proto_id_valid(m + 6))
		snprintf(f->short_id, sizeof(f->short_id), "%s", m + 6);
	else
		return -EINVAL;
	return 0;
}

int faults_parse(struct cam_faults *f, const char *name, const char *val)
{
	int64_t v = 0;
	int r = flag(f, name);

	if (r)
		return r;
	if (strcmp(name, "disconnect-after") == 0)
		r = num(val, 0, INT64_MAX, &v), f->disconnect_after = (uint64_t)v;
	else if (strcmp(name, "corrupt-at") == 0)
		r = num(val, 0, INT64_MAX, &v), f->corrupt_at = v;
	else if (strcmp(name, "lie-size") == 0)
		r = num(val, 0, INT64_MAX, &v), f->lie_size = v;
	else if (strcmp(name, "stall") == 0)
		r = num(val, 0, 3600000, &v), f->stall_ms = (int)v;
	else if (strcmp(name, "slow") == 0)
		r = num(val, 1, INT64_MAX, &v), f->slow_bps = (uint64_t)v;
	else if (strcmp(name, "flood") == 0)
		r = num(val, 0, 1000000, &v), f->flood = (int)v;
	else if (strcmp(name, "clock-offset") == 0)
		r = num(val, -(INT64_C(1) << 32), INT64_C(1) << 32, &v), f->clock_offset_s = v,
		f->has_clock_offset = true;
	else if (strcmp(name, "idle-timeout") == 0)
		r = num(val, 1, 86400000, &v), f->idle_ms = (int)v;
	else if (strcmp(name, "trickle") == 0)
		r = num(val, 1, 3600000, &v), f->trickle_ms = (int)v;
	else if (strcmp(name, "claim-total") == 0)
		r = num(val, 1, UINT32_MAX, &v), f->claim_total = (uint32_t)v;
	else if (strcmp(name, "abandon-list") == 0)
		r = num(val, 1, UINT32_MAX, &v), f->abandon_list = (uint32_t)v;
	else if (strcmp(name, "bad-hello") == 0)
		r = mode(val, true, &f->bad_hello);
	else if (strcmp(name, "misreply") == 0)
		r = mode(val, false, &f->misreply);
	else if (strcmp(name, "hostile") == 0)
		r = hostile(f, val);
	else if (strcmp(name, "chunk") == 0)
		r = num(val, 1, PROTO_MAX_DATA, &v), f->chunk = (uint32_t)v;
	else
		return 0;
	return r < 0 ? r : 1;
}

void faults_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --slow: after `sent` data bytes since start_ns (CLOCK_MONOTONIC), sleep
 * until the average rate is back under slow_bps. */
void faults_throttle(const struct cam_faults *f, uint64_t sent, int64_t start_ns)
{
	struct timespec now;
	int64_t due_ns, elapsed;

	if (!f->slow_bps)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - start_ns;
	due_ns = (int64_t)((double)sent / (double)f->slow_bps * 1e9);
	if (due_ns > elapsed)
		faults_sleep_ms((int)((due_ns - elapsed) / 1000000) + 1);
}
