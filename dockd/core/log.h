/* log.h - dockd's log: stderr, with syslog-level prefixes under systemd.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with "<N>" so the
 * journal records its priority (sd-daemon(3)); on a terminal the level is
 * spelled out. Lines are written with one write(2), so concurrent sessions
 * do not interleave within a line. Messages longer than LOG_LINE_MAX are
 * truncated, never split.
 *
 *     log_set_level(DOCK_LOG_INFO);
 *     log_info("camera %s docked", serial);
 *     log_warning("...");   // alerts also go through alert.h
 */
#ifndef DOCKD_LOG_H
#define DOCKD_LOG_H

#include "config.h"

#define LOG_LINE_MAX 1024

void log_set_level(enum dock_log_level level);
void log_msg(enum dock_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(DOCK_LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(DOCK_LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(DOCK_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(DOCK_LOG_DEBUG, __VA_ARGS__)

#endif
