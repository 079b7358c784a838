/* cfgfacts.c - config_changed events (see cfgfacts.h). */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cfgfacts.h"
#include "edsig.h"

#define CFG_FILE_MAX (1 << 20) /* a config file is small; refuse anything larger */
#define CFG_KEYS_MAX 128
#define CFG_NAME_MAX 96

struct kv {
	char name[CFG_NAME_MAX];
	EVP_MD_CTX *md;
};

struct parse {
	struct kv k[CFG_KEYS_MAX];
	size_t n;
	int err;
};

static int on_line(void *arg, const char *section, const char *key, const char *value)
{
	struct parse *p = arg;
	char name[CFG_NAME_MAX];
	size_t i;

	if ((size_t)snprintf(name, sizeof(name), "%s.%s", section, key) >= sizeof(name)) {
		p->err = -E2BIG;
		return 1; /* dockd's own parser refuses it anyway */
	}
	for (i = 0; i < p->n && strcmp(p->k[i].name, name); i++)
		;
	if (i == p->n) {
		if (p->n == CFG_KEYS_MAX) {
			p->err = -E2BIG;
			return 1;
		}
		memcpy(p->k[i].name, name, sizeof(name));
		p->k[i].md = EVP_MD_CTX_new();
		if (!p->k[i].md || EVP_DigestInit_ex(p->k[i].md, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(p->k[i].md);
			p->err = -ENOMEM;
			return 0;
		}
		p->n++;
	} else if (EVP_DigestUpdate(p->k[i].md, "\n", 1) != 1) {
		p->err = -EIO;
	}
	if (EVP_DigestUpdate(p->k[i].md, value, strlen(value)) != 1)
		p->err = -EIO;
	return 1;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	size_t n = 0;
	char *b = malloc(CFG_FILE_MAX + 1);
	ssize_t got;

	if (fd < 0 || !b) {
		r = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	while ((got = read(fd, b + n, CFG_FILE_MAX + 1 - n)) > 0)
		n += (size_t)got;
	if (got < 0)
		r = -errno;
	else if (n > CFG_FILE_MAX)
		r = -EFBIG;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		free(b);
		return r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* details of the newest config_changed event (NULL when none). */
static json_t *last_event(struct cust_ledger *l)
{
	sqlite3_stmt *s = NULL;
	json_t *d = NULL;

	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT details FROM events WHERE action = ?1"
			       " ORDER BY seq DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int(s, 1, CUST_A_CONFIG_CHANGED);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		d = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
	sqlite3_finalize(s);
	return d;
}

/* keys object and the changed list against prev's "keys". */
static int build(struct parse *p, json_t *prev, json_t **keys_out, json_t **changed_out)
{
	json_t *keys = json_object(), *changed = json_array(), *old = json_object_get(prev, "keys");
	const char *name;
	json_t *val;
	int r = keys && changed ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < p->n; i++) {
		uint8_t h[32];
		char hex[65];
		const char *was = json_string_value(json_object_get(old, p->k[i].name));

		if (EVP_DigestFinal_ex(p->k[i].md, h, NULL) != 1) {
			r = -EIO;
			break;
		}
		edsig_hex(h, 8, hex, sizeof(hex));
		if (json_object_set_new(keys, p->k[i].name, json_string(hex)) < 0 ||
		    ((!was || strcmp(was, hex)) &&
		     json_array_append_new(changed, json_string(p->k[i].name)) < 0))
			r = -ENOMEM;
	}
	json_object_foreach(old, name, val) {
		if (r == 0 && !json_object_get(keys, name) &&
		    json_array_append_new(changed, json_string(name)) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		json_decref(keys);
		json_decref(changed);
		return r;
	}
	*keys_out = keys;
	*changed_out = changed;
	return 0;
}

int cfgfacts_record(struct ledgerw *w, const char *path, bool on_sighup, int *recorded)
{
	struct parse *p = calloc(1, sizeof(*p));
	struct cust_event ev;
	json_t *prev = NULL, *keys = NULL, *changed = NULL, *d = NULL;
	uint8_t sha[32];
	char hex[65], *buf = NULL;
	size_t len = 0;
	int r = p ? read_file(path, &buf, &len) : -ENOMEM;

	if (recorded)
		*recorded = 0;
	if (r == 0 && EVP_Digest(buf, len, sha, NULL, EVP_sha256(), NULL) != 1)
		r = -EIO;
	if (r == 0 && ini_parse_string(buf, on_line, p) != 0 && !p->err)
		r = -EINVAL;
	if (r == 0)
		r = p->err;
	if (r < 0)
		goto out;
	edsig_hex(sha, 32, hex, sizeof(hex));
	ledgerw_lock(w);
	prev = last_event(ledgerw_ledger(w));
	ledgerw_unlock(w);
	if (on_sighup && prev && !strcmp(json_string_value(json_object_get(prev, "sha256")) ?: "", hex))
		goto out; /* same bytes: nothing changed */
	if ((r = build(p, prev, &keys, &changed)) < 0)
		goto out;
	d = json_pack("{s:s,s:s,s:s,s:O,s:O}", "file", path, "sha256", hex, "trigger",
		      on_sighup ? "sighup" : "start", "keys", keys, "changed", changed);
	r = d ? ledgerw_event(w, &ev, CUST_A_CONFIG_CHANGED, NULL, CUST_OUTCOME_OK) : -ENOMEM;
	if (r == 0 && (r = cust_event_set_details(&ev, d)) == -E2BIG) {
		/* too many keys for one event: the changed names and the file hash
		 * still say what matters */
		json_object_del(d, "keys");
		r = cust_event_set_details(&ev, d);
	}
	if (r == 0)
		r = ledgerw_append(w, &ev);
	if (r == 0 && recorded)
		*recorded = 1;
out:
	for (size_t i = 0; p && i < p->n; i++)
		EVP_MD_CTX_free(p->k[i].md);
	free(p);
	free(buf);
	json_decref(prev);
	json_decref(keys);
	json_decref(changed);
	json_decref(d);
	return r;
}
