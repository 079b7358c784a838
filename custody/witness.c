/*
 * witness.c - tlog-witness add-checkpoint: checks, durable state and
 * cosigning (see witness.h; the wire format is parsed in witness_req.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cosig.h"
#include "durable_int.h"
#include "witness.h"

#define EVIDENCE_MAX 64		/* refused notes kept per log and run */

struct wlog {
	char origin[CKPT_MAX_ORIGIN + 1];
	char hex[65];			/* SHA-256(origin), lowercase hex */
	struct ckpt_vkey keys[WITNESS_MAX_LOGKEYS];
	size_t n_keys;
	int have;			/* a checkpoint was cosigned */
	uint64_t size;
	merkle_hash root;
	char *note;			/* the stored state (malloc'd) */
	size_t note_len;
	unsigned evidence;
};

struct witness {
	char name[CKPT_MAX_NAME + 1];
	const struct edkey *key;
	struct ckpt_vkey vkey;
	char dir[4096];
	struct wlog logs[WITNESS_MAX_LOGS];
	size_t n_logs;
	pthread_mutex_t mu;
};

int witness_origin_hex(const char *origin, size_t len, char hex[65])
{
	static const char d[] = "0123456789abcdef";
	uint8_t md[32];

	if (!EVP_Digest(origin, len, md, NULL, EVP_sha256(), NULL))
		return -EIO;
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = d[md[i] >> 4];
		hex[2 * i + 1] = d[md[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

int witness_new(const char *name, const struct edkey *key, const char *dir,
		struct witness **out, char *err, size_t errlen)
{
	struct witness *w;
	int r;

	if (!name || !key || !dir || !out || !ckpt_name_valid(name)) {
		snprintf(err, errlen, "witness name: 1..255 printable ASCII "
			 "characters, no space or '+'");
		return -EINVAL;
	}
	if (!edkey_has_private(key)) {
		snprintf(err, errlen, "the witness key has no private part");
		return -ENOKEY;
	}
	if (strlen(dir) >= sizeof(w->dir) - 80) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	snprintf(w->name, sizeof(w->name), "%s", name);
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->key = key;
	if ((r = cosig_vkey_from_edkey(name, key, &w->vkey))) {
		snprintf(err, errlen, "witness key: %s", strerror(-r));
		free(w);
		return r;
	}
	pthread_mutex_init(&w->mu, NULL);
	*out = w;
	return 0;
}

void witness_free(struct witness *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_logs; i++)
		free(w->logs[i].note);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int witness_vkey(const struct witness *w, char *buf, size_t cap)
{
	return cosig_vkey_format(&w->vkey, buf, cap);
}

static struct wlog *find_log(struct witness *w, const char *origin,
			     size_t len)
{
	for (size_t i = 0; i < w->n_logs; i++)
		if (strlen(w->logs[i].origin) == len &&
		    !memcmp(w->logs[i].origin, origin, len))
			return &w->logs[i];
	return NULL;
}

int witness_add_log(struct witness *w, const char *spec, char *err,
		    size_t errlen)
{
	const char *sp = spec ? strrchr(spec, ' ') : NULL;
	struct ckpt_vkey v;
	struct wlog *lg;
	size_t olen;
	int r;

	if (!sp || sp == spec) {
		snprintf(err, errlen, "--log wants 'ORIGIN VKEY'");
		return -EINVAL;
	}
	olen = (size_t)(sp - spec);
	if ((r = ckpt_vkey_parse(sp + 1, strlen(sp + 1), &v))) {
		snprintf(err, errlen, "--log %s: not a checkpoint vkey (type 0x01)",
			 sp + 1);
		return r;
	}
	if (!strcmp(v.name, w->name)) {
		snprintf(err, errlen, "--log: the log key may not be named like "
			 "the witness (%s)", w->name);
		return -EINVAL;
	}
	if (!(lg = find_log(w, spec, olen))) {
		if (w->n_logs == WITNESS_MAX_LOGS) {
			snprintf(err, errlen, "at most %d logs", WITNESS_MAX_LOGS);
			return -E2BIG;
		}
		lg = &w->logs[w->n_logs];
		memset(lg, 0, sizeof(*lg));
		if (olen > CKPT_MAX_ORIGIN) {
			snprintf(err, errlen, "--log: origin too long");
			return -E2BIG;
		}
		memcpy(lg->origin, spec, olen);
		if (!ckpt_origin_valid(lg->origin) ||
		    (r = witness_origin_hex(lg->origin, olen, lg->hex))) {
			snprintf(err, errlen, "--log: invalid origin");
			return -EINVAL;
		}
		w->n_logs++;
	}
	if (lg->n_keys == WITNESS_MAX_LOGKEYS) {
		snprintf(err, errlen, "at most %d keys per log", WITNESS_MAX_LOGKEYS);
		return -E2BIG;
	}
	lg->keys[lg->n_keys++] = v;
	return 0;
}

int witness_write_file(const char *dir, const char *name, const char *data,
		       size_t len, int excl)
{
	char path[4200], tmp[4200];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	unlink(tmp);	/* left by a crash: ours, the state is under lock */
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	r = cust_write_all(fd, data, len);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && (excl ? link(tmp, path) : rename(tmp, path)))
		r = -errno;
	if (r || excl)
		unlink(tmp);
	return r ? r : cust_fsync_dir(dir);
}

int witness_read_file(const char *dir, const char *name, size_t cap,
		      char **out, size_t *len)
{
	char path[4200];
	struct stat sb;
	char *buf;
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > cap) {
		close(fd);
		return -EFBIG;
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)sb.st_size + 1);
	if (n != sb.st_size)
		r = n < 0 ? -errno : -EIO;
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int witness_load(struct witness *w, char *err, size_t errlen)
{
	for (size_t i = 0; i < w->n_logs; i++) {
		struct wlog *lg = &w->logs[i];
		struct checkpoint cp;
		size_t len = 0, cnt = 0;
		char *note = NULL;
		int r;

		r = witness_read_file(w->dir, lg->hex, CKPT_MAX_NOTE, &note, &len);
		if (r == -ENOENT)
			continue;
		if (r == 0 && (r = checkpoint_parse_verify(note, len, lg->keys,
					lg->n_keys, &cp, NULL)) == 0 &&
		    strcmp(cp.origin, lg->origin))
			r = -EBADMSG;
		if (r == 0 && ((r = cosig_note_check(note, len, &w->vkey, 1,
						     NULL, &cnt, NULL)) ||
			       cnt != 1))
			r = r ? r : -ENOKEY;
		if (r) {
			snprintf(err, errlen, "%s/%s (state of %s): %s: refusing "
				 "to start rather than forget the log's state",
				 w->dir, lg->hex, lg->origin, r == -ENOKEY ?
				 "not cosigned by this witness's key" :
				 checkpoint_strerror(r));
			free(note);
			return r;
		}
		free(lg->note);
		lg->note = note;
		lg->note_len = len;
		lg->have = 1;
		lg->size = cp.size;
		memcpy(lg->root, cp.root, MERKLE_HASH_LEN);
	}
	return 0;
}

/* Keep the refused but validly signed note: it proves the log misbehaved
 * (spec: a witness MAY log it).  Best effort, capped per log and run. */
static void keep_evidence(struct witness *w, struct wlog *lg, uint64_t size,
			  const char *body, size_t len)
{
	char dir[4200], name[160];

	if (lg->evidence >= EVIDENCE_MAX)
		return;
	snprintf(dir, sizeof(dir), "%s/refused", w->dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return;
	snprintf(name, sizeof(name), "%s.%llu.%lld.%u", lg->hex,
		 (unsigned long long)size, (long long)time(NULL), lg->evidence);
	if (witness_write_file(dir, name, body, len, 1) == 0)
		lg->evidence++;
}

/* note text + blank line + the log's own signature lines (by key name;
 * their signatures were verified) + our cosignature line. */
static int build_state(const struct wlog *lg, const char *note, size_t len,
		       const char *cosig, size_t cl, char **out, size_t *olen)
{
	size_t tlen, p, o;
	char *s;
	int r;

	if ((r = cosig_note_text(note, len, &tlen, &p)))
		return r;
	if (!(s = malloc(len + cl + 2)))
		return -ENOMEM;
	memcpy(s, note, tlen);
	s[tlen] = '\n';
	o = tlen + 1;
	while (p < len) {
		const char *line = note + p, *nl = memchr(line, '\n', len - p);
		size_t ll = (size_t)(nl - line) + 1;

		for (size_t k = 0; k < lg->n_keys; k++) {
			size_t nn = strlen(lg->keys[k].name);

			if (ll > 4 + nn && !memcmp(line + 4, lg->keys[k].name, nn) &&
			    line[4 + nn] == ' ') {
				memcpy(s + o, line, ll);
				o += ll;
				break;
			}
		}
		p += ll;
	}
	memcpy(s + o, cosig, cl);
	o += cl;
	s[o] = '\0';
	*out = s;
	*olen = o;
	return 0;
}

#define SAY(...) snprintf(why, whylen, __VA_ARGS__)

/* Under w->mu: the checks against the stored state, then store + sign. */
static int add_locked(struct witness *w, struct wlog *lg,
		      const struct witness_req *rq, const struct checkpoint *cp,
		      char *resp, size_t cap, const char **ctype, char *why,
		      size_t whylen)
{
	uint64_t held = lg->have ? lg->size : 0;
	merkle_hash empty;
	char line[COSIG_MAX_LINE], *state = NULL;
	size_t ll, tlen, sigs, slen;
	int r;

	if (rq->old_size != held) {
		snprintf(resp, cap, "%llu\n", (unsigned long long)held);
		*ctype = "text/x.tlog.size";
		SAY("%s: old size %llu, witness holds %llu", lg->origin,
		    (unsigned long long)rq->old_size, (unsigned long long)held);
		return 409;
	}
	merkle_empty_root(empty);
	if (cp->size == 0 && memcmp(cp->root, empty, MERKLE_HASH_LEN)) {
		SAY("%s: size 0 with a root other than the empty tree's", lg->origin);
		r = 422;
	} else if (rq->old_size == 0) {
		r = rq->n_proof ? 422 : 0;
		SAY("%s: consistency proof from size 0 must be empty", lg->origin);
	} else if (rq->old_size == cp->size) {
		r = rq->n_proof || memcmp(lg->root, cp->root, MERKLE_HASH_LEN) ?
			422 : 0;
		SAY("%s: FORK: a different root for size %llu", lg->origin,
		    (unsigned long long)cp->size);
	} else {
		r = merkle_verify_consistency(rq->old_size, cp->size, lg->root,
					      cp->root, rq->proof, rq->n_proof) ?
			422 : 0;
		SAY("%s: consistency proof %llu -> %llu does not verify "
		    "(rewritten history or a fork)", lg->origin,
		    (unsigned long long)rq->old_size, (unsigned long long)cp->size);
	}
	if (r)
		return r;
	why[0] = '\0';
	if ((r = cosig_note_text(rq->note, rq->note_len, &tlen, &sigs)) ||
	    (r = cosig_sign(w->key, w->name, rq->note, tlen,
			    (uint64_t)time(NULL), line, sizeof(line), &ll)) ||
	    (r = build_state(lg, rq->note, rq->note_len, line, ll, &state,
			     &slen)) ||
	    (r = witness_write_file(w->dir, lg->hex, state, slen, 0))) {
		SAY("%s: cannot cosign and store the state: %s", lg->origin,
		    strerror(-r));
		free(state);
		return 500;
	}
	free(lg->note);
	lg->note = state;
	lg->note_len = slen;
	lg->have = 1;
	lg->size = cp->size;
	memcpy(lg->root, cp->root, MERKLE_HASH_LEN);
	if (ll >= cap)
		return 500;
	memcpy(resp, line, ll + 1);
	*ctype = "text/plain; charset=utf-8";
	return 200;
}

int witness_add_checkpoint(struct witness *w, const char *body, size_t len,
			   char *resp, size_t cap, const char **ctype,
			   char *why, size_t whylen)
{
	struct witness_req *rq;
	struct checkpoint *cp;
	struct wlog *lg;
	const char *nl;
	int r, status;

	resp[0] = '\0';
	*ctype = "text/plain; charset=utf-8";
	rq = malloc(sizeof(*rq));
	cp = malloc(sizeof(*cp));
	if (!rq || !cp) {
		free(rq);
		free(cp);
		SAY("out of memory");
		return 500;
	}
	if ((r = witness_req_parse(body, len, rq))) {
		SAY("malformed request: %s", r == -E2BIG ? "over a size limit" :
		    "not 'old N', proof lines, empty line, checkpoint");
		status = 400;
		goto out;
	}
	nl = memchr(rq->note, '\n', rq->note_len);
	if (!nl || !(lg = find_log(w, rq->note, (size_t)(nl - rq->note)))) {
		SAY("unknown log origin");
		status = nl ? 404 : 400;
		goto out;
	}
	r = checkpoint_parse_verify(rq->note, rq->note_len, lg->keys,
				    lg->n_keys, cp, NULL);
	if (r) {
		SAY("%s: %s", lg->origin, checkpoint_strerror(r));
		status = r == -ENOKEY || r == -EKEYREJECTED ? 403 : 400;
		goto out;
	}
	if (rq->old_size > cp->size) {
		SAY("%s: old size %llu > checkpoint size %llu", lg->origin,
		    (unsigned long long)rq->old_size,
		    (unsigned long long)cp->size);
		status = 400;
		goto out;
	}
	pthread_mutex_lock(&w->mu);
	status = add_locked(w, lg, rq, cp, resp, cap, ctype, why, whylen);
	if (status == 422)
		keep_evidence(w, lg, cp->size, body, len);
	pthread_mutex_unlock(&w->mu);
out:
	free(rq);
	free(cp);
	return status;
}

int witness_get_checkpoint(struct witness *w, const char *hex, char **out,
			   size_t *len)
{
	int r = -ENOENT;

	if (!w || !hex || !out || !len || strlen(hex) != 64)
		return -ENOENT;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->n_logs; i++) {
		struct wlog *lg = &w->logs[i];

		if (strcmp(lg->hex, hex) || !lg->have)
			continue;
		if (!(*out = malloc(lg->note_len + 1))) {
			r = -ENOMEM;
			break;
		}
		memcpy(*out, lg->note, lg->note_len + 1);
		*len = lg->note_len;
		r = 0;
		break;
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}
