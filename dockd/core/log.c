/* log.c - see log.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum dock_log_level current = DOCK_LOG_INFO;

void log_set_level(enum dock_log_level level)
{
	current = level;
}

void log_msg(enum dock_log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { 3, 4, 6, 7 };
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[LOG_LINE_MAX + 2];
	bool journal = getenv("JOURNAL_STREAM") != NULL;
	va_list ap;
	int n;

	if (level > current)
		return;
	if (journal) {
		n = snprintf(line, LOG_LINE_MAX, "<%d>", syslog_prio[level]);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(line, LOG_LINE_MAX, "%s dockd[%ld] %s: ", when, (long)getpid(), names[level]);
	}
	if (n < 0)
		return;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, (size_t)(LOG_LINE_MAX - n), fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > LOG_LINE_MAX - 1)
		n = LOG_LINE_MAX - 1;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
