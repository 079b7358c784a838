/* lcprio.h - the CPU and disk priority of the lifecycle threads (fixity
 * audit, vault purge): below ingest's (docs/retention.md, "Lifecycle jobs
 * yield to ingest").
 *
 * lcprio_background() lowers the CALLING THREAD only (Linux keeps nice
 * and the I/O priority per thread): nice +LCPRIO_NICE, so a camera
 * thread gets the CPU first, and I/O class idle (ioprio_set(2), which
 * glibc does not wrap), so its reads and writes reach the disk when
 * nothing else is queued. The I/O class is honoured by the mq-deadline
 * and bfq schedulers; with "none" (some NVMe set-ups) only the pause of
 * ingact.h holds the jobs back. Neither call can fail the job: an
 * error (a seccomp filter without ioprio_set/setpriority) is logged once
 * and the job runs at normal priority.
 *
 * lcprio_io(false) puts the calling thread's I/O back to best-effort
 * (a purge under space pressure must not queue behind ingest, which is
 * waiting for that space); lcprio_io(true) makes it idle again.
 */
#ifndef DOCKD_LCPRIO_H
#define DOCKD_LCPRIO_H

#include <stdbool.h>

#define LCPRIO_NICE 10

void lcprio_background(const char *who);
void lcprio_io(bool idle);

#endif
