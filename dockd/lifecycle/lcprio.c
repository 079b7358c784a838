/* lcprio.c - lifecycle threads below ingest (lcprio.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ioprio.h>

#include "lcprio.h"
#include "log.h"

static int set_io(bool idle)
{
	/* who 0 = the calling thread (the kernel's task, not the process) */
	int v = idle ? IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0) :
		IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, IOPRIO_BE_NORM);

	return syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) < 0 ? -errno : 0;
}

void lcprio_background(const char *who)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int r = 0, io;

	if (setpriority(PRIO_PROCESS, (id_t)tid, LCPRIO_NICE) < 0)
		r = -errno;
	io = set_io(true);
	if (r < 0 || io < 0)
		log_warning("%s: cannot lower its priority below ingest (nice: %s, I/O class idle:"
			    " %s): the pause for ingest still applies", who,
			    r < 0 ? strerror(-r) : "ok", io < 0 ? strerror(-io) : "ok");
	else
		log_debug("%s: runs at nice %d, I/O class idle", who, LCPRIO_NICE);
}

void lcprio_io(bool idle)
{
	int r = set_io(idle);

	if (r < 0)
		log_debug("ioprio_set(%s): %s", idle ? "idle" : "best-effort", strerror(-r));
}
