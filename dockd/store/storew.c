/* storew.c - the storage uploader process (see storew.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chanspawn.h"
#include "config.h"
#include "llrule.h"
#include "log.h"
#include "storemsg.h"
#include "storew.h"
#include "storew_sandbox.h"

int storew_landlock_abi;

/* ABI 3, newer than Debian 12's headers */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

static atomic_bool cancel_flag;
static struct store_target *target;

/* ---- lock-down ----------------------------------------------------------- */

#define LL_FILE_RW (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE)

static int landlock(const struct dock_config *c)
{
	static const char *const ro_dirs[] = { LLRULE_CODE_DIRS, LLRULE_TLS_DIRS, NULL };
	static const char *const ro_files[] = {
		LLRULE_RESOLVER_FILES, "/etc/localtime", "/etc/ld.so.cache", "/dev/urandom",
		"/dev/null", NULL,
	};
	static const char *const db_suffix[] = { "/uploads.db", "/uploads.db-wal", "/uploads.db-shm" };
	long abi = llrule_abi();
	char p[DOCK_CONFIG_PATH_MAX + 32];
	int fd, r;

	if (abi < 1)
		return 0; /* not in this kernel: the other limits still apply */
	storew_landlock_abi = (int)abi;
	/* network: left open (the S3 endpoint, and the name service) */
	if ((r = llrule_ruleset(abi, 0, &fd)) < 0)
		return r;
	r = llrule_allow_ro(fd, ro_dirs, ro_files);
	if (r == 0 && c->s3_ca_file[0])
		r = llrule_allow(fd, c->s3_ca_file, LANDLOCK_ACCESS_FS_READ_FILE);
	/* uploads.db: open already; SQLite in WAL mode keeps its -wal and
	 * -shm files while a connection is open, so these three files are
	 * all it writes (no new file: no right on the state directory) */
	for (size_t i = 0; r == 0 && i < sizeof(db_suffix) / sizeof(db_suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", c->state_dir, db_suffix[i]);
		r = llrule_allow(fd, p, LL_FILE_RW | (storew_landlock_abi >= 3 ?
						   LANDLOCK_ACCESS_FS_TRUNCATE : 0));
	}
	return llrule_restrict(fd, r);
}

static int lock_down(const struct dock_config *c)
{
	struct rlimit core = { 0, 0 };
	int r;

	if (setrlimit(RLIMIT_CORE, &core) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	r = landlock(c);
	/* last: landlock's own system calls are not on the list */
	return r < 0 ? r : storew_seccomp();
}

/* ---- one operation channel ------------------------------------------------ */

struct chan {
	int fd;
	pthread_mutex_t send_mu; /* progress and the result share the channel */
	pthread_cond_t cv;
	bool op_done;
	_Atomic uint64_t progress;
};

static int send_locked(struct chan *ch, const struct storemsg *m)
{
	int r;

	pthread_mutex_lock(&ch->send_mu);
	r = storemsg_send(ch->fd, m, NULL, 0);
	pthread_mutex_unlock(&ch->send_mu);
	return r;
}

/* SM_PROGRESS every 250 ms while the bytes sent change, and once more at
 * the end (before SM_RESULT) so the caller's counter ends where the
 * upload did, as it does in-process. */
static void *ticker(void *arg)
{
	struct chan *ch = arg;
	uint64_t last = 0;

	pthread_mutex_lock(&ch->send_mu);
	for (;;) {
		struct timespec ts;
		uint64_t v = atomic_load(&ch->progress);

		if (v != last) {
			struct storemsg m = { .type = SM_PROGRESS, .size = v };

			(void)storemsg_send(ch->fd, &m, NULL, 0);
			last = v;
		}
		if (ch->op_done)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ch->cv, &ch->send_mu, &ts);
	}
	pthread_mutex_unlock(&ch->send_mu);
	return NULL;
}

static int do_put(struct chan *ch, const struct storemsg *q, const int *fds,
		  struct store_info *info)
{
	struct store_put_opts o = {
		.sha256 = q->sha256, .category = q->category, .case_no = q->case_no,
		.retention_class = q->retention, .retain_until = (time_t)q->retain_until,
		.legal_hold = q->flags & SMF_LEGAL_HOLD,
		.part_sums_fd = q->flags & SMF_SUMS ? fds[1] : 0,
	};
	pthread_t tk;
	bool ticking = false;
	int r;

	if (q->flags & SMF_PROGRESS) {
		o.progress = &ch->progress;
		atomic_store(&ch->progress, 0);
		ch->op_done = false;
		ticking = pthread_create(&tk, NULL, ticker, ch) == 0;
	}
	if (q->type == SM_PUT)
		r = store_put(target, q->key, fds[0], q->size, &o, info);
	else
		r = target->ops->replace ? target->ops->replace(target, q->key, fds[0], q->size, &o,
								info)
					 : -ENOTSUP;
	if (ticking) {
		pthread_mutex_lock(&ch->send_mu);
		ch->op_done = true;
		pthread_cond_signal(&ch->cv);
		pthread_mutex_unlock(&ch->send_mu);
		pthread_join(tk, NULL);
	}
	return r;
}

static void serve_one(struct chan *ch, const struct storemsg *q, const int *fds)
{
	struct storemsg *a = calloc(1, sizeof(*a));
	struct store_target *t = target;
	int r;

	if (!a)
		return;
	a->type = SM_RESULT;
	switch (q->type) {
	case SM_PUT:
	case SM_REPLACE:
		r = do_put(ch, q, fds, &a->info);
		break;
	case SM_VERIFY:
		r = store_verify(t, q->key, q->size, q->sha256);
		break;
	case SM_REMOVE:
		r = store_remove(t, q->key, q->version);
		break;
	case SM_SET_HOLD:
		r = store_set_hold(t, q->key, q->version, q->flags & SMF_HOLD_ON);
		break;
	case SM_PREPARE:
		r = store_prepare(t);
		break;
	case SM_HASH:
		r = t->ops->hash ? t->ops->hash(t, q->key, a->sha256, &a->size) : -ENOTSUP;
		break;
	case SM_FETCH:
		r = t->ops->fetch ? t->ops->fetch(t, q->key, q->flags & SMF_VERSION ? q->version : NULL,
						  fds[0], q->size)
				  : -ENOTSUP;
		break;
	default:
		r = -EPROTO; /* a control message on an operation channel */
	}
	if (r < 0) {
		memset(&a->info, 0, sizeof(a->info));
		memset(a->sha256, 0, sizeof(a->sha256));
		a->size = 0;
	}
	a->rc = r > 0 || r < -4095 ? -EIO : r;
	(void)send_locked(ch, a);
	free(a);
}

static void *serve(void *arg)
{
	struct chan *ch = arg;
	struct storemsg *q = malloc(sizeof(*q));
	int fds[STOREMSG_FDS_MAX], n = 0, r;

	while (q) {
		r = storemsg_recv(ch->fd, -1, q, fds, &n);
		if (r < 0) {
			if (r != -ECONNRESET)
				log_error("storage uploader: operation channel: %s", strerror(-r));
			break;
		}
		serve_one(ch, q, fds);
		for (int i = 0; i < n; i++)
			close(fds[i]);
	}
	free(q);
	close(ch->fd);
	pthread_mutex_destroy(&ch->send_mu);
	pthread_cond_destroy(&ch->cv);
	free(ch);
	return NULL;
}

static int start_chan(int fd)
{
	struct chan *ch = calloc(1, sizeof(*ch));
	pthread_attr_t at;
	pthread_t th;
	int r;

	if (!ch) {
		close(fd);
		return -ENOMEM;
	}
	ch->fd = fd;
	pthread_mutex_init(&ch->send_mu, NULL);
	pthread_cond_init(&ch->cv, NULL);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&th, &at, serve, ch);
	pthread_attr_destroy(&at);
	if (r < 0) {
		close(fd);
		pthread_mutex_destroy(&ch->send_mu);
		pthread_cond_destroy(&ch->cv);
		free(ch);
	}
	return r;
}

