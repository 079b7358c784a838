/* custckpt.c - the custodian's checkpoints: the tree head computed from
 * its own read of the ledger, signed only as an extension of the last
 * tree it signed (see custp_int.h).
 *
 * The state file holds the Merkle frontier of the last signed tree in two
 * 4 KiB slots written alternately (generation, size, frontier, SHA-256 of
 * the slot), each with fdatasync: a torn write leaves the other slot,
 * the tree before, which the ledger still extends. It is written before
 * the signed note leaves the process.
 *
 * A new tree is the remembered frontier extended by the leaf hashes of
 * the events after it, each computed here from the event's columns
 * (which must encode to exactly the stored canonical bytes, whose hash
 * must be the stored leaf hash); its root must also equal the root of
 * the ledger's own stored frontier. So a signed tree always extends the
 * last one, whatever dockd wrote: an event rewritten, removed or
 * inserted, or a rewritten stored tree, is refused. The first request of
 * each custodian process reads the whole ledger this way (a row changed
 * below the last signed size is found too) and the last signed tree
 * must be its prefix; without a state file (first start) the newest
 * checkpoint the ledger holds that verifies under this key takes that
 * place. Later requests read only the events after the last signed tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "checkpoint.h"
#include "custp_int.h"

#define SLOT 4096
#define MAGIC "BCDKCUS1"

struct slot_hdr { /* on disk, little-endian */
	uint8_t magic[8];
	uint8_t gen[8];
	uint8_t flen[4];
};

static void le_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int sha256(const void *p, size_t n, uint8_t out[32])
{
	return EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

/* One slot: 0 with *gen and f filled, -EBADMSG when empty or damaged. */
static int read_slot(int fd, int i, uint64_t *gen, struct merkle_frontier *f)
{
	uint8_t buf[SLOT], sum[32];
	struct slot_hdr h;
	uint32_t flen;
	ssize_t n = pread(fd, buf, SLOT, (off_t)i * SLOT);

	if (n < 0)
		return -errno;
	if (n != SLOT)
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	flen = (uint32_t)le_get(h.flen, 4);
	if (memcmp(h.magic, MAGIC, 8) || flen > MERKLE_FRONTIER_MAX_BYTES ||
	    sizeof(h) + flen + 32 > SLOT || sha256(buf, sizeof(h) + flen, sum) ||
	    memcmp(sum, buf + sizeof(h) + flen, 32) ||
	    merkle_frontier_import(f, buf + sizeof(h), flen))
		return -EBADMSG;
	*gen = le_get(h.gen, 8);
	return 0;
}

int custckpt_open(const char *path, struct custckpt *st, char *err, size_t errlen)
{
	struct merkle_frontier f[2];
	uint64_t g[2] = { 0, 0 };
	int ok[2], fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: custodian state: %s", path, strerror(e));
		return -e;
	}
	for (int i = 0; i < 2; i++)
		ok[i] = read_slot(fd, i, &g[i], &f[i]) == 0;
	memset(st, 0, sizeof(*st));
	st->fd = fd;
	merkle_frontier_init(&st->f);
	if (ok[0] || ok[1]) {
		int i = ok[0] && (!ok[1] || g[0] > g[1]) ? 0 : 1;

		st->have = true;
		st->gen = g[i];
		st->f = f[i];
	}
	return 0;
}

