/* dwrite_int.h - dwrite's state, shared by dwrite.c (the ring and its
 * threads) and dwrite_io.c (the writes to the file). Not an API: use
 * dwrite.h. */
#ifndef DOCKD_DWRITE_INT_H
#define DOCKD_DWRITE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dwrite.h"

/* O_DIRECT: file offsets, lengths and buffer addresses in multiples of
 * this (a page: covers every logical block size seen in practice). */
#define DWRITE_ALIGN 4096u

struct dwrite {
	int fd; /* the caller's */
	uint8_t *blk[DWRITE_LONE_BLOCKS];
	unsigned nblk;  /* blocks in the ring */
	size_t bsize;   /* block size */
	unsigned cur;   /* the block being filled */
	size_t fill;    /* bytes in blk[cur], from blk[cur] + lead */
	size_t lead;    /* aligned: base % DWRITE_ALIGN, so each byte sits at the
			 * same offset mod DWRITE_ALIGN in memory and in the file;
			 * else 0 */
	bool aligned;   /* the caller's: blocks are laid out for O_DIRECT */
	uint64_t base;  /* file offset of blk[cur][lead] */
	/* O_DIRECT (see write_out): only the writer thread, or the caller
	 * while the thread is idle, touches these and the fd's flags */
	bool direct;    /* aligned stretches go to the file with O_DIRECT */
	bool dio_on;    /* O_DIRECT is set on fd now */
	int fl0;        /* fd's status flags as the caller opened it */
	uint64_t settled; /* [0, settled) written back and dropped from the cache */
	pthread_t th;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* the thread waits here for blocks */
	pthread_cond_t done; /* the caller waits here for free blocks */
	/* under mu: blocks handed to the thread, in file order: the ring slots
	 * head, head+1, ... (npend of them), each with its length and offset;
	 * the writer has finished the first wq of them, the hash thread the
	 * first hq, the tap thread the first tq; a slot is free again once
	 * all of them are done with it */
	unsigned head, npend, wq, hq, tq;
	size_t pend_len[DWRITE_LONE_BLOCKS];
	size_t pend_lead[DWRITE_LONE_BLOCKS];
	uint64_t pend_off[DWRITE_LONE_BLOCKS];
	bool stop;
	int err;  /* the thread's first error */
	int cerr; /* the caller's first error (caller-only) */
	/* SHA-256 of the file's bytes [0, hashed), in order: updated by the
	 * hash thread (the writer thread's when it has none; the caller's
	 * while the threads are idle). Its own thread so that the device
	 * writes one block while the next is hashed: hashing then writing in
	 * series left the device idle for the hash's time (~0.65 s per GiB),
	 * docs/dockd.md "Ingest cost". */
	EVP_MD_CTX *md;
	uint64_t hashed;
	pthread_t hth;
	bool hash_threaded;
	/* the tap: sees every byte md sees, in order, [0, tapped) so far; on
	 * its own thread once the writer thread runs (the caller's while idle) */
	void (*tap)(void *ctx, const uint8_t *buf, size_t len);
	void *tap_ctx;
	uint64_t tapped;
	pthread_t tth;
	bool tap_threaded;
};

/* dwrite_io.c. Only the writer thread, or the caller while the threads
 * are idle, calls these (they change fd's flags and w's O_DIRECT state). */

/* O_DIRECT on fd on or off (back to the caller's flags). */
void dw_set_dio(struct dwrite *w, bool on);

/* Write p[0, len) at file offset off: the page-aligned middle with
 * O_DIRECT where it is on, the rest buffered. */
int dw_write_out(struct dwrite *w, const uint8_t *p, size_t len, uint64_t off);

/* Buffered writes: start the writeback of [off, off + len) and settle
 * what lags more than DWRITE_BEHIND. */
int dw_write_behind(struct dwrite *w, uint64_t off, size_t len);

#endif
