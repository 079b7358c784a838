/* dockpull.c - a minimal dock-side client for tests and benches.
 *
 *   dockpull keys --dir D
 *       agency.key/.pub, dock.key and dock.cert (dock-1 by agency-1) in D
 *   dockpull pull --dir D --listen SOCK --id REC --out FILE [--enrolled HEX]
 *                 [--bench NAME]
 *       wait for a camera to dock on SOCK, authenticate, list, pull REC into
 *       FILE (resuming) and verify size + SHA-256 against the signed entry;
 *       --bench prints `BENCH NAME <MB/s> MB/s` and the wall seconds
 *   dockpull record --dir D --listen SOCK --out FILE
 *       run tests/fuzz/session_script.h against the docked camera and save
 *       the camera's bytes as a fuzz seed for fuzz_session
 * Without --enrolled any camera key is accepted (test tool only).
 * Exit: 0 ok, 1 failure, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dockcert.h"
#include "edsig.h"
#include "pull.h"
#include "session.h"
#include "transport_sock.h"
#include "../fuzz/session_script.h"

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0)
			return argv[i + 1];
	return NULL;
}

static int path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static int cmd_keys(const char *dir)
{
	struct edsig_key *agency = NULL, *dock = NULL;
	struct proto_dock_cert cert;
	char p[4096];
	int64_t now = (int64_t)time(NULL);
	int r;

	if ((r = edsig_generate(&agency)) < 0 || (r = edsig_generate(&dock)) < 0 ||
	    (r = path_in(p, sizeof(p), dir, "agency.key")) < 0 ||
	    (r = edsig_save_private(agency, p)) < 0 ||
	    (r = path_in(p, sizeof(p), dir, "agency.pub")) < 0 ||
	    (r = edsig_save_public(agency, p)) < 0 ||
	    (r = path_in(p, sizeof(p), dir, "dock.key")) < 0 ||
	    (r = edsig_save_private(dock, p)) < 0 ||
	    (r = dockcert_issue(agency, "agency-1", "dock-1", dock, now - 3600, now + 30 * 86400,
				&cert)) < 0 ||
	    (r = path_in(p, sizeof(p), dir, "dock.cert")) < 0 || (r = dockcert_save(&cert, p)) < 0)
		fprintf(stderr, "dockpull keys: %s\n", edsig_strerror(r));
	edsig_key_free(agency);
	edsig_key_free(dock);
	return r < 0 ? 1 : 0;
}

static uint8_t g_enrolled[PROTO_PUBKEY_LEN];
static int g_check_enrolled;

static int enrol(void *ctx, const struct proto_identity *id)
{
	if (g_check_enrolled && memcmp(id->pubkey, g_enrolled, PROTO_PUBKEY_LEN) != 0)
		return -PROTO_E_UNENROLLED;
	return 0;
}

/* A transport that copies every byte received into a file. */
struct rec_impl {
	struct transport *inner;
	FILE *f;
};

static int rec_send(struct transport *t, const void *b, size_t n, int ms)
{
	return transport_send(((struct rec_impl *)t->impl)->inner, b, n, ms);
}

static int rec_recv(struct transport *t, void *b, size_t cap, size_t *got, int ms)
{
	struct rec_impl *ri = t->impl;
	int r = transport_recv(ri->inner, b, cap, got, ms);

	if (r == 0 && fwrite(b, 1, *got, ri->f) != *got)
		return -EIO;
	return r;
}

static void rec_close(struct transport *t)
{
}

static const struct transport_ops rec_ops = { rec_send, rec_recv, rec_close, "record" };

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct find_ctx {
	const char *id;
	struct proto_manifest_entry e;
	int found, bad;
};

static int on_entry(void *ctx, const struct proto_manifest_entry *e, int verdict)
{
	struct find_ctx *fc = ctx;

	if (strcmp(e->recording_id, fc->id) == 0) {
		fc->e = *e;
		fc->found = 1;
		fc->bad = verdict < 0;
	}
	return 0;
}

