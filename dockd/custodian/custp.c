/* custp.c - the custodian process (see custp.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "chanspawn.h"
#include "config.h"
#include "custmsg.h"
#include "custp.h"
#include "custp_int.h"
#include "custp_sandbox.h"
#include "dockcert.h"
#include "dockkey.h"
#include "llrule.h"
#include "log.h"
#include "p11key.h"
#include "session.h"

int custp_landlock_abi;

struct custp {
	char config[DOCK_CONFIG_PATH_MAX];
	struct dock_config *cfg;
	struct edsig_key *dock_key;
	struct proto_dock_cert cert;
	struct cust_signer signer;
	bool have_signer;
	struct cust_ledger *l;
	char ledger_path[CUST_CONFIG_PATH_MAX];
	char ckpt_key[CUST_CONFIG_PATH_MAX]; /* its spec: file or PKCS#11 URI */
	struct custckpt ck;
};

/* ---- opening ------------------------------------------------------------- */

static int open_all(struct custp *p, char *err, size_t errlen)
{
	uint8_t pub[EDSIG_PUBKEY_LEN];
	struct cust_config cc;
	char path[DOCK_CONFIG_PATH_MAX + 32];
	int r;

	r = dock_config_load(p->config, p->cfg, err, errlen);
	if (r < 0)
		return r;
	log_set_level(p->cfg->log_level);
	if ((r = dockkey_open(p->cfg->key_path, &p->dock_key, err, errlen)) < 0)
		return r;
	if ((r = dockcert_load(p->cfg->cert_path, &p->cert)) < 0) {
		snprintf(err, errlen, "%s: dock certificate: %s", p->cfg->cert_path,
			 edsig_strerror(r));
		return r;
	}
	if (edsig_public_raw(p->dock_key, pub) < 0 ||
	    memcmp(pub, p->cert.dock_pubkey, sizeof(pub))) {
		snprintf(err, errlen, "%s: certificate is not for the dock key %s",
			 p->cfg->cert_path, p->cfg->key_path);
		return -EINVAL;
	}
	if ((r = cust_config_load(p->config, &cc, err, errlen)) < 0)
		return r;
	snprintf(p->ledger_path, sizeof(p->ledger_path), "%s", cc.ledger_path);
	if (cc.checkpoint_key[0]) {
		if (!p11key_is_uri(cc.checkpoint_key) &&
		    (r = dockkey_check_file(cc.checkpoint_key, "checkpoint key", err, errlen)) < 0)
			return r;
		if ((r = cust_signer_load(&cc, &p->signer, err, errlen)) < 0)
			return r;
		p->have_signer = true;
		snprintf(p->ckpt_key, sizeof(p->ckpt_key), "%s", cc.checkpoint_key);
		snprintf(path, sizeof(path), "%s/custodian.state", p->cfg->state_dir);
		if ((r = custckpt_open(path, &p->ck, err, errlen)) < 0)
			return r;
	}
	/* read-only: the custodian checks what dockd wrote, it never writes */
	return cust_ledger_open(cc.ledger_path, CUST_LEDGER_RDONLY, &p->l, err, errlen);
}

/* ---- lock-down ----------------------------------------------------------- */

static int landlock(const struct custp *p)
{
	static const char *const ro_dirs[] = { LLRULE_CODE_DIRS, NULL };
	static const char *const ro_files[] = { "/etc/localtime", "/etc/ld.so.cache",
						"/dev/urandom", "/dev/null", NULL };
	long abi = llrule_abi();
	char f[CUST_CONFIG_PATH_MAX + 8];
	int fd, r, wide = 0;

	if (abi < 1)
		return 0; /* not in this kernel: the other limits still apply */
	/* no network: TCP bind and connect handled (ABI 4), no rule grants them */
	if ((r = llrule_ruleset(abi, LLRULE_NO_NET, &fd)) < 0)
		return r;
	r = llrule_allow_ro(fd, ro_dirs, ro_files);
	if (r == 0)
		r = llrule_allow(fd, p->config, LANDLOCK_ACCESS_FS_READ_FILE);
	/* a key in a PKCS#11 token: what its module reads when it signs */
	if (r == 0) {
		const char *const keys[] = { p->cfg->key_path, p->ckpt_key };

		r = custp_p11_rules(fd, keys, 2, &wide);
	}
	/* the ledger: read; SQLite's WAL reader also writes the -shm index */
	if (r == 0)
		r = llrule_allow(fd, p->ledger_path, LANDLOCK_ACCESS_FS_READ_FILE);
	snprintf(f, sizeof(f), "%s-wal", p->ledger_path);
	if (r == 0)
		r = llrule_allow(fd, f, LANDLOCK_ACCESS_FS_READ_FILE);
	snprintf(f, sizeof(f), "%s-shm", p->ledger_path);
	if (r == 0)
		r = llrule_allow(fd, f, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE);
	r = llrule_restrict(fd, r);
	if (r == 0)
		custp_landlock_abi = (int)abi;
	if (r == 0 && wide)
		log_info("custodian: PKCS#11 module other than softhsm2: landlock lets it read "
			 "any file (it writes none)");
	return r;
}

