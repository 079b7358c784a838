/* main.c - camsim: a reference body camera for tests and demos.
 *
 *   camsim init  --dir D --serial S --model M --officer O --agency-pub FILE
 *   camsim add   --dir D --id REC --file PATH --category C
 *                [--start T --end T --gps LAT,LON]
 *   camsim serve --dir D (--connect SOCKPATH | --fd N) [faults]
 *   camsim list  --dir D
 *   camsim --help             usage and every serve option (stdout, exit 0)
 *
 * Faults (serve), each used by a test:
 *   --disconnect-after BYTES  close the link once BYTES data bytes were sent
 *                             (the last DATA frame is cut to land exactly)
 *   --corrupt-at OFFSET       flip a byte at OFFSET when serving (the signed
 *                             manifest keeps the true hash)
 *   --bad-signature           manifest signatures invalid
 *   --lie-size N, --lie-hash  manifest lies about size / sha256, and signs it
 *   --stall MS                sleep MS before answering the first request
 *                             after authentication
 *   --slow BYTES_PER_SEC      throttle DATA
 *   --flood N                 N unknown-type frames before every reply
 *   --out-of-order            send the first two DATA frames swapped (once)
 *   --wrong-version           HELLO_REPLY says version 9
 *   --unenrolled-key          sign with a fresh key, not the enrolled one
 *   --bad-identity-signature  HELLO_REPLY's identity signature does not verify
 *   --clock-offset SECONDS    camera clock offset for this run
 *   --trickle MS              sleep MS after every DATA frame (with --chunk 1:
 *                             one legal 1-byte frame every MS: a camera that
 *                             holds a bay without moving data)
 *   --bad-hello MODE          HELLO_REPLY broken: crc (bad CRC-32), seq (wrong
 *                             seq), type (AUTH_OK instead), silent (no reply)
 *   --misreply MODE           the first LIST_REPLY broken after authentication:
 *                             crc, seq or type (STATUS_REPLY instead)
 *   --keep                    RELEASE_REPLY deleted=0 for valid receipts (the
 *                             camera's retention policy keeps the recording)
 *   --dup-id                  the manifest lists the first recording twice
 *   --claim-total N           the manifest claims N recordings, padded with
 *                             validly signed 1-byte entries FAKE-i
 *   --abandon-list K          hang up at the LIST_REQ after K pages
 *   --hostile MODE            a camera written to break the dock (repeatable):
 *       clock-min             HELLO_REPLY's clock_ns is INT64_MIN
 *       refuse-release        answer every RELEASE_REQ with ERROR BAD_RECEIPT
 *                             (the camera keeps everything)
 *       short:ID              ID's signed manifest entry claims 4096 bytes
 *                             more than the camera holds; its DATA ends,
 *                             flagged END, at the real end (a length mismatch)
 * Tuning: --chunk BYTES (DATA frame size), --idle-timeout MS (wait for the
 * dock's next request; default 10 min).
 * serve exits 0 after BYE (or a simulated disconnect), 3 when the dock sent
 * ERROR, 1 on any other failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camsim.h"
#include "edsig.h"
#include "transport_sock.h"

#define MAX_OPTS 32

struct opt {
	const char *name, *val;
};

struct args {
	struct opt o[MAX_OPTS];
	int n;
};

static int usage_to(FILE *out)
{
	fputs("usage: camsim init --dir D --serial S --model M --officer O --agency-pub FILE\n"
	      "       camsim add --dir D --id REC --file PATH --category C"
	      " [--start T --end T --gps LAT,LON]\n"
	      "       camsim serve --dir D (--connect SOCK | --fd N) [faults]\n"
	      "       camsim list --dir D\n"
	      "serve faults: --disconnect-after N --corrupt-at OFF --bad-signature --lie-size N\n"
	      "  --lie-hash --stall MS --slow BPS --flood N --out-of-order --wrong-version\n"
	      "  --unenrolled-key --bad-identity-signature --clock-offset S\n"
	      "  --trickle MS (sleep after every DATA frame; with --chunk 1: 1 byte per MS)\n"
	      "  --bad-hello crc|seq|type|silent (HELLO_REPLY broken or never sent)\n"
	      "  --misreply crc|seq|type (the first LIST_REPLY broken after AUTH_OK)\n"
	      "  --keep (RELEASE_REPLY deleted=0: receipt valid, recording kept)\n"
	      "  --dup-id (the first recording listed twice) --claim-total N (manifest\n"
	      "  padded with signed FAKE-i entries) --abandon-list K (hang up after K pages)\n"
	      "  --hostile MODE (repeatable), a camera written to break the dock:\n"
	      "    clock-min       HELLO_REPLY clock_ns = INT64_MIN\n"
	      "    refuse-release  every RELEASE_REQ answered ERROR BAD_RECEIPT\n"
	      "    short:ID        ID's signed size claims 4096 bytes more than it holds;\n"
	      "                    its DATA ends, flagged END, at the real end\n"
	      "tuning: --chunk BYTES --idle-timeout MS\n",
	      out);
	return out == stdout ? 0 : 2;
}

static int usage(void)
{
	return usage_to(stderr);
}

/* Options that take no value. */
static bool is_flag(const char *name)
{
	static const char *const flags[] = { "bad-signature", "lie-hash", "out-of-order",
					     "wrong-version", "unenrolled-key",
					     "bad-identity-signature", "keep", "dup-id" };

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(name, flags[i]) == 0)
			return true;
	return false;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	a->n = 0;
	for (int i = 2; i < argc; i++) {
		const char *name = argv[i];

		if (strncmp(name, "--", 2) != 0 || a->n >= MAX_OPTS)
			return -EINVAL;
		name += 2;
		a->o[a->n].name = name;
		a->o[a->n].val = NULL;
		if (!is_flag(name)) {
			if (i + 1 >= argc)
				return -EINVAL;
			a->o[a->n].val = argv[++i];
		}
		a->n++;
	}
	return 0;
}

