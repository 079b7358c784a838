/* test_session.c - the dock-side session against real camsim processes over
 * Unix sockets: authentication, verified listing, byte-identical pulls,
 * resume after a disconnect, and every camsim fault the dock must catch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "dockcert.h"
#include "edsig.h"
#include "pull.h"
#include "session.h"
#include "transport_sock.h"

#define REC_A "rec-A.mp4"
#define REC_B "rec-B.mp4"
#define SIZE_A (3u * 1024 * 1024 + 123) /* several DATA frames */
#define SIZE_B 1000u

static char g_tmp[PATH_MAX], g_bin[PATH_MAX], g_cam[PATH_MAX + 16];
static struct edsig_key *g_agency, *g_dock;
static struct proto_dock_cert g_cert;
static uint8_t g_campub[PROTO_PUBKEY_LEN];

struct cam {
	pid_t pid;
	struct transport *t;
	struct session *s;
};

/* ---- helpers -------------------------------------------------------------*/

static int run(char *const argv[], char *out, size_t cap)
{
	int pfd[2], st = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (out) {
		ssize_t n = read(pfd[0], out, cap - 1);

		out[n > 0 ? n : 0] = '\0';
	}
	close(pfd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void camsim_path(char *buf, size_t cap)
{
	assert_true(snprintf(buf, cap, "%s/camsim", g_bin) < (int)cap);
}

static void write_pattern(const char *path, size_t size, uint32_t seed)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (size_t i = 0; i < size; i++) {
		seed = seed * 1103515245u + 12345u;
		fputc((int)(seed >> 16) & 0xff, f);
	}
	assert_int_equal(fclose(f), 0);
}

static void sha_file(const char *path, uint8_t out[32])
{
	unsigned char buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	FILE *f = fopen(path, "rb");
	size_t k;

	assert_non_null(f);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(md, buf, k);
	fclose(f);
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
	assert_true(snprintf(buf, cap, "%s/%s", g_tmp, name) < (int)cap);
}

/* Fresh camera with two recordings; remembers its enrolled public key. */
static void make_camera(void)
{
	char exe[PATH_MAX], apub[PATH_MAX], fa[PATH_MAX], fb[PATH_MAX], out[256];
	char rm[PATH_MAX + 16];

	camsim_path(exe, sizeof(exe));
	tmp_path(apub, sizeof(apub), "agency.pub");
	snprintf(g_cam, sizeof(g_cam), "%s/cam", g_tmp);
	snprintf(rm, sizeof(rm), "%s", g_cam);
	char *const rmv[] = { "/bin/rm", "-rf", rm, NULL };
	run(rmv, NULL, 0);
	char *const init[] = { exe, "init", "--dir", g_cam, "--serial", "CAM-0001", "--model",
			       "Model X", "--officer", "officer-7", "--agency-pub", apub, NULL };
	assert_int_equal(run(init, out, sizeof(out)), 0);
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(edsig_unhex(out, g_campub, sizeof(g_campub)), 0);
	tmp_path(fa, sizeof(fa), "a.src");
	tmp_path(fb, sizeof(fb), "b.src");
	char *const adda[] = { exe, "add", "--dir", g_cam, "--id", REC_A, "--file", fa,
			       "--category", "traffic stop", "--start", "1700000000", "--end",
			       "1700000600", "--gps", "48.8566,2.3522", NULL };
	char *const addb[] = { exe, "add", "--dir", g_cam, "--id", REC_B, "--file", fb,
			       "--category", "interview", NULL };
	assert_int_equal(run(adda, NULL, 0), 0);
	assert_int_equal(run(addb, NULL, 0), 0);
}

/* Start `camsim serve --fd 3 [faults]` on one end of a socketpair. */
static void spawn(struct cam *c, ...)
{
	char exe[PATH_MAX];
	char *argv[32] = { exe, "serve", "--dir", g_cam, "--fd", "3" };
	int sv[2], n = 6;
	va_list ap;

	camsim_path(exe, sizeof(exe));
	va_start(ap, c);
	for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(sv[1], 3); /* dup2 clears close-on-exec */
		execv(exe, argv);
		_exit(127);
	}
	close(sv[1]);
	c->s = NULL;
	assert_int_equal(transport_sock_from_fd(sv[0], &c->t), 0);
}