/* After the keys, the ledger and the state file are open: nothing opened
 * for writing any more, no network, no exec (custp_sandbox.h). */
static int lock_down(const struct custp *p)
{
	struct rlimit core = { 0, 0 };
	int r;

	if (setrlimit(RLIMIT_CORE, &core) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if ((r = landlock(p)) < 0)
		return r;
	return custp_seccomp();
}

/* ---- requests ------------------------------------------------------------ */

/* CM_AUTH: only an AUTH_DOCK tbs over this dock's own certificate. Its
 * serial sits after the domain and the two nonces; the bytes must be
 * exactly what proto_dock_auth_tbs() makes of them. */
static int do_auth(struct custp *p, const struct custmsg *q, struct custmsg *a)
{
	uint8_t tbs[PROTO_TBS_MAX];
	const size_t off = sizeof("BCDK-v1 dock-auth") + 2 * PROTO_NONCE_LEN;
	char serial[PROTO_ID_MAX + 1];
	size_t n = 0, sl;
	int r;

	if (q->blob_len < off + 2)
		return -EPERM;
	sl = (size_t)q->blob[off] << 8 | q->blob[off + 1];
	if (sl < 1 || sl > PROTO_ID_MAX || off + 2 + sl > q->blob_len)
		return -EPERM;
	memcpy(serial, q->blob + off + 2, sl);
	serial[sl] = '\0';
	if (!proto_id_valid(serial))
		return -EPERM;
	r = proto_dock_auth_tbs(q->blob + off - 2 * PROTO_NONCE_LEN,
				q->blob + off - PROTO_NONCE_LEN, serial, &p->cert, tbs,
				sizeof(tbs), &n);
	if (r < 0 || n != q->blob_len || memcmp(tbs, q->blob, n))
		return -EPERM; /* not an AUTH_DOCK: never signed */
	return edsig_sign(p->dock_key, tbs, n, a->sig) < 0 ? -EIO : 0;
}

static int do_receipt(struct custp *p, const struct custmsg *q, struct custmsg *a)
{
	bool local = p->cfg->release_policy == DOCK_RELEASE_LOCAL;
	struct proto_receipt rc;
	char why[200] = "";
	int r;

	r = custgate_check(p->l, q->serial, q->recording, q->sha256, local, why, sizeof(why));
	if (r == -EPERM) {
		log_warning("custodian: release receipt for %s/%s refused: %s", q->serial,
			    q->recording, why);
		snprintf(a->text, sizeof(a->text), "%s", why);
		return r;
	}
	if (r < 0) {
		snprintf(a->text, sizeof(a->text), "ledger unreadable for the receipt gate: %s",
			 strerror(-r));
		return r;
	}
	memset(&rc, 0, sizeof(rc));
	snprintf(rc.recording_id, sizeof(rc.recording_id), "%s", q->recording);
	memcpy(rc.sha256, q->sha256, sizeof(rc.sha256));
	snprintf(rc.location, sizeof(rc.location), "%s", q->location);
	snprintf(rc.dock_id, sizeof(rc.dock_id), "%s", p->cert.dock_id);
	rc.issued_utc = q->issued ? q->issued : (int64_t)time(NULL);
	if ((r = session_receipt_sign(p->dock_key, &rc)) < 0)
		return -EIO;
	memcpy(a->sig, rc.sig, sizeof(a->sig));
	snprintf(a->dock_id, sizeof(a->dock_id), "%s", rc.dock_id);
	a->issued = rc.issued_utc;
	return 0;
}

static int do_ckpt(struct custp *p, struct custmsg *a)
{
	char why[CUSTMSG_TEXT_MAX] = "", *note = NULL;
	size_t len = 0;
	uint64_t size = 0;
	int r;

	if (!p->have_signer)
		return -ENOKEY;
	r = custckpt_sign(&p->ck, p->l, &p->signer, &size, &note, &len, why, sizeof(why));
	if (r == -EPERM)
		log_error("custodian: checkpoint refused: %s", why);
	snprintf(a->text, sizeof(a->text), "%s", why);
	if (r == 0 && len > CUSTMSG_BLOB_MAX)
		r = -E2BIG;
	if (r == 0) {
		memcpy(a->blob, note, len);
		a->blob_len = (uint16_t)len;
		a->size = size;
	}
	free(note);
	return r;
}

static void do_reload(struct custp *p)
{
	struct dock_config *c = calloc(1, sizeof(*c));
	char err[600] = "";

	if (c && dock_config_load(p->config, c, err, sizeof(err)) == 0) {
		p->cfg->release_policy = c->release_policy;
		log_set_level(c->log_level);
	} else {
		log_error("custodian: reload: %s (the running release policy stays)",
			  err[0] ? err : "out of memory");
	}
	if (c)
		dock_config_free(c);
	free(c);
}

/* ---- main ---------------------------------------------------------------- */

int custp_main(const char *config, const char *ctl_fd)
{
	struct custp *p = calloc(1, sizeof(*p));
	struct custmsg *q = calloc(1, sizeof(*q)), *a = calloc(1, sizeof(*a));
	char err[1200] = "";
	int ctl = chanspawn_parse_fd(ctl_fd), r;

	if (ctl < 0 || !p || !q || !a || !(p->cfg = calloc(1, sizeof(*p->cfg))))
		return 2;
	/* nothing of the daemon's but the channel and stdio */
	if (ctl > 3)
		syscall(SYS_close_range, 3U, (unsigned)ctl - 1, 0);
	syscall(SYS_close_range, (unsigned)ctl + 1, ~0U, 0);
	snprintf(p->config, sizeof(p->config), "%s", config);
	p->ck.fd = -1;
	r = open_all(p, err, sizeof(err));
#ifdef LINK_ATTACK_TESTS
	custp_attack_arm();
#endif
	if (r == 0 && (r = lock_down(p)) < 0)
		snprintf(err, sizeof(err), "custodian: lock-down failed: %s", strerror(-r));
	a->type = CM_READY;
	a->rc = r < -4095 ? -EIO : r;
	snprintf(a->text, sizeof(a->text), "%.*s", (int)sizeof(a->text) - 1, r < 0 ? err : "");
	if (r == 0) {
		(void)edsig_public_raw(p->dock_key, a->dock_pub);
		a->have_ckpt = p->have_signer && edkey_public_raw(p->signer.key, a->ckpt_pub) == 0;
	}
	if (custmsg_send(ctl, a) < 0 || r < 0)
		_exit(r < 0 ? 1 : 3);
	log_debug("custodian %d ready (landlock ABI %d)", (int)getpid(), custp_landlock_abi);
	for (;;) {
		r = custmsg_recv(ctl, -1, q);
		if (r == -ECONNRESET)
			_exit(0); /* dockd is gone */
		if (r < 0) {
			log_error("custodian: channel: %s", strerror(-r));
			_exit(3);
		}
		memset(a, 0, sizeof(*a));
		a->type = CM_RESULT;
		switch (q->type) {
		case CM_AUTH:
			r = do_auth(p, q, a);
			if (r == -EPERM) {
				log_error("custodian: CM_AUTH bytes are not an AUTH_DOCK over this "
					  "dock's certificate: refused");
				snprintf(a->text, sizeof(a->text), "not an AUTH_DOCK to-be-signed");
			}
			break;
		case CM_RECEIPT:
#ifdef LINK_ATTACK_TESTS
			custp_attack();
#endif
			r = do_receipt(p, q, a);
			break;
		case CM_CKPT:
			r = do_ckpt(p, a);
			break;
		case CM_RELOAD:
			do_reload(p);
			r = 0;
			break;
		default:
			log_error("custodian: message type %u from dockd", q->type);
			_exit(3);
		}
		a->rc = r < -4095 || r > 0 ? -EIO : r;
		if (custmsg_send(ctl, a) < 0)
			_exit(3);
	}
}