/* ---- main ---------------------------------------------------------------- */

int storew_main(const char *config, const char *ctl_fd)
{
	struct dock_config *c = calloc(1, sizeof(*c));
	struct storemsg *m = calloc(1, sizeof(*m));
	char err[STOREMSG_TEXT_MAX] = "";
	int ctl = chanspawn_parse_fd(ctl_fd), fds[STOREMSG_FDS_MAX], n, r;

	if (ctl < 0 || !c || !m)
		return 2;
	/* nothing of the daemon's but the channel and stdio */
	if (ctl > 3)
		syscall(SYS_close_range, 3U, (unsigned)ctl - 1, 0);
	syscall(SYS_close_range, (unsigned)ctl + 1, ~0U, 0);
	r = dock_config_load(config, c, err, sizeof(err));
	if (r == 0) {
		log_set_level(c->log_level);
		r = store_open(c, &cancel_flag, &target, err, sizeof(err));
	}
#ifdef LINK_ATTACK_TESTS
	storew_attack_arm();
#endif
	if (r == 0 && (r = lock_down(c)) < 0)
		snprintf(err, sizeof(err), "storage uploader: lock-down failed: %s", strerror(-r));
	m->type = SM_READY;
	m->rc = r < -4095 ? -EIO : r;
	snprintf(m->text, sizeof(m->text), "%s", r < 0 ? err : "");
	free(c);
	if (storemsg_send(ctl, m, NULL, 0) < 0 || r < 0)
		_exit(r < 0 ? 1 : 3);
	log_debug("storage uploader %d ready (landlock ABI %d)", (int)getpid(),
		  storew_landlock_abi);
#ifdef LINK_ATTACK_TESTS
	storew_attack();
#endif
	for (;;) {
		r = storemsg_recv(ctl, -1, m, fds, &n);
		if (r == -ECONNRESET)
			_exit(0); /* the daemon is gone: uploads.db keeps what was done */
		if (r < 0) {
			log_error("storage uploader: control channel: %s", strerror(-r));
			_exit(3);
		}
		if (m->type == SM_NEWCHAN) {
			if (start_chan(fds[0]) < 0)
				log_error("storage uploader: cannot serve a new channel");
		} else if (m->type == SM_CANCEL) {
			atomic_store(&cancel_flag, true);
		} else {
			for (int i = 0; i < n; i++)
				close(fds[i]);
			log_error("storage uploader: message type %u on the control channel", m->type);
			_exit(3);
		}
	}
}
