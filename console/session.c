/* session: sessions, CSRF tokens, lockout. See session.h. */
#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define LOCK_MAX 1024

struct lockent {
	char name[SESS_NAME_MAX + 1];
	int fails;
	time_t until;
	int64_t last_step;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct csess sessions[SESS_MAX];
static struct lockent locks[LOCK_MAX];
static int idle_s = 900, max_fail = 5, lock_s = 900;

void sess_setup(int idle, int failures, int lock)
{
	idle_s = idle;
	max_fail = failures;
	lock_s = lock;
}

static int random_hex(char *out)
{
	unsigned char b[SESS_HEX / 2];
	size_t i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

static int expired(const struct csess *s, time_t now)
{
	return now - s->last > idle_s || now - s->created > SESS_MAX_AGE_S;
}

/* A free slot (expired ones are reused); caller holds mu. */
static struct csess *slot(time_t now)
{
	for (int i = 0; i < SESS_MAX; i++)
		if (!sessions[i].id[0] || expired(&sessions[i], now))
			return &sessions[i];
	return NULL;
}

static struct csess *find(const char *id)
{
	if (!id || strlen(id) != SESS_HEX)
		return NULL;
	for (int i = 0; i < SESS_MAX; i++)
		if (sessions[i].id[0] &&
		    CRYPTO_memcmp(sessions[i].id, id, SESS_HEX) == 0)
			return &sessions[i];
	return NULL;
}

static int make(const char *user, const char *role, const char *agency,
		struct csess *out)
{
	time_t now = time(NULL);
	struct csess n, *s;

	memset(&n, 0, sizeof(n));
	if (random_hex(n.id) || random_hex(n.csrf))
		return -EIO;
	snprintf(n.user, sizeof(n.user), "%s", user ? user : "");
	snprintf(n.role, sizeof(n.role), "%s", role ? role : "");
	snprintf(n.agency, sizeof(n.agency), "%s", agency ? agency : "");
	n.created = n.last = now;
	pthread_mutex_lock(&mu);
	s = slot(now);
	if (s)
		*s = n;
	pthread_mutex_unlock(&mu);
	if (!s)
		return -ENOSPC;
	*out = n;
	return 0;
}

int sess_new(struct csess *out)
{
	return make(NULL, NULL, NULL, out);
}

int sess_get(const char *id, struct csess *out)
{
	time_t now = time(NULL);
	struct csess *s;
	int rc = -ENOENT;

	pthread_mutex_lock(&mu);
	s = find(id);
	if (s && expired(s, now)) {
		*out = *s;
		OPENSSL_cleanse(s, sizeof(*s));
		rc = -ETIMEDOUT;
	} else if (s) {
		s->last = now;
		*out = *s;
		rc = 0;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

int sess_peek(const char *id, struct csess *out)
{
	time_t now = time(NULL);
	struct csess *s;
	int rc = -ENOENT;

	pthread_mutex_lock(&mu);
	s = find(id);
	if (s && !expired(s, now)) {
		*out = *s;
		rc = 0;
	} else if (s) {
		rc = -ETIMEDOUT;	/* left for sess_get to end and record */
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

int sess_login(const char *old_id, const char *user, const char *role,
	       const char *agency, struct csess *out)
{
	sess_drop(old_id);
	return make(user, role, agency, out);
}

void sess_drop(const char *id)
{
	struct csess *s;

	pthread_mutex_lock(&mu);
	s = find(id);
	if (s)
		OPENSSL_cleanse(s, sizeof(*s));
	pthread_mutex_unlock(&mu);
}

int sess_csrf_ok(const struct csess *s, const char *token)
{
	return token && strlen(token) == SESS_HEX &&
	       CRYPTO_memcmp(s->csrf, token, SESS_HEX) == 0;
}

/* The entry for name, made if needed (oldest unlocked one reused when
 * full); caller holds mu. */
static struct lockent *lock_find(const char *name, int create)
{
	time_t now = time(NULL);
	struct lockent *free_e = NULL;

	for (int i = 0; i < LOCK_MAX; i++) {
		if (locks[i].name[0] && !strcmp(locks[i].name, name))
			return &locks[i];
		if (!free_e && (!locks[i].name[0] ||
				(locks[i].until < now && locks[i].fails < max_fail &&
				 locks[i].last_step == 0)))
			free_e = &locks[i];
	}
	if (!create || !free_e)
		return NULL;
	memset(free_e, 0, sizeof(*free_e));
	snprintf(free_e->name, sizeof(free_e->name), "%s", name);
	return free_e;
}

int lock_is_locked(const char *name)
{
	struct lockent *e;
	int locked;

	pthread_mutex_lock(&mu);
	e = lock_find(name, 0);
	locked = e && e->until > time(NULL);
	pthread_mutex_unlock(&mu);
	return locked;
}

int lock_fail(const char *name)
{
	struct lockent *e;
	int now_locked = 0;

	pthread_mutex_lock(&mu);
	e = lock_find(name, 1);
	if (e && ++e->fails >= max_fail) {
		e->until = time(NULL) + lock_s;
		e->fails = 0;
		now_locked = 1;
	}
	pthread_mutex_unlock(&mu);
	return now_locked;
}

void lock_ok(const char *name)
{
	struct lockent *e;

	pthread_mutex_lock(&mu);
	e = lock_find(name, 0);
	if (e)
		e->fails = 0;
	pthread_mutex_unlock(&mu);
}

int lock_totp_step(const char *name, int64_t step)
{
	struct lockent *e;
	int rc = -EALREADY;

	pthread_mutex_lock(&mu);
	e = lock_find(name, 1);
	if (e && step > e->last_step) {
		e->last_step = step;
		rc = 0;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}
