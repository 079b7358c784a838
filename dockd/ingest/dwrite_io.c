/* dwrite_io.c - dwrite's writes to the file: O_DIRECT for the aligned
 * middle, buffered for the rest, early writeback (see dwrite.h). */
#define _GNU_SOURCE /* O_DIRECT, sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "dwrite_int.h"

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Switch O_DIRECT on fd on or off (back to the caller's flags). A
 * filesystem that refuses it (EINVAL: tmpfs, some FUSE) turns direct
 * writes off for good: everything then goes through the page cache. */
void dw_set_dio(struct dwrite *w, bool on)
{
	if (w->dio_on == on)
		return;
	if (fcntl(w->fd, F_SETFL, on ? w->fl0 | O_DIRECT : w->fl0) < 0) {
		if (on)
			w->direct = false;
		return;
	}
	w->dio_on = on;
}

/* Write p[0, len) at off. Direct: the page-aligned middle with O_DIRECT
 * (no copy into the page cache: that copy and its writeback bookkeeping
 * cost ~1 s CPU per GiB here, as much as a SHA-256), the unaligned head
 * and tail (a block after a sync point's flush, the file's last bytes)
 * buffered. p must sit at off's offset mod DWRITE_ALIGN in an aligned
 * buffer (lead). An O_DIRECT write the filesystem refuses (EINVAL) is
 * done buffered, and so is every later one. */
int dw_write_out(struct dwrite *w, const uint8_t *p, size_t len, uint64_t off)
{
	uint64_t a = (off + DWRITE_ALIGN - 1) & ~(uint64_t)(DWRITE_ALIGN - 1);
	uint64_t e = (off + len) & ~(uint64_t)(DWRITE_ALIGN - 1);
	int r = 0;

	if (!w->direct || a >= e) {
		dw_set_dio(w, false);
		return pwrite_all(w->fd, p, len, off);
	}
	if (off < a) {
		dw_set_dio(w, false);
		r = pwrite_all(w->fd, p, (size_t)(a - off), off);
	}
	if (r == 0) {
		dw_set_dio(w, true);
		r = w->dio_on ? pwrite_all(w->fd, p + (a - off), (size_t)(e - a), a) : -EINVAL;
		if (r == -EINVAL) { /* refused (or could not switch): buffered from now on */
			w->direct = false;
			dw_set_dio(w, false);
			r = pwrite_all(w->fd, p + (a - off), (size_t)(e - a), a);
		}
	}
	if (r == 0 && e < off + len) {
		dw_set_dio(w, false);
		r = pwrite_all(w->fd, p + (e - off), (size_t)(off + len - e), e);
	}
	return r;
}

/* sync_file_range where it exists; a filesystem without it (EINVAL,
 * ENOSYS, ESPIPE) just leaves the work to the caller's fdatasync. */
static int range_sync(int fd, uint64_t off, uint64_t len, unsigned int flags)
{
	if (sync_file_range(fd, (off_t)off, (off_t)len, flags) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOSYS || errno == ESPIPE || errno == EINTR)
		return 0;
	return -errno;
}

/* Start the writeback of what was just written, and let the bytes more
 * than DWRITE_BEHIND back finish theirs and leave the page cache: the
 * device always has several requests queued (the kernel merges and queues
 * them as it would for `dd`), dirty pages stay bounded, and the caller's
 * fdatasync at a sync point has little left to do. */
int dw_write_behind(struct dwrite *w, uint64_t off, size_t len)
{
	uint64_t end = off + len, upto;
	int r = range_sync(w->fd, off, len, SYNC_FILE_RANGE_WRITE);

	if (r < 0 || end < w->settled + DWRITE_BEHIND)
		return r;
	upto = end - DWRITE_BEHIND / 2;
	r = range_sync(w->fd, w->settled, upto - w->settled,
		       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			       SYNC_FILE_RANGE_WAIT_AFTER);
	if (r < 0)
		return r;
	(void)posix_fadvise(w->fd, (off_t)w->settled, (off_t)(upto - w->settled),
			    POSIX_FADV_DONTNEED);
	w->settled = upto;
	return 0;
}
