/*
 * p11key.c - Ed25519 keys in a PKCS#11 token: the token signs (CKM_EDDSA),
 * OpenSSL verifies.  See p11key.h for the contract.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <p11-kit/pkcs11.h>

#include "edkey.h"
#include "p11key_int.h"

/* Loaded libraries, shared by every key of the process: PKCS#11 allows
 * one C_Initialize per library and process. */
#define P11_MAX_MODULES 4

struct p11mod {
	char path[P11_PATH_MAX];
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	unsigned refs;
};

static struct p11mod mods[P11_MAX_MODULES];
static pthread_mutex_t mods_mu = PTHREAD_MUTEX_INITIALIZER;

struct p11key {
	struct p11mod *mod;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pubh;
	int rw;		/* read-write session: made by p11key_generate */
	uint8_t pub[32];
	pthread_mutex_t mu;	/* one operation at a time per session */
};

static const char *ckr_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
	case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
	case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
	case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
	case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
	case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
	default: return "CKR_(other)";
	}
}

static int rv_err(CK_RV rv, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "PKCS#11 %s: %s (0x%lx)", what, ckr_name(rv), (unsigned long)rv);
	return -EIO;
}

/* Load (or share) the library at path and C_Initialize it. */
static int mod_get(const char *path, struct p11mod **out, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList gfl;
	struct p11mod *m = NULL;
	CK_RV rv;
	int r = 0;

	pthread_mutex_lock(&mods_mu);
	for (size_t i = 0; i < P11_MAX_MODULES && !m; i++)
		if (mods[i].refs && !strcmp(mods[i].path, path))
			m = &mods[i];
	if (m) {
		m->refs++;
		goto out;
	}
	for (size_t i = 0; i < P11_MAX_MODULES && !m; i++)
		if (!mods[i].refs)
			m = &mods[i];
	if (!m) {
		snprintf(err, errlen, "too many PKCS#11 libraries (at most %d)", P11_MAX_MODULES);
		r = -EMFILE;
		goto out;
	}
	memset(m, 0, sizeof(*m));
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		snprintf(err, errlen, "%s: cannot load the PKCS#11 library: %s", path, dlerror());
		r = -ENOENT;
		goto out;
	}
	*(void **)&gfl = dlsym(m->dl, "C_GetFunctionList");
	if (!gfl || gfl(&m->f) != CKR_OK || !m->f) {
		snprintf(err, errlen, "%s: not a PKCS#11 library (no C_GetFunctionList)", path);
		r = -ENOENT;
		goto fail;
	}
	rv = m->f->C_Initialize(&ia);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		r = rv_err(rv, "C_Initialize", err, errlen);
		goto fail;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->refs = 1;
	goto out;
fail:
	dlclose(m->dl);
	memset(m, 0, sizeof(*m));
out:
	if (r == 0)
		*out = m;
	pthread_mutex_unlock(&mods_mu);
	return r;
}

static void mod_put(struct p11mod *m)
{
	pthread_mutex_lock(&mods_mu);
	if (m && m->refs && !--m->refs) {
		m->f->C_Finalize(NULL);
		/* the library stays mapped (no dlclose): modules may leave
		 * atexit handlers or threads behind, and an unmapped one would
		 * crash the process at exit; the next mod_get dlopens it again */
		memset(m, 0, sizeof(*m));
	}
	pthread_mutex_unlock(&mods_mu);
}

/* The slot holding the token labelled label (labels are space-padded). */
static int find_slot(struct p11mod *m, const char *label, CK_SLOT_ID *slot, char *err,
		     size_t errlen)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO ti;
	size_t ll = strlen(label);
	CK_RV rv;

	rv = m->f->C_GetSlotList(CK_TRUE, ids, &n);
	if (rv != CKR_OK)
		return rv_err(rv, "C_GetSlotList", err, errlen);
	for (CK_ULONG i = 0; i < n; i++) {
		if (m->f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		size_t tl = sizeof(ti.label);

		while (tl && ti.label[tl - 1] == ' ')
			tl--;
		if (tl == ll && !memcmp(ti.label, label, ll)) {
			*slot = ids[i];
			return 0;
		}
	}
	snprintf(err, errlen, "%s: no token labelled '%s' (is the token present and "
		 "initialised? for softhsm2, is SOFTHSM2_CONF right?)", m->path, label);
	return -ENOENT;
}