static int enrol_check(void *ctx, const struct proto_identity *id)
{
	return memcmp(ctx, id->pubkey, PROTO_PUBKEY_LEN) == 0 ? 0 : -PROTO_E_UNENROLLED;
}

static int open_session(struct cam *c, int timeout_ms)
{
	struct session_cfg cfg = { .dock_key = g_dock, .cert = &g_cert, .enrol = enrol_check,
				   .enrol_ctx = g_campub, .timeout_ms = timeout_ms };

	return session_open(c->t, &cfg, &c->s);
}

/* Close our end and collect camsim's exit status; a camsim that crashed
 * (signal, sanitizer abort) or hung (killed after 20 s) fails the test. */
static int finish(struct cam *c)
{
	int st = 0, code = -1;

	session_close(c->s);
	transport_close(c->t);
	c->s = NULL;
	c->t = NULL;
	for (int i = 0; i < 2000; i++) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		usleep(10000);
	}
	if (code < 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
	}
	assert_true(code >= 0 && code < 128 && code != 23 /* LSan */);
	return code;
}

struct listing {
	struct proto_manifest_entry e[8];
	int n, bad;
};

static int on_entry(void *ctx, const struct proto_manifest_entry *e, int verdict)
{
	struct listing *l = ctx;

	if (verdict < 0)
		l->bad++;
	if (l->n < 8)
		l->e[l->n++] = *e;
	return 0;
}

static const struct proto_manifest_entry *find(const struct listing *l, const char *id)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->e[i].recording_id, id) == 0)
			return &l->e[i];
	return NULL;
}

static int list(struct cam *c, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	return session_list(c->s, on_entry, l);
}

static bool same_file(const char *a, const char *b)
{
	uint8_t x[32], y[32];

	sha_file(a, x);
	sha_file(b, y);
	return memcmp(x, y, 32) == 0;
}

/* ---- tests ---------------------------------------------------------------*/

static void test_auth_list_read(void **state)
{
	char out[PATH_MAX], src[PATH_MAX];
	struct proto_status_reply stt;
	struct listing l;
	struct cam c;
	int64_t before = 0, after = 0;
	uint64_t done = 0;

	spawn(&c, NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_string_equal(session_identity(c.s)->serial, "CAM-0001");
	assert_string_equal(session_identity(c.s)->officer_id, "officer-7");
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.bad, 0);
	assert_non_null(find(&l, REC_A));
	assert_int_equal(find(&l, REC_A)->size, SIZE_A);
	assert_true(find(&l, REC_A)->has_gps);
	assert_int_equal(find(&l, REC_A)->lat_e7, 488566000);
	tmp_path(out, sizeof(out), "pulled-a");
	unlink(out);
	assert_int_equal(pull_to_file(c.s, find(&l, REC_A), out, &done), 0);
	assert_int_equal(done, SIZE_A);
	tmp_path(src, sizeof(src), "a.src");
	assert_true(same_file(out, src));
	assert_int_equal(session_status(c.s, &stt), 0);
	assert_int_equal(stt.recordings, 2);
	assert_int_equal(session_time_sync(c.s, &before, &after), 0);
	assert_true(after > 0);
	assert_int_equal(session_read(c.s, REC_B, 0, 10, NULL, NULL), -EINVAL);
	assert_int_equal(finish(&c), 0);
}

static int sink_discard(void *ctx, const uint8_t *d, size_t n, uint64_t off)
{
	return 0;
}

struct in_buf {
	const uint8_t *buf;
	uint64_t bytes, outside;
};

static int sink_in_buf(void *ctx, const uint8_t *d, size_t n, uint64_t off)
{
	struct in_buf *b = ctx;
	uintptr_t at = (uintptr_t)d, base = (uintptr_t)b->buf;

	(void)off;
	if (at < base || at - base > PROTO_MAX_FRAME - n)
		b->outside++;
	b->bytes += n;
	return 0;
}

/* cfg.rx_buf: every frame is read into the caller's buffer, and the sink's
 * DATA bytes point into it (dockd's camera-link worker passes the ring it
 * shares with the daemon); one byte too small is refused. */
