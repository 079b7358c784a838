/* volsess_id.c - a mass-storage docking's identities: of each file (stable
 * across dockings), of the volume (blkid in a child) and of the camera
 * (its id_file). See volsess_int.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "volsess.h"
#include "volsess_int.h"
#include "wire.h"

#define BLKID_TIMEOUT_MS 10000

extern char **environ;

static int md_sink(void *ctx, const uint8_t *p, size_t n)
{
	return EVP_DigestUpdate(ctx, p, n) == 1 ? 0 : -EIO;
}

/* SHA-256 of [off, off + len) of file f. */
static int part_sha(struct volc *x, const struct volc_file *f, uint64_t off, uint64_t len,
		    uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int l = 0;
	int r = -ENOMEM;

	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
		r = volc_read(x, f->index, off, len, 0, md_sink, md);
		if (r == 0 && (EVP_DigestFinal_ex(md, out, &l) != 1 || l != 32))
			r = -EIO;
	}
	EVP_MD_CTX_free(md);
	return r;
}

static void le64(uint8_t *o, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(v >> (8 * i));
}

/* The same bytes `dockd volume-scan --verify` prints as identity=. */
int volsess_identity(struct volc *x, struct vfile *v)
{
	static const char dom[] = "dockd-msc-identity/v1"; /* hashed with its NUL */
	uint64_t sz = v->f.size, n = sz < VOLSESS_MIB ? sz : VOLSESS_MIB;
	uint8_t head[32], tail[32], id[32], num[16];
	EVP_MD_CTX *md;
	unsigned int l = 0;
	int r;

	if ((r = part_sha(x, &v->f, 0, n, head)) < 0 ||
	    (r = part_sha(x, &v->f, sz - n, n, tail)) < 0)
		return r;
	le64(num, sz);
	le64(num + 8, (uint64_t)v->f.mtime_s);
	if (!(md = EVP_MD_CTX_new()))
		return -ENOMEM;
	r = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, dom, sizeof(dom)) == 1 &&
	    EVP_DigestUpdate(md, v->path, strlen(v->path) + 1) == 1 &&
	    EVP_DigestUpdate(md, num, sizeof(num)) == 1 && EVP_DigestUpdate(md, head, 32) == 1 &&
	    EVP_DigestUpdate(md, tail, 32) == 1 && EVP_DigestFinal_ex(md, id, &l) == 1 && l == 32
		? 0 : -EIO;
	EVP_MD_CTX_free(md);
	if (r < 0)
		return r;
	memcpy(v->head, head, 32);
	memcpy(v->tail, tail, 32);
	memcpy(v->id, id, 32);
	v->rid[0] = 'v';
	for (int i = 0; i < 20; i++)
		snprintf(v->rid + 1 + 2 * i, 3, "%02x", id[i]);
	v->ok = 1;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void volsess_volume_id(const char *devnode, char *out, size_t cap)
{
	char *argv[] = { "blkid", "-p", "-o", "value", "-s", "UUID", "--", (char *)devnode, NULL };
	char buf[VOLSESS_VOLID_MAX + 2];
	posix_spawn_file_actions_t fa;
	int pfd[2], st;
	size_t n = 0;
	pid_t pid;
	int64_t end = mono_ms() + BLKID_TIMEOUT_MS;

	if (cap)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "blkid", &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	while (pid > 0 && n < sizeof(buf)) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		int64_t left = end - mono_ms();
		ssize_t g;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if ((g = read(pfd[0], buf + n, sizeof(buf) - n)) <= 0)
			break;
		n += (size_t)g;
	}
	close(pfd[0]);
	if (pid > 0) {
		kill(pid, SIGKILL); /* done or too slow: either way it ends now */
		(void)waitpid(pid, &st, 0);
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	if (n == 0 || n > VOLSESS_VOLID_MAX || n + 1 > cap)
		return;
	for (size_t i = 0; i < n; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'A' && buf[i] <= 'Z') ||
		      (buf[i] >= 'a' && buf[i] <= 'z') || buf[i] == '-'))
			return; /* not a UUID as blkid prints one: none */
	memcpy(out, buf, n);
	out[n] = '\0';
}

struct idbuf {
	char b[VOLSESS_ID_FILE_CAP + 1];
	size_t n;
};

static int id_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct idbuf *ib = ctx;

	if (n > VOLSESS_ID_FILE_CAP - ib->n)
		return -EFBIG;
	memcpy(ib->b + ib->n, p, n);
	ib->n += n;
	return 0;
}

int volsess_read_id(struct volc *x, const struct volc_file *f, char *out, size_t cap)
{
	struct idbuf ib = { .n = 0 };
	int r;

	if (f->size > VOLSESS_ID_FILE_CAP)
		return -EFBIG;
	if ((r = volc_read(x, f->index, 0, f->size, 0, id_sink, &ib)) < 0)
		return r;
	while (ib.n && strchr(" \t\r\n", ib.b[ib.n - 1]))
		ib.n--;
	ib.b[ib.n] = '\0';
	if (strlen(ib.b) != ib.n || !proto_id_valid(ib.b) || ib.n + 1 > cap)
		return -EINVAL;
	memcpy(out, ib.b, ib.n + 1);
	return 0;
}