static const char *get(const struct args *a, const char *name)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->o[i].name, name) == 0)
			return a->o[i].val;
	return NULL;
}

static int cmd_init(const struct args *a)
{
	const char *dir = get(a, "dir");
	char path[CAMSIM_PATH_MAX], hex[2 * PROTO_PUBKEY_LEN + 1];
	uint8_t pub[PROTO_PUBKEY_LEN];
	struct edsig_key *k = NULL;
	int r;

	if (!dir || !get(a, "serial") || !get(a, "model") || !get(a, "officer") ||
	    !get(a, "agency-pub"))
		return usage();
	r = store_init(dir, get(a, "serial"), get(a, "model"), get(a, "officer"),
		       get(a, "agency-pub"));
	if (r == 0 && snprintf(path, sizeof(path), "%s/device.pub", dir) < (int)sizeof(path))
		r = edsig_load_public(path, &k);
	if (r == 0)
		r = edsig_public_raw(k, pub);
	edsig_key_free(k);
	if (r < 0) {
		fprintf(stderr, "camsim init: %s\n",
			r == -EINVAL ? "invalid serial, model, officer or agency key file"
				     : edsig_strerror(r));
		return 1;
	}
	edsig_hex(pub, sizeof(pub), hex, sizeof(hex));
	printf("%s\n", hex);
	return 0;
}

