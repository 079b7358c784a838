/* partsum.h - the MD5 and SHA-256 of each S3 part of an evidence file,
 * taken at ingest from the ciphertext as it is written.
 *
 * With an s3:// target every part goes out with Content-MD5 and a real
 * x-amz-content-sha256, and the server refuses a part whose bytes do not
 * match them. Hashing each part at upload time costs ~2.3 s of CPU per GiB
 * (MD5 runs at ~650 MB/s here), and since the ingest no longer re-reads
 * the vault file, the upload also had to hash the whole file once more to
 * check it still matches the ledger's ciphertext SHA-256. Taken here, on
 * the ingest's writer thread from the bytes it produced in memory, the
 * digests turn the server's own checks into that check: a vault byte that
 * changed after ingest fails its part at the server (then the upload falls
 * back to hashing the file, which tells damage from a bad digest file).
 *
 *	struct partsum *ps;
 *	partsum_new(&plan, &ps);             // the layout the upload will use
 *	partsum_feed(ps, bytes, n); ...      // the file's bytes, in order
 *	partsum_save(ps, path, ct_sha256);   // after the last byte
 *	partsum_free(ps);
 *
 *	struct partsum_sums *s;
 *	partsum_load(path, &plan, ct_sha256, &s);  // at upload; any mismatch: -ESTALE
 *	... s->md5[n - 1], s->sha256[n - 1] ...
 *	free(s);
 *
 * The file (docs/storage-s3.md): "BCPS", version, size, head_len,
 * part_size, nparts, the ciphertext SHA-256, per part MD5 || SHA-256, and
 * a SHA-256 of everything before it; all integers little-endian. It is a
 * cache: lost, stale or damaged, the upload hashes the vault file instead.
 * Functions return 0 or -errno.
 */
#ifndef DOCKD_PARTSUM_H
#define DOCKD_PARTSUM_H

#include <stddef.h>
#include <stdint.h>

#define PARTSUM_MAX_PARTS 10000u /* S3's limit */

struct partsum_plan {
	uint64_t size;      /* bytes of the whole file */
	uint64_t head_len;  /* part 1 is [0, head_len + part_size) */
	uint64_t part_size; /* part n >= 2: [head_len + (n-1)*part_size, + part_size) */
	unsigned nparts;    /* 2..PARTSUM_MAX_PARTS (one part: a single PUT, no file) */
};

struct partsum_sums {
	unsigned nparts;
	uint8_t (*md5)[16];
	uint8_t (*sha256)[32];
	/* the arrays follow in the same allocation: free(sums) frees all */
};

struct partsum;

/* The digests file of the evidence file at path: "<path>.parts".
 * -ENAMETOOLONG when it does not fit in cap bytes. */
int partsum_path(const char *path, char *buf, size_t cap);

int partsum_new(const struct partsum_plan *plan, struct partsum **out);

/* The next len bytes of the file. More than plan->size in all: -EFBIG. */
int partsum_feed(struct partsum *ps, const void *buf, size_t len);

/* Every byte fed: write the file at path (through path.tmp and a rename,
 * so a reader never sees half of one). */
int partsum_save(struct partsum *ps, const char *path, const uint8_t ct_sha256[32]);

void partsum_free(struct partsum *ps);

/* Read path; 0 with *out only if it is whole and made for exactly this
 * plan and ciphertext SHA-256 (-ESTALE otherwise, -ENOENT without one). */
int partsum_load(const char *path, const struct partsum_plan *plan, const uint8_t ct_sha256[32],
		 struct partsum_sums **out);
/* Same, from fd (read with pread from offset 0; not closed): the storage
 * uploader gets the file as a descriptor (dockd/store/storemsg.h). */
int partsum_load_fd(int fd, const struct partsum_plan *plan, const uint8_t ct_sha256[32],
		    struct partsum_sums **out);

#endif