static void test_rx_buf(void **state)
{
	struct session_cfg cfg = { .dock_key = g_dock, .cert = &g_cert, .enrol = enrol_check,
				   .enrol_ctx = g_campub, .timeout_ms = 5000 };
	struct in_buf b = { 0 };
	uint8_t *buf = malloc(PROTO_MAX_FRAME);
	struct session *s = NULL;
	struct cam c;

	(void)state;
	assert_non_null(buf);
	b.buf = buf;
	spawn(&c, NULL);
	cfg.rx_buf = buf;
	cfg.rx_cap = PROTO_MAX_FRAME - 1;
	assert_int_equal(session_open(c.t, &cfg, &s), -EINVAL);
	assert_null(s);
	cfg.rx_cap = PROTO_MAX_FRAME;
	assert_int_equal(session_open(c.t, &cfg, &c.s), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B, sink_in_buf, &b), 0);
	assert_true(b.bytes == SIZE_B);
	assert_true(b.outside == 0);
	assert_int_equal(finish(&c), 0); /* session_close leaves buf alone */
	free(buf);
}

static void test_not_found_and_range(void **state)
{
	struct cam c;

	spawn(&c, NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(session_read(c.s, "no-such", 0, 10, sink_discard, NULL),
			 -PROTO_E_NOT_FOUND);
	assert_int_equal(session_read(c.s, REC_B, 900, 200, sink_discard, NULL), -PROTO_E_RANGE);
	/* The session is still in step after ERROR replies. */
	assert_int_equal(session_read(c.s, REC_B, 900, 100, sink_discard, NULL), 0);
	assert_int_equal(finish(&c), 0);
}

static void test_listen_connect(void **state)
{
	char sock[PATH_MAX], exe[PATH_MAX];
	struct listing l;
	struct stat st;
	struct cam c;
	int lfd;

	tmp_path(sock, sizeof(sock), "dock.sock");
	camsim_path(exe, sizeof(exe));
	assert_int_equal(transport_sock_listen(sock, &lfd), 0);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(transport_sock_accept(lfd, 50, &c.t), -ETIMEDOUT);
	c.pid = fork();
	if (c.pid == 0) {
		execl(exe, exe, "serve", "--dir", g_cam, "--connect", sock, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(transport_sock_accept(lfd, 10000, &c.t), 0);
	c.s = NULL;
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(finish(&c), 0);
	transport_sock_listen_close(lfd, sock);
	assert_int_equal(stat(sock, &st), -1);
}

static void test_resume(void **state)
{
	char out[PATH_MAX], src[PATH_MAX];
	struct listing l;
	struct cam c;
	uint64_t done = 0;

	tmp_path(out, sizeof(out), "resume-a");
	unlink(out);
	spawn(&c, "--disconnect-after", "1500000", "--chunk", "65536", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(pull_to_file(c.s, find(&l, REC_A), out, &done), -ECONNRESET);
	assert_int_equal(done, 1500000);
	assert_int_equal(finish(&c), 0);

	spawn(&c, NULL); /* next docking: resume from the saved offset */
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(pull_to_file(c.s, find(&l, REC_A), out, &done), 0);
	assert_int_equal(done, SIZE_A);
	tmp_path(src, sizeof(src), "a.src");
	assert_true(same_file(out, src));
	assert_int_equal(finish(&c), 0);
}

static void test_bad_signature(void **state)
{
	struct listing l;
	struct cam c;

	spawn(&c, "--bad-signature", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), -PROTO_E_AUTH);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.bad, 2); /* each lying entry reported */
	finish(&c);
}

/* Pull REC_A from a camera started with one fault; return pull's result. */
static int pull_with(const char *fault, const char *val)
{
	char out[PATH_MAX];
	struct listing l;
	struct cam c;
	int r;

	tmp_path(out, sizeof(out), "fault-a");
	unlink(out);
	spawn(&c, fault, val, "--chunk", "65536", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0); /* signed with the real key: listing is fine */
	r = pull_to_file(c.s, find(&l, REC_A), out, NULL);
	finish(&c);
	return r;
}

static void test_lies_detected(void **state)
{
	assert_int_equal(pull_with("--lie-size", "1000"), -PROTO_E_MISMATCH);
	assert_int_equal(pull_with("--lie-size", "4000000"), -PROTO_E_RANGE);
	assert_int_equal(pull_with("--lie-hash", NULL), -PROTO_E_MISMATCH);
	assert_int_equal(pull_with("--corrupt-at", "2000000"), -PROTO_E_MISMATCH);
	assert_int_equal(pull_with("--out-of-order", NULL), -PROTO_E_SEQ);
}

static void test_unenrolled(void **state)
{
	struct cam c;

	spawn(&c, "--unenrolled-key", NULL);
	assert_int_equal(open_session(&c, 5000), -PROTO_E_UNENROLLED);
	assert_int_equal(finish(&c), 3); /* camsim got our ERROR frame */
}

static void test_wrong_version(void **state)
{
	struct cam c;

	spawn(&c, "--wrong-version", NULL);
	assert_int_equal(open_session(&c, 5000), -PROTO_E_BAD_VERSION);
	assert_int_equal(finish(&c), 3);
}

static void test_bad_dock_cert(void **state)
{
	struct proto_dock_cert forged = g_cert;
	struct session_cfg cfg = { .dock_key = g_dock, .cert = &forged, .enrol = enrol_check,
				   .enrol_ctx = g_campub, .timeout_ms = 5000 };
	struct cam c;

	forged.not_after += 1; /* no longer what the agency signed */
	spawn(&c, NULL);
	assert_int_equal(session_open(c.t, &cfg, &c.s), -PROTO_E_AUTH);
	c.s = NULL;
	assert_int_equal(finish(&c), 1);
}

static void test_flood(void **state)
{
	struct listing l;
	struct cam c;

	spawn(&c, "--flood", "5", NULL); /* tolerated: skipped */
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B, sink_discard, NULL), 0);
	assert_int_equal(finish(&c), 0);

	spawn(&c, "--flood", "1000", NULL); /* capped */
	assert_int_equal(open_session(&c, 5000), -PROTO_E_UNEXPECTED);
	finish(&c);
}