static int parse_time(const char *s, int64_t dflt, int64_t *out)
{
	char *end;
	long long v;

	if (!s) {
		*out = dflt;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_gps(const char *s, struct cam_rec *m)
{
	char *end;
	double lat, lon;

	if (!s)
		return 0;
	lat = strtod(s, &end);
	if (end == s || *end != ',')
		return -EINVAL;
	lon = strtod(end + 1, &end);
	if (*end || !(fabs(lat) <= 90.0) || !(fabs(lon) <= 180.0))
		return -EINVAL;
	m->has_gps = true;
	m->lat_e7 = (int32_t)lround(lat * 1e7);
	m->lon_e7 = (int32_t)lround(lon * 1e7);
	return 0;
}

static int cmd_add(const struct args *a)
{
	const char *dir = get(a, "dir"), *id = get(a, "id"), *file = get(a, "file");
	const char *cat = get(a, "category");
	int64_t now = (int64_t)time(NULL);
	struct cam_store st;
	struct cam_rec m;
	int r;

	if (!dir || !id || !file || !cat)
		return usage();
	memset(&m, 0, sizeof(m));
	if (!proto_id_valid(id) || strlen(cat) == 0 || strlen(cat) > PROTO_TEXT_MAX ||
	    parse_time(get(a, "start"), now, &m.start_utc) < 0 ||
	    parse_time(get(a, "end"), m.start_utc, &m.end_utc) < 0 || m.end_utc < m.start_utc ||
	    parse_gps(get(a, "gps"), &m) < 0) {
		fprintf(stderr, "camsim add: invalid id, category, time or gps\n");
		return 2;
	}
	memcpy(m.id, id, strlen(id) + 1);
	memcpy(m.category, cat, strlen(cat) + 1);
	r = store_open(dir, &st);
	if (r == 0) {
		r = store_add(&st, &m, file);
		store_free(&st);
	}
	if (r < 0) {
		fprintf(stderr, "camsim add: %s: %s\n", id,
			r == -EEXIST ? "a recording with this id exists" : strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_list(const struct args *a)
{
	const char *dir = get(a, "dir");
	char hex[2 * PROTO_SHA256_LEN + 1];
	struct cam_store st;
	int r;

	if (!dir)
		return usage();
	r = store_open(dir, &st);
	if (r < 0) {
		fprintf(stderr, "camsim list: %s\n", edsig_strerror(r));
		return 1;
	}
	printf("serial %s officer %s recordings %zu receipts %" PRIu64 " clock_offset_ns %" PRId64
	       "\n", st.serial, st.officer, st.n, st.receipts, st.clock_offset_ns);
	for (size_t i = 0; i < st.n; i++) {
		edsig_hex(st.recs[i].sha256, PROTO_SHA256_LEN, hex, sizeof(hex));
		printf("%s %" PRIu64 " %s %s\n", st.recs[i].id, st.recs[i].size, hex,
		       st.recs[i].category);
	}
	store_free(&st);
	return 0;
}

static int connect_transport(const struct args *a, struct transport **t)
{
	const char *sock = get(a, "connect"), *fd = get(a, "fd");
	char *end;
	long v;

	if (!!sock == !!fd)
		return -EINVAL;
	if (sock)
		return transport_sock_connect(sock, t);
	errno = 0;
	v = strtol(fd, &end, 10);
	if (errno || end == fd || *end || v < 0 || v > 65535)
		return -EINVAL;
	return transport_sock_from_fd((int)v, t);
}

static int cmd_serve(const struct args *a)
{
	const char *dir = get(a, "dir");
	struct transport *t = NULL;
	struct cam_faults f;
	struct cam_store st;
	int r;

	faults_default(&f);
	for (int i = 0; i < a->n; i++) {
		const char *n = a->o[i].name;

		if (strcmp(n, "dir") == 0 || strcmp(n, "connect") == 0 || strcmp(n, "fd") == 0)
			continue;
		if (faults_parse(&f, n, a->o[i].val) != 1) {
			fprintf(stderr, "camsim serve: bad option --%s\n", n);
			return 2;
		}
	}
	if (!dir)
		return usage();
	r = store_open(dir, &st);
	if (r < 0) {
		fprintf(stderr, "camsim serve: %s: %s\n", dir, edsig_strerror(r));
		return 1;
	}
	r = connect_transport(a, &t);
	if (r < 0) {
		fprintf(stderr, "camsim serve: cannot connect: %s\n", edsig_strerror(r));
		store_free(&st);
		return r == -EINVAL ? usage() : 1;
	}
	r = serve(&st, &f, t);
	transport_close(t);
	store_free(&st);
	return r;
}

int main(int argc, char **argv)
{
	struct args a;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0))
		return usage_to(stdout);
	if (argc < 2 || parse_args(argc, argv, &a) < 0)
		return usage();
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(&a);
	if (strcmp(argv[1], "add") == 0)
		return cmd_add(&a);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(&a);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(&a);
	return usage();
}
