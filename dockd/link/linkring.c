/* linkring.c - the dockd <-> camera-link worker ring (see linkring.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkring.h"

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int linkring_create(struct linkring *r)
{
	void *p;
	int fd, e;

	if (!r)
		return -EINVAL;
	fd = memfd_create("dockd-linkring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* size first, then the seals: from here on nobody can change it */
	if (ftruncate(fd, (off_t)LINKMSG_RING_SIZE) < 0 || fcntl(fd, F_ADD_SEALS, SEALS) < 0)
		goto fail;
	if ((fcntl(fd, F_GET_SEALS) & SEALS) != SEALS) {
		errno = EPERM;
		goto fail;
	}
	p = mmap(NULL, LINKMSG_RING_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->fd = fd;
	r->base = p;
	r->size = LINKMSG_RING_SIZE;
	return 0;
fail:
	e = -errno;
	close(fd);
	return e;
}

void linkring_close_fd(struct linkring *r)
{
	if (r && r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
}

void linkring_free(struct linkring *r)
{
	if (!r)
		return;
	linkring_close_fd(r);
	if (r->base)
		munmap((void *)r->base, r->size);
	r->base = NULL;
	r->size = 0;
}

int linkring_deliver(const struct linkring *r, uint32_t ring_off, uint32_t len, uint64_t offset,
		     uint8_t *buf, size_t cap, linkring_buf_fn getbuf, session_sink_fn sink,
		     void *ctx)
{
	size_t done = 0;

	if (!r || !r->base || !buf || !cap || !sink)
		return -EINVAL;
	if (len == 0 || ring_off > r->size || len > r->size - ring_off)
		return -ERANGE;
	while (done < len) {
		size_t n = len - done < cap ? len - done : cap, gcap = 0;
		uint8_t *to = getbuf ? getbuf(ctx, &gcap) : NULL;
		int s;

		if (to && gcap) {
			if (n > gcap)
				n = gcap;
		} else {
			to = buf;
		}
		/* the one read of these ring bytes: everything after uses to */
		memcpy(to, r->base + ring_off + done, n);
		s = sink(ctx, to, n, offset + done);
		if (s < 0)
			return s;
		done += n;
	}
	return 0;
}

int linkring_map(int fd, uint8_t **base)
{
	struct stat st;
	void *p;
	int seals, e;

	if (!base || fd < 0)
		return -EINVAL;
	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) < 0 || seals < 0) {
		e = -errno;
		goto out;
	}
	e = -EINVAL;
	if ((uint64_t)st.st_size != LINKMSG_RING_SIZE || !(seals & F_SEAL_SHRINK))
		goto out;
	p = mmap(NULL, LINKMSG_RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		e = -errno;
		goto out;
	}
	*base = p;
	e = 0;
out:
	close(fd);
	return e;
}
