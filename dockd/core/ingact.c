/* ingact.c - ingest activity for the lifecycle jobs (ingact.h). */
#include <time.h>

#include "daemon.h"
#include "ingact.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ingact_begin(struct dockd *d)
{
	atomic_fetch_add(&d->pulling, 1);
}

void ingact_end(struct dockd *d)
{
	/* the end time first: a reader that sees 0 pulling sees it too */
	atomic_store(&d->pull_end_ns, mono_ns());
	atomic_fetch_sub(&d->pulling, 1);
}

bool ingact_busy(struct dockd *d)
{
	int64_t end;

	if (atomic_load(&d->pulling))
		return true;
	end = atomic_load(&d->pull_end_ns);
	return end && mono_ns() - end < (int64_t)INGACT_QUIET_MS * 1000000;
}