static int login(struct p11key *k, const struct p11uri *u, char *err, size_t errlen)
{
	char pin[P11_PIN_MAX + 1];
	size_t plen = 0;
	CK_RV rv;
	int r;

	r = p11uri_read_pin(u, pin, &plen, err, errlen);
	if (r < 0)
		return r;
	rv = k->mod->f->C_Login(k->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, plen);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
	    rv == CKR_PIN_LEN_RANGE) {
		snprintf(err, errlen, "token '%s': login refused: %s (check the PIN in %s)",
			 u->token, ckr_name(rv), u->pin_file);
		return -EACCES;
	}
	return rv_err(rv, "C_Login", err, errlen);
}

/* Handles (at most 2) of the Ed25519 objects of class cls labelled label;
 * any_type: of every object labelled label, whatever its class or type. */
static int find(struct p11key *k, CK_OBJECT_CLASS cls, const char *label,
		CK_OBJECT_HANDLE *h, CK_ULONG *count, int any_type)
{
	CK_KEY_TYPE kt = CKK_EC_EDWARDS;
	CK_ATTRIBUTE t[] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
	};
	CK_FUNCTION_LIST_PTR f = k->mod->f;
	CK_RV rv;

	rv = f->C_FindObjectsInit(k->s, t, any_type ? 1 : 3);
	if (rv != CKR_OK)
		return -EIO;
	rv = f->C_FindObjects(k->s, h, 2, count);
	f->C_FindObjectsFinal(k->s);
	return rv == CKR_OK ? 0 : -EIO;
}

/* CKA_EC_POINT of an Ed25519 key: the DER OCTET STRING (04 20 || key)
 * that PKCS#11 3.0 specifies, or the bare 32 bytes some tokens return. */
static int read_pub(struct p11key *k, CK_OBJECT_HANDLE h, uint8_t pub[32])
{
	uint8_t pt[80];
	CK_ATTRIBUTE a = { CKA_EC_POINT, pt, sizeof(pt) };

	if (k->mod->f->C_GetAttributeValue(k->s, h, &a, 1) != CKR_OK)
		return -EIO;
	if (a.ulValueLen == 34 && pt[0] == 0x04 && pt[1] == 0x20)
		memcpy(pub, pt + 2, 32);
	else if (a.ulValueLen == 32)
		memcpy(pub, pt, 32);
	else
		return -EBADMSG;
	return 0;
}

static int locate(struct p11key *k, const struct p11uri *u, char *err, size_t errlen)
{
	static const char probe[] = "evidence-dock p11key self-test";
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;
	uint8_t sig[64];
	int r;

	if (find(k, CKO_PRIVATE_KEY, u->object, h, &n, 0) < 0)
		return rv_err(CKR_GENERAL_ERROR, "C_FindObjects", err, errlen);
	if (n != 1) {
		snprintf(err, errlen, n ? "token '%s': more than one Ed25519 private key "
			 "labelled '%s'" : "token '%s': no Ed25519 private key labelled '%s' "
			 "(create it with `dockd keygen` or `custody keygen`)", u->token, u->object);
		return n ? -ENOTUNIQ : -ENOENT;
	}
	k->priv = h[0];
	if (find(k, CKO_PUBLIC_KEY, u->object, h, &n, 0) < 0 || n != 1) {
		snprintf(err, errlen, "token '%s': need exactly one Ed25519 public key "
			 "labelled '%s' beside the private key", u->token, u->object);
		return -ENOENT;
	}
	k->pubh = h[0];
	if (read_pub(k, h[0], k->pub) < 0) {
		snprintf(err, errlen, "token '%s': cannot read the public key '%s' (CKA_EC_POINT)",
			 u->token, u->object);
		return -EBADMSG;
	}
	/* The pair must belong together: the token signs, OpenSSL checks. */
	r = p11key_sign(k, probe, sizeof(probe) - 1, sig);
	if (r < 0) {
		snprintf(err, errlen, "token '%s': key '%s' cannot sign with CKM_EDDSA (%s)",
			 u->token, u->object, strerror(-r));
		return r;
	}
	if (edkey_verify_raw(k->pub, probe, sizeof(probe) - 1, sig) < 0) {
		snprintf(err, errlen, "token '%s': the public key '%s' does not verify the "
			 "private key's signature", u->token, u->object);
		return -EBADMSG;
	}
	return 0;
}