void custckpt_close(struct custckpt *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static int save(struct custckpt *st, const struct merkle_frontier *f)
{
	uint8_t buf[SLOT];
	struct slot_hdr h;
	uint64_t gen = st->gen + 1;
	size_t flen = 0;
	int r;

	memset(buf, 0, sizeof(buf));
	memcpy(h.magic, MAGIC, 8);
	le_put(h.gen, gen, 8);
	r = merkle_frontier_export(f, buf + sizeof(h), MERKLE_FRONTIER_MAX_BYTES, &flen);
	if (r < 0)
		return r;
	le_put(h.flen, flen, 4);
	memcpy(buf, &h, sizeof(h));
	if ((r = sha256(buf, sizeof(h) + flen, buf + sizeof(h) + flen)) < 0)
		return r;
	if (pwrite(st->fd, buf, SLOT, (off_t)(gen % 2) * SLOT) != SLOT || fdatasync(st->fd) < 0)
		return errno ? -errno : -EIO;
	st->gen = gen;
	st->f = *f;
	st->have = true;
	return 0;
}

/* ---- the walk over the events after the last signed tree ----------------- */

struct walk {
	struct cust_ledger *l;
	sqlite3_stmt *row;        /* canon, leaf_hash of one seq */
	struct merkle_frontier f;
	uint8_t *enc;
	uint64_t anchor;          /* first start: the newest stored checkpoint's size */
	merkle_hash anchor_root;
	bool anchor_seen;
	char *why;
	size_t whylen;
};

static int walk_cb(void *arg, const struct cust_event *ev)
{
	struct walk *w = arg;
	merkle_hash leaf;
	const void *canon, *stored;
	size_t len = 0;
	int rc, r;

	if (ev->seq != w->f.size + 1) {
		snprintf(w->why, w->whylen, "event %llu follows event %llu: events removed or "
			 "inserted", (unsigned long long)ev->seq, (unsigned long long)w->f.size);
		return -EPERM;
	}
	if ((r = cust_event_encode(ev, w->enc, CUST_CANON_MAX, &len)) < 0) {
		snprintf(w->why, w->whylen, "event %llu: its columns are not a valid event",
			 (unsigned long long)ev->seq);
		return -EPERM;
	}
	sqlite3_reset(w->row);
	sqlite3_bind_int64(w->row, 1, (sqlite3_int64)ev->seq);
	rc = sqlite3_step(w->row);
	if (rc != SQLITE_ROW)
		return -EIO;
	canon = sqlite3_column_blob(w->row, 0);
	stored = sqlite3_column_blob(w->row, 1);
	if (!canon || (size_t)sqlite3_column_bytes(w->row, 0) != len || memcmp(canon, w->enc, len) ||
	    merkle_leaf_hash(w->enc, len, leaf) ||
	    sqlite3_column_bytes(w->row, 1) != MERKLE_HASH_LEN || !stored ||
	    memcmp(stored, leaf, MERKLE_HASH_LEN)) {
		snprintf(w->why, w->whylen, "event %llu was changed: its columns, canonical bytes "
			 "and leaf hash disagree", (unsigned long long)ev->seq);
		return -EPERM;
	}
	if ((r = merkle_frontier_append(&w->f, leaf)) < 0)
		return r;
	if (w->anchor && w->f.size == w->anchor) {
		if ((r = merkle_frontier_root(&w->f, w->anchor_root)) < 0)
			return r;
		w->anchor_seen = true;
	}
	return 0;
}

/* First start: the newest checkpoint in the ledger that verifies under
 * this key; 0 and *size 0 when there is none. */
static int newest_stored(struct cust_ledger *l, const struct cust_signer *s, uint64_t *size,
			 merkle_hash root)
{
	struct ckpt_vkey vk;
	struct checkpoint cp;
	sqlite3_stmt *q = NULL;
	int rc, r = ckpt_vkey_from_edkey(s->origin, s->key, &vk);

	*size = 0;
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT note FROM checkpoints ORDER BY size DESC",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *note = (const char *)sqlite3_column_text(q, 0);
		int n = sqlite3_column_bytes(q, 0);

		if (note && n > 0 && checkpoint_parse_verify(note, (size_t)n, &vk, 1, &cp, NULL) == 0) {
			*size = cp.size;
			memcpy(root, cp.root, MERKLE_HASH_LEN);
			break;
		}
	}
	sqlite3_finalize(q);
	return 0;
}

/* The anchor of a full read: the last tree signed (state), else the
 * newest checkpoint the ledger holds that verifies under this key. */
static int anchor(struct custckpt *st, struct cust_ledger *l, const struct cust_signer *s,
		  struct walk *w)
{
	if (st->have) {
		w->anchor = st->f.size;
		return st->f.size ? merkle_frontier_root(&st->f, w->anchor_root) : 0;
	}
	return newest_stored(l, s, &w->anchor, w->anchor_root);
}

static int compute(struct custckpt *st, struct cust_ledger *l, const struct cust_signer *s,
		   struct walk *w, uint64_t *n_out)
{
	struct merkle_frontier stored;
	merkle_hash mine, theirs, want;
	uint64_t n = 0;
	int r;