static int do_pull(struct transport *t, const struct session_cfg *cfg, const char *id,
		   const char *out, const char *bench)
{
	struct find_ctx fc = { .id = id };
	struct session *s = NULL;
	uint64_t done = 0;
	double t0 = mono(), secs;
	int r = session_open(t, cfg, &s);

	if (r == 0)
		r = session_list(s, on_entry, &fc);
	if (r == 0 && (!fc.found || fc.bad))
		r = fc.found ? -PROTO_E_AUTH : -PROTO_E_NOT_FOUND;
	if (r == 0)
		r = pull_to_file(s, &fc.e, out, &done);
	session_close(s);
	secs = mono() - t0;
	if (r < 0) {
		fprintf(stderr, "dockpull: %s (%llu bytes in file)\n", edsig_strerror(r),
			(unsigned long long)done);
		return 1;
	}
	printf("pulled %s: %llu bytes, size and sha256 match the signed manifest\n", id,
	       (unsigned long long)done);
	if (bench) {
		printf("BENCH %s %.1f MB/s\n", bench, (double)done / 1e6 / secs);
		printf("BENCH %s_wall %.2f s\n", bench, secs);
	}
	return 0;
}

static int cmd_dock(int argc, char **argv, int record)
{
	const char *dir = opt(argc, argv, "dir"), *sock = opt(argc, argv, "listen");
	const char *out = opt(argc, argv, "out"), *id = opt(argc, argv, "id");
	const char *hex = opt(argc, argv, "enrolled");
	struct edsig_key *key = NULL;
	struct proto_dock_cert cert;
	struct transport *t = NULL;
	char p[4096];
	int lfd = -1, r;

	if (!dir || !sock || !out || (!record && !id))
		return 2;
	if (hex && edsig_unhex(hex, g_enrolled, sizeof(g_enrolled)) < 0)
		return 2;
	g_check_enrolled = hex != NULL;
	if ((r = path_in(p, sizeof(p), dir, "dock.key")) < 0 ||
	    (r = edsig_load_private(p, &key)) < 0 ||
	    (r = path_in(p, sizeof(p), dir, "dock.cert")) < 0 || (r = dockcert_load(p, &cert)) < 0 ||
	    (r = transport_sock_listen(sock, &lfd)) < 0 ||
	    (r = transport_sock_accept(lfd, 60000, &t)) < 0) {
		fprintf(stderr, "dockpull: %s\n", edsig_strerror(r));
		r = 1;
		goto out;
	}
	struct session_cfg cfg = { .dock_key = key, .cert = &cert, .enrol = enrol };
	if (!record) {
		r = do_pull(t, &cfg, id, out, opt(argc, argv, "bench"));
	} else {
		struct rec_impl ri = { .inner = t, .f = fopen(out, "wb") };
		struct transport rt = { .ops = &rec_ops, .impl = &ri, .peer = "record" };
		uint8_t hdr[2] = { 0x01, 0x00 }; /* fuzz mode byte, recv chunk */

		r = 1;
		if (ri.f && fwrite(hdr, 1, 2, ri.f) == 2) {
			r = script_run(&rt, &cfg) < 0 ? 1 : 0;
			r |= fclose(ri.f) != 0;
		}
	}
out:
	transport_close(t);
	if (lfd >= 0)
		transport_sock_listen_close(lfd, sock);
	edsig_key_free(key);
	return r;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc >= 2 && strcmp(argv[1], "keys") == 0 && opt(argc, argv, "dir"))
		r = cmd_keys(opt(argc, argv, "dir"));
	else if (argc >= 2 && strcmp(argv[1], "pull") == 0)
		r = cmd_dock(argc, argv, 0);
	else if (argc >= 2 && strcmp(argv[1], "record") == 0)
		r = cmd_dock(argc, argv, 1);
	if (r == 2)
		fputs("usage: dockpull keys --dir D | pull --dir D --listen SOCK --id REC --out FILE"
		      " [--enrolled HEX] [--bench NAME] | record --dir D --listen SOCK --out FILE\n",
		      stderr);
	return r;
}
