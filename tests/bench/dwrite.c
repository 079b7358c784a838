/* dwrite.c - the ingest's writer stage alone (dockd/ingest/dwrite.h):
 * MIB MiB of pseudo-random bytes appended in 64 KiB pieces (as the evfile
 * writer hands ciphertext over) with the ciphertext SHA-256 on, a flush
 * every 64 MiB (a sync point's; the ingest's fdatasync there runs on
 * another thread and is left out here), then flush + fsync. Prints
 * "wall_s cpu_s" (CPU: user + sys of the whole process). Built by
 * tests/bench/dwrite.sh against a given dwrite.c.
 *	dwrite PATH MIB */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dwrite.h"

#define PIECE (64u << 10)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
	       (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static unsigned char buf[PIECE];
	unsigned char sha[32];
	unsigned long long mib, total, done = 0;
	struct dwrite *w = NULL;
	unsigned int x = 12345;
	uint64_t len = 0;
	double t0, c0;
	int fd;

	if (argc != 3 || (mib = strtoull(argv[2], NULL, 10)) == 0 || mib > (1u << 20))
		return fprintf(stderr, "usage: dwrite PATH MIB\n"), 2;
	total = mib << 20;
	for (size_t i = 0; i < sizeof(buf); i++) /* not all-zero (a sparse-aware disk) */
		buf[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return perror("open"), 1;
	t0 = now();
	c0 = cpu();
	if (dwrite_open(fd, 0, 1, &w) < 0)
		return fprintf(stderr, "dwrite_open failed\n"), 1;
	while (done < total) {
		buf[done / PIECE % PIECE] ^= 1; /* every piece differs */
		if (dwrite_append(w, buf, PIECE) < 0)
			return fprintf(stderr, "append failed\n"), 1;
		done += PIECE;
		if (done % (64u << 20) == 0 && dwrite_flush(w) < 0)
			return fprintf(stderr, "flush failed\n"), 1;
	}
	if (dwrite_flush(w) < 0 || fsync(fd) < 0 || dwrite_sha256(w, &len, sha) < 0 || len != total)
		return fprintf(stderr, "finish failed\n"), 1;
	printf("%.3f %.3f\n", now() - t0, cpu() - c0);
	dwrite_free(w);
	close(fd);
	return 0;
}