	if ((r = cust_ledger_size(l, &n)) < 0 || (r = cust_ledger_frontier(l, &stored)) < 0)
		return r;
	if (st->have && n < st->f.size) {
		snprintf(w->why, w->whylen, "the ledger holds %llu events, fewer than the %llu "
			 "of the last signed checkpoint: history removed", (unsigned long long)n,
			 (unsigned long long)st->f.size);
		return -EPERM;
	}
	/* once per process: every event from the first, so a row changed
	 * before the last signed size is found too; then only the new ones */
	if (st->checked) {
		w->f = st->f;
	} else {
		merkle_frontier_init(&w->f);
		if ((r = anchor(st, l, s, w)) < 0)
			return r;
	}
	if (w->anchor > n) {
		snprintf(w->why, w->whylen, "the ledger holds %llu events, fewer than its signed "
			 "checkpoint of size %llu", (unsigned long long)n,
			 (unsigned long long)w->anchor);
		return -EPERM;
	}
	memcpy(want, w->anchor_root, sizeof(want));
	r = n > w->f.size ? cust_ledger_foreach(l, NULL, w->f.size + 1, n, walk_cb, w) : 0;
	if (r != 0)
		return r > 0 ? -EIO : r;
	if (w->anchor && (!w->anchor_seen || memcmp(want, w->anchor_root, sizeof(want)))) {
		snprintf(w->why, w->whylen, "the ledger's first %llu events are not the tree of "
			 "the last signed checkpoint of that size: history rewritten",
			 (unsigned long long)w->anchor);
		return -EPERM;
	}
	if ((r = merkle_frontier_root(&w->f, mine)) < 0 ||
	    (r = merkle_frontier_root(&stored, theirs)) < 0)
		return r;
	if (stored.size != n || w->f.size != n || memcmp(mine, theirs, sizeof(mine))) {
		snprintf(w->why, w->whylen, "the ledger's stored Merkle tree (size %llu) is not the "
			 "extension of the last signed tree (size %llu) by its events",
			 (unsigned long long)stored.size, (unsigned long long)st->f.size);
		return -EPERM;
	}
	*n_out = n;
	return 0;
}

int custckpt_sign(struct custckpt *st, struct cust_ledger *l, const struct cust_signer *s,
		  uint64_t *size, char **note, size_t *len, char *why, size_t whylen)
{
	struct walk *w = calloc(1, sizeof(*w));
	sqlite3 *db = cust_ledger_db(l);
	struct checkpoint cp;
	char *buf = NULL;
	size_t blen = 0;
	uint64_t n = 0;
	int r;

	if (!w)
		return -ENOMEM;
	w->l = l;
	w->why = why;
	w->whylen = whylen;
	w->enc = malloc(CUST_CANON_MAX);
	r = w->enc ? 0 : -ENOMEM;
	/* one read transaction: the size, the events and the stored tree are
	 * one snapshot although dockd appends meanwhile */
	if (r == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		r = -EIO;
	if (r == 0) {
		if (sqlite3_prepare_v2(db, "SELECT canon, leaf_hash FROM events WHERE seq = ?1", -1,
				       &w->row, NULL) != SQLITE_OK)
			r = -EIO;
		if (r == 0)
			r = compute(st, l, s, w, &n);
		sqlite3_finalize(w->row);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	if (r == 0 && n == 0)
		r = -ENODATA;
	if (r == 0) {
		memset(&cp, 0, sizeof(cp));
		snprintf(cp.origin, sizeof(cp.origin), "%s", s->origin);
		cp.size = n;
		r = merkle_frontier_root(&w->f, cp.root);
	}
	if (r == 0 && !(buf = malloc(CKPT_MAX_SIGNED)))
		r = -ENOMEM;
	if (r == 0)
		r = checkpoint_format(&cp, s->origin, s->key, buf, CKPT_MAX_SIGNED, &blen);
	/* remembered before the note leaves: the next one must extend it */
	if (r == 0 && (!st->have || st->f.size != n))
		r = save(st, &w->f);
	if (r == 0)
		st->checked = true;
	if (r == 0) {
		*size = n;
		*note = buf;
		*len = blen;
		buf = NULL;
	}
	free(buf);
	free(w->enc);
	free(w);
	return r;
}