static int generate(struct p11key *k, const struct p11uri *u, char *err, size_t errlen)
{
	/* id-Ed25519 (RFC 8410, 1.3.101.112) as the curve's DER OID */
	static const uint8_t ed25519_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
	CK_MECHANISM mech = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG ll = strlen(u->object);
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)u->object, ll },
		{ CKA_EC_PARAMS, (void *)ed25519_oid, sizeof(ed25519_oid) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)u->object, ll },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
	};
	CK_OBJECT_HANDLE h[2], hp, hs;
	CK_ULONG n = 0;
	CK_RV rv;

	/* any object of any class with this label blocks a new pair */
	if (find(k, CKO_PRIVATE_KEY, u->object, h, &n, 1) < 0)
		return rv_err(CKR_GENERAL_ERROR, "C_FindObjects", err, errlen);
	if (n) {
		snprintf(err, errlen, "token '%s': a key labelled '%s' exists already; refusing "
			 "to create another", u->token, u->object);
		return -EEXIST;
	}
	rv = k->mod->f->C_GenerateKeyPair(k->s, &mech, pubt, sizeof(pubt) / sizeof(pubt[0]),
					  privt, sizeof(privt) / sizeof(privt[0]), &hp, &hs);
	if (rv != CKR_OK)
		return rv_err(rv, "C_GenerateKeyPair (Ed25519)", err, errlen);
	return 0;
}

static int open_key(const char *uri, int create, struct p11key **out, char *err,
		    size_t errlen)
{
	struct p11key *k;
	struct p11uri u;
	CK_SLOT_ID slot;
	CK_RV rv;
	int r;

	if (!uri || !out)
		return -EINVAL;
	if ((r = p11uri_parse(uri, &u, err, errlen)) < 0)
		return r;
	if (!(k = calloc(1, sizeof(*k))))
		return -ENOMEM;
	pthread_mutex_init(&k->mu, NULL);
	k->s = CK_INVALID_HANDLE;
	k->rw = create;
	if ((r = mod_get(u.module, &k->mod, err, errlen)) < 0)
		goto fail;
	if ((r = find_slot(k->mod, u.token, &slot, err, errlen)) < 0)
		goto fail;
	rv = k->mod->f->C_OpenSession(slot, CKF_SERIAL_SESSION | (create ? CKF_RW_SESSION : 0),
				      NULL, NULL, &k->s);
	if (rv != CKR_OK) {
		k->s = CK_INVALID_HANDLE;
		r = rv_err(rv, "C_OpenSession", err, errlen);
		goto fail;
	}
	if ((r = login(k, &u, err, errlen)) < 0)
		goto fail;
	if (create && (r = generate(k, &u, err, errlen)) < 0)
		goto fail;
	if ((r = locate(k, &u, err, errlen)) < 0)
		goto fail;
	*out = k;
	return 0;
fail:
	p11key_free(k);
	return r;
}

int p11key_open(const char *uri, struct p11key **out, char *err, size_t errlen)
{
	return open_key(uri, 0, out, err, errlen);
}

int p11key_generate(const char *uri, struct p11key **out, char *err, size_t errlen)
{
	return open_key(uri, 1, out, err, errlen);
}

void p11key_public(const struct p11key *k, uint8_t pub[32])
{
	memcpy(pub, k->pub, 32);
}

int p11key_sign(struct p11key *k, const void *msg, size_t len, uint8_t sig[64])
{
	CK_MECHANISM mech = { CKM_EDDSA, NULL, 0 };
	uint8_t tmp[64];
	CK_ULONG slen = sizeof(tmp);
	CK_RV rv;

	if (!k || !sig || (!msg && len))
		return -EINVAL;
	pthread_mutex_lock(&k->mu);
	rv = k->mod->f->C_SignInit(k->s, &mech, k->priv);
	if (rv == CKR_OK)
		rv = k->mod->f->C_Sign(k->s, (CK_BYTE_PTR)(msg ? msg : ""), len, tmp, &slen);
	pthread_mutex_unlock(&k->mu);
	if (rv != CKR_OK || slen != sizeof(tmp))
		return -EIO;
	memcpy(sig, tmp, sizeof(tmp));
	return 0;
}

int p11key_destroy(struct p11key *k)
{
	CK_RV rv;

	if (!k || !k->rw)
		return -EINVAL;
	pthread_mutex_lock(&k->mu);
	rv = k->mod->f->C_DestroyObject(k->s, k->priv);
	if (rv == CKR_OK)
		rv = k->mod->f->C_DestroyObject(k->s, k->pubh);
	pthread_mutex_unlock(&k->mu);
	return rv == CKR_OK ? 0 : -EIO;
}

void p11key_free(struct p11key *k)
{
	if (!k)
		return;
	if (k->mod && k->s != CK_INVALID_HANDLE)
		k->mod->f->C_CloseSession(k->s);
	if (k->mod)
		mod_put(k->mod);
	pthread_mutex_destroy(&k->mu);
	free(k);
}
