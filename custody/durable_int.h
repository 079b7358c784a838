/*
 * durable_int.h - small POSIX helpers for the custody files that write
 * durably (publish.c's external checkpoint copies, witness.c's state).
 * Internal to custody/.
 */
#ifndef CUSTODY_DURABLE_INT_H
#define CUSTODY_DURABLE_INT_H

#include <stddef.h>

/* fsync() the directory `dir` itself, so a new or renamed entry in it
 * survives a power cut.  0 or -errno. */
int cust_fsync_dir(const char *dir);

/* Write all of data[0..len) to fd, retrying on EINTR.  0, -errno, or
 * -EIO if write() returned 0. */
int cust_write_all(int fd, const void *data, size_t len);

#endif