static void test_stall_times_out(void **state)
{
	struct listing l;
	struct cam c;

	spawn(&c, "--stall", "1500", NULL);
	assert_int_equal(open_session(&c, 300), 0);
	assert_int_equal(list(&c, &l), -ETIMEDOUT);
	/* A failed session refuses further use instead of reading stale replies. */
	assert_int_equal(session_read(c.s, REC_B, 0, 10, sink_discard, NULL), -ETIMEDOUT);
	finish(&c);
}

static void test_slow(void **state)
{
	struct cam c;

	spawn(&c, "--slow", "200000", "--chunk", "4096", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B, sink_discard, NULL), 0);
	assert_int_equal(finish(&c), 0);
}

static void test_clock_offset(void **state)
{
	int64_t off;
	struct cam c;

	spawn(&c, "--clock-offset", "3600", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	off = session_clock_offset_ns(c.s) / 1000000000;
	assert_true(off > 3500 && off < 3700);
	assert_int_equal(session_time_sync(c.s, NULL, NULL), 0);
	assert_int_equal(finish(&c), 0);
	spawn(&c, NULL); /* the corrected clock persisted */
	assert_int_equal(open_session(&c, 5000), 0);
	off = session_clock_offset_ns(c.s) / 1000000000;
	assert_true(off > -100 && off < 100);
	assert_int_equal(finish(&c), 0);
}

/* A hostile camera's clock_ns = INT64_MIN: INT64_MIN - now overflowed
 * (UBSan aborted; otherwise a large POSITIVE offset). The offset
 * saturates, keeping its sign; the session stays usable. */
static void test_clock_absurd(void **state)
{
	struct cam c;

	spawn(&c, "--hostile", "clock-min", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(session_identity(c.s)->clock_ns, INT64_MIN);
	assert_true(session_clock_offset_ns(c.s) == INT64_MIN);
	assert_int_equal(session_error(c.s), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B, sink_discard, NULL), 0);
	assert_int_equal(finish(&c), 0);
}

/* A short DATA run (END before the signed length) fails the read with
 * MISMATCH and leaves the session out of step: session_error() says so
 * and every later request returns it without touching the link. */
static void test_error_sticks(void **state)
{
	struct cam c;

	spawn(&c, "--hostile", "short:" REC_B, NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(session_error(c.s), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B + 4096, sink_discard, NULL),
			 -PROTO_E_MISMATCH);
	assert_int_equal(session_error(c.s), -PROTO_E_MISMATCH);
	assert_int_equal(session_read(c.s, REC_A, 0, 10, sink_discard, NULL), -PROTO_E_MISMATCH);
	assert_int_equal(session_error(NULL), -EINVAL);
	finish(&c);
}

static bool listed(const char *id)
{
	struct listing l;
	struct cam c;
	bool found;

	spawn(&c, NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	found = find(&l, id) != NULL;
	assert_int_equal(finish(&c), 0);
	return found;
}

static void test_release(void **state)
{
	struct proto_receipt r, forged;
	struct edsig_key *other = NULL;
	struct listing l;
	struct cam c;
	char exe[PATH_MAX], out[512];

	spawn(&c, NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	memset(&r, 0, sizeof(r));
	snprintf(r.recording_id, sizeof(r.recording_id), "%s", REC_B);
	snprintf(r.location, sizeof(r.location), "s3://evidence/2026/rec-B");
	memcpy(r.sha256, find(&l, REC_B)->sha256, 32);

	/* Wrong content hash, validly signed: refused. */
	forged = r;
	forged.sha256[3] ^= 1;
	assert_int_equal(session_release(c.s, &forged), -PROTO_E_BAD_RECEIPT);
	/* Right content, signed by a key the agency never certified: refused. */
	forged = r;
	snprintf(forged.dock_id, sizeof(forged.dock_id), "%s", g_cert.dock_id);
	forged.issued_utc = 1700000000;
	assert_int_equal(edsig_generate(&other), 0);
	assert_int_equal(session_receipt_sign(other, &forged), 0);
	assert_int_equal(session_release_signed(c.s, &forged), -PROTO_E_BAD_RECEIPT);
	/* Tampered after signing: refused. */
	assert_int_equal(session_receipt_sign(g_dock, &forged), 0);
	snprintf(forged.location, sizeof(forged.location), "/dev/null");
	assert_int_equal(session_release_signed(c.s, &forged), -PROTO_E_BAD_RECEIPT);
	edsig_key_free(other);
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(l.n, 2); /* nothing was deleted */
	/* The real receipt: deleted. */
	assert_int_equal(session_release(c.s, &r), 0);
	assert_string_equal(r.dock_id, g_cert.dock_id);
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(l.n, 1);
	assert_null(find(&l, REC_B));
	assert_int_equal(finish(&c), 0);
	/* ...and stays deleted across a camsim restart. */
	assert_false(listed(REC_B));
	assert_true(listed(REC_A));
	camsim_path(exe, sizeof(exe));
	char *const lv[] = { exe, "list", "--dir", g_cam, NULL };
	assert_int_equal(run(lv, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "receipts 1"));
}

/* ---- fixtures ------------------------------------------------------------*/

/* Issue 11, defect 8: a camera that breaks the protocol after AUTH_OK gets
 * an ERROR frame with the code (camsim exits 3 only when the dock sent
 * ERROR; it used to see the link close: exit 1). */
static void test_protocol_error_frame(void **state)
{
	static const struct {
		const char *mode;
		int err;
	} cases[] = { { "crc", -PROTO_E_BAD_CRC }, { "seq", -PROTO_E_SEQ },
		      { "type", -PROTO_E_UNEXPECTED } };
	struct listing l;
	struct cam c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spawn(&c, "--misreply", cases[i].mode, NULL);
		assert_int_equal(open_session(&c, 5000), 0);
		assert_int_equal(list(&c, &l), cases[i].err);
		assert_int_equal(session_error(c.s), cases[i].err);
		assert_int_equal(session_limit(c.s), 0);
		assert_int_equal(finish(&c), 3);
	}
}

static int open_limited(struct cam *c, int64_t deadline_ms, uint64_t rate, int64_t window_ms)
{
	struct session_cfg cfg = { .dock_key = g_dock, .cert = &g_cert, .enrol = enrol_check,
				   .enrol_ctx = g_campub, .timeout_ms = 5000,
				   .deadline_ms = deadline_ms, .min_rate_bps = rate,
				   .rate_window_ms = window_ms };

	return session_open(c->t, &cfg, &c->s);
}

/* Issue 11, defect 6: 1-byte DATA frames every 100 ms (10 B/s) against a
 * minimum of 1000 B/s over 500 ms of waiting: cut off with ERROR BUSY. The
 * camera's sleeps make it slow whatever this machine's speed. */
static void test_min_rate(void **state)
{
	struct cam c;

	spawn(&c, "--chunk", "1", "--trickle", "100", NULL);
	assert_int_equal(open_limited(&c, 0, 1000, 500), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B, sink_discard, NULL), -ETIMEDOUT);
	assert_int_equal(session_limit(c.s), SESSION_LIMIT_RATE);
	assert_int_equal(finish(&c), 3);
}

/* ... and a legal but long session (>= 10 s of camera sleeps) meets the
 * 1 s deadline. */
static void test_deadline(void **state)
{
	struct cam c;

	spawn(&c, "--chunk", "10", "--trickle", "100", NULL);
	assert_int_equal(open_limited(&c, 1000, 0, 0), 0);
	assert_int_equal(session_read(c.s, REC_B, 0, SIZE_B, sink_discard, NULL), -ETIMEDOUT);
	assert_int_equal(session_limit(c.s), SESSION_LIMIT_DEADLINE);
	assert_int_equal(finish(&c), 3);
}

/* RELEASE_REPLY deleted=0: -EEXIST (accepted, kept), not BAD_RECEIPT. */
static void test_release_kept(void **state)
{
	struct proto_receipt r;
	struct listing l;
	struct cam c;

	spawn(&c, "--keep", NULL);
	assert_int_equal(open_session(&c, 5000), 0);
	assert_int_equal(list(&c, &l), 0);
	memset(&r, 0, sizeof(r));
	snprintf(r.recording_id, sizeof(r.recording_id), "%s", REC_B);
	snprintf(r.location, sizeof(r.location), "s3://evidence/rec-B");
	memcpy(r.sha256, find(&l, REC_B)->sha256, 32);
	assert_int_equal(session_release(c.s, &r), -EEXIST);
	assert_int_equal(session_error(c.s), 0); /* the session goes on */
	assert_int_equal(list(&c, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(finish(&c), 0);
}

static int group_setup(void **state)
{
	char self[PATH_MAX], path[PATH_MAX];
	const char *bin = getenv("BIN");
	ssize_t n;
	int64_t now = (int64_t)time(NULL);

	if (bin && *bin) {
		snprintf(g_bin, sizeof(g_bin), "%s", bin);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return -1;
		self[n] = '\0';
		snprintf(g_bin, sizeof(g_bin), "%s/../bin", dirname(self));
	}
	snprintf(g_tmp, sizeof(g_tmp), "%s/test-session.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(g_tmp))
		return -1;
	if (edsig_generate(&g_agency) < 0 || edsig_generate(&g_dock) < 0)
		return -1;
	tmp_path(path, sizeof(path), "agency.pub");
	if (edsig_save_public(g_agency, path) < 0)
		return -1;
	if (dockcert_issue(g_agency, "agency-1", "dock-1", g_dock, now - 3600, now + 86400,
			   &g_cert) < 0)
		return -1;
	tmp_path(path, sizeof(path), "a.src");
	write_pattern(path, SIZE_A, 1);
	tmp_path(path, sizeof(path), "b.src");
	write_pattern(path, SIZE_B, 2);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int group_teardown(void **state)
{
	char *const rmv[] = { "/bin/rm", "-rf", g_tmp, NULL };

	edsig_key_free(g_agency);
	edsig_key_free(g_dock);
	run(rmv, NULL, 0);
	return 0;
}

static int fresh_camera(void **state)
{
	make_camera();
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, fresh_camera)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_auth_list_read), T(test_not_found_and_range), T(test_listen_connect),
		T(test_resume), T(test_bad_signature), T(test_lies_detected),
		T(test_unenrolled), T(test_wrong_version), T(test_bad_dock_cert),
		T(test_flood), T(test_stall_times_out), T(test_slow), T(test_clock_offset),
		T(test_release), T(test_protocol_error_frame), T(test_min_rate),
		T(test_deadline), T(test_release_kept), T(test_clock_absurd), T(test_error_sticks),
		T(test_rx_buf),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
