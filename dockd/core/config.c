/* config.c - parse dockd's INI configuration (see config.h). */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"

/* Sections owned by the custody library: it parses and validates them. */
/* Sections other programs read from the same file; [console] is
 * custody-console's (docs/console.md), which checks its own keys. */
static const char *const foreign_sections[] = { "ledger", "query", "access", "alert",
						"console" };

struct parse_ctx {
	struct dock_config *c;
	const char *name;
	char err[256];
	bool failed;
	int line; /* ini_parse reports the line; we remember what was wrong */
};

int dcfg_copy_str(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, v, n + 1);
	return 0;
}

int dcfg_parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") || !strcasecmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int dcfg_parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -ERANGE;
	*out = (uint32_t)n;
	return 0;
}

/* "90d", "6m", "2y", "indefinite" -> days (-1): the [retention] syntax. */
int dcfg_parse_duration_days(const char *v, int32_t *out)
{
	return cust_retention_parse_days(v, out);
}

static int parse_hex16(const char *s, size_t len, uint16_t *out)
{
	unsigned v = 0;

	if (len != 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return -EINVAL;
		v = v * 16 + d;
	}
	*out = (uint16_t)v;
	return 0;
}

/* Split a comma-separated list, trimming blanks; calls fn for each item. */
int dcfg_for_each_item(const char *v, int (*fn)(void *, const char *, size_t), void *arg)
{
	const char *p = v;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;

		while (len && (*s == ' ' || *s == '\t'))
			s++, len--;
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			return -EINVAL;
		int r = fn(arg, s, len);
		if (r < 0)
			return r;
		p = e ? e + 1 : p + strlen(p);
	}
	return 0;
}

static int add_usb_id(void *arg, const char *s, size_t len)
{
	struct dock_config *c = arg;
	struct dock_usb_id id;

	if (len != 9 || s[4] != ':')
		return -EINVAL;
	if (parse_hex16(s, 4, &id.vid) < 0 || parse_hex16(s + 5, 4, &id.pid) < 0)
		return -EINVAL;
	if (c->n_usb_ids >= DOCK_CONFIG_MAX_USB_IDS)
		return -E2BIG;
	c->usb_ids[c->n_usb_ids++] = id;
	return 0;
}

static int add_recipient(void *arg, const char *s, size_t len)
{
	struct dock_config *c = arg;

	if (c->n_recipients >= DOCK_CONFIG_MAX_RECIPIENTS)
		return -E2BIG;
	if (len >= DOCK_CONFIG_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(c->recipients[c->n_recipients], s, len);
	c->recipients[c->n_recipients][len] = '\0';
	c->n_recipients++;
	return 0;
}

static bool id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == ':' || ch == '-'))
			return false;
	}
	return true;
}

static int set_dock_key(struct parse_ctx *x, const char *k, const char *v, const char **why)
{
	struct dock_config *c = x->c;
	int r = 0;

	*why = "invalid value";
	if (!strcmp(k, "id") || !strcmp(k, "agency_id")) {
		*why = "must be 1-64 characters of A-Z a-z 0-9 . _ : -";
		if (!id_valid(v))
			return -EINVAL;
		return dcfg_copy_str(!strcmp(k, "id") ? c->dock_id : c->agency_id, 65, v);
	}
	if (!strcmp(k, "state_dir"))
		return dcfg_copy_str(c->state_dir, sizeof(c->state_dir), v);
	if (!strcmp(k, "vault_dir"))
		return dcfg_copy_str(c->vault_dir, sizeof(c->vault_dir), v);
	if (!strcmp(k, "key"))
		return dcfg_copy_str(c->key_path, sizeof(c->key_path), v);
	if (!strcmp(k, "cert"))
		return dcfg_copy_str(c->cert_path, sizeof(c->cert_path), v);
	if (!strcmp(k, "camera_socket")) {
		*why = "must fit a Unix socket path (107 bytes)";
		if (strlen(v) > 107)
			return -ENAMETOOLONG;
		return dcfg_copy_str(c->camera_socket, sizeof(c->camera_socket), v);
	}
	if (!strcmp(k, "alert_command"))
		return dcfg_copy_str(c->alert_command, sizeof(c->alert_command), v);
	if (!strcmp(k, "usb")) {
		*why = "must be true or false";
		return dcfg_parse_bool(v, &c->usb);
	}
	if (!strcmp(k, "usb_storage")) {
		*why = "must be true or false";
		return dcfg_parse_bool(v, &c->usb_storage);
	}
	if (!strcmp(k, "volume_driver")) {
		*why = "must be 'fuse' or 'kernel'";
		if (strcmp(v, "fuse") && strcmp(v, "kernel"))
			return -EINVAL;
		c->volume_kernel = !strcmp(v, "kernel");
		return 0;
	}
	if (!strcmp(k, "clock_correct")) {
		*why = "must be true or false";
		return dcfg_parse_bool(v, &c->clock_correct);
	}
	if (!strcmp(k, "usb_ids")) {
		*why = "must be a comma-separated list of VVVV:PPPP hex ids (at most 16)";
		c->n_usb_ids = 0;
		return dcfg_for_each_item(v, add_usb_id, c);
	}
	if (!strcmp(k, "max_cameras")) {
		*why = "must be between 1 and 64";
		return dcfg_parse_u32(v, 1, 64, &c->max_cameras);
	}
	if (!strcmp(k, "max_clock_drift_s")) {
		*why = "must be between 0 and 86400 seconds";
		return dcfg_parse_u32(v, 0, 86400, &c->max_clock_drift_s);
	}
	if (!strcmp(k, "min_free_mb")) {
		*why = "must be between 0 and 1048576 MiB";
		return dcfg_parse_u32(v, 0, 1048576, &c->min_free_mb);
	}
	if (!strcmp(k, "sync_interval_mb")) {
		*why = "must be between 1 and 4096 MiB";
		return dcfg_parse_u32(v, 1, 4096, &c->sync_interval_mb);
	}
	if (!strcmp(k, "release_wait_s")) {
		*why = "must be between 0 and 3600 seconds";
		return dcfg_parse_u32(v, 0, 3600, &c->release_wait_s);
	}
	if (!strcmp(k, "min_rate_kib_s")) {
		*why = "must be between 0 and 1048576 KiB/s";
		return dcfg_parse_u32(v, 0, 1048576, &c->min_rate_kib_s);
	}
	if (!strcmp(k, "rate_window_s")) {
		*why = "must be between 1 and 3600 seconds";
		return dcfg_parse_u32(v, 1, 3600, &c->rate_window_s);
	}
	if (!strcmp(k, "session_deadline_s")) {
		*why = "must be between 0 and 604800 seconds";
		return dcfg_parse_u32(v, 0, 604800, &c->session_deadline_s);
	}
	if (!strcmp(k, "idle_grace_ms")) {
		*why = "must be between 0 and 600000 ms";
		return dcfg_parse_u32(v, 0, 600000, &c->idle_grace_ms);
	}
	if (!strcmp(k, "release_policy")) {
		*why = "must be 'storage' or 'local'";
		if (!strcmp(v, "storage"))
			c->release_policy = DOCK_RELEASE_STORAGE;
		else if (!strcmp(v, "local"))
			c->release_policy = DOCK_RELEASE_LOCAL;
		else
			r = -EINVAL;
		return r;
	}
	if (!strcmp(k, "log_level")) {
		static const char *const names[] = { "error", "warning", "info", "debug" };
		*why = "must be error, warning, info or debug";
		for (size_t i = 0; i < 4; i++)
			if (!strcmp(v, names[i])) {
				c->log_level = (enum dock_log_level)i;
				return 0;
			}
		return -EINVAL;
	}
	*why = "unknown key";
	return -ENOKEY;
}

static int set_other_key(struct parse_ctx *x, const char *s, const char *k, const char *v,
			 const char **why)
{
	struct dock_config *c = x->c;

	*why = "unknown key";
	if (!strcmp(s, "encryption")) {
		if (!strcmp(k, "recipients")) {
			*why = "must be a comma-separated list of at most 8 public key files";
			c->n_recipients = 0;
			return dcfg_for_each_item(v, add_recipient, c);
		}
		if (!strcmp(k, "recipient_policy") || !strcmp(k, "agency_vkey")) {
			char *dst = k[0] == 'r' ? c->recipient_policy : c->agency_vkey;
			*why = "must be a file path (at most 511 bytes)";
			if (!*v || strlen(v) >= DOCK_CONFIG_PATH_MAX)
				return -EINVAL;
			memcpy(dst, v, strlen(v) + 1);
			return 0;
		}
		if (!strcmp(k, "chunk_size")) {
			uint32_t n;
			*why = "must be a power of two between 4096 and 16777216 bytes";
			if (dcfg_parse_u32(v, 4096, 16u << 20, &n) < 0 || (n & (n - 1)))
				return -EINVAL;
			c->chunk_size = n;
			return 0;
		}
		return -ENOKEY;
	}
	if (!strcmp(s, "retention")) {
		int r = cust_retention_key(&c->retention, k, v, why);
		return r == -EEXIST ? -EINVAL : r;
	}
	if (!strcmp(s, "storage") || !strcmp(s, "s3"))
		return dcfg_storage_key(c, s, k, v, why);
	if (!strcmp(s, "witness"))
		return dcfg_witness_key(c, k, v, why);
	if (!strcmp(s, "fixity"))
		return dcfg_fixity_key(c, k, v, why);
	if (!strcmp(s, "vault"))
		return dcfg_vault_key(c, k, v, why);
	if (!strncmp(s, "profile ", 8))
		return dcfg_profile_key(c, s + 8, k, v, why);
	*why = "unknown section";
	return -ENOKEY;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *x = user;
	const char *why = "invalid value";
	int r;

	if (x->failed)
		return 0; /* report only the first problem */
	for (size_t i = 0; i < sizeof(foreign_sections) / sizeof(foreign_sections[0]); i++)
		if (!strcmp(section, foreign_sections[i]))
			return 1;
	if (!strcmp(section, "dock"))
		r = set_dock_key(x, name, value, &why);
	else
		r = set_other_key(x, section, name, value, &why);
	if (r == -ENAMETOOLONG)
		why = "value too long";
	if (r < 0) {
		snprintf(x->err, sizeof(x->err), "[%s] %s: %s", section, name, why);
		x->failed = true;
		return 0;
	}
	return 1;
}

static void set_defaults(struct dock_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/evidence-dock");
	c->usb = true;
	c->usb_ids[0] = (struct dock_usb_id){ 0x1209, 0x0001 };
	c->n_usb_ids = 1;
	c->max_cameras = 16;
	c->release_policy = DOCK_RELEASE_STORAGE;
	c->max_clock_drift_s = 300;
	c->min_free_mb = 1024;
	c->log_level = DOCK_LOG_INFO;
	c->sync_interval_mb = 64;
	c->release_wait_s = 10;
	c->idle_grace_ms = 500;
	c->min_rate_kib_s = 64;
	c->rate_window_s = 30;
	c->session_deadline_s = 14400;
	c->chunk_size = 1u << 20;
	cust_retention_init(&c->retention); /* uncategorized 60d, with_case indefinite */
	dcfg_storage_defaults(c);
	dcfg_witness_defaults(c);
	dcfg_fixity_defaults(c);
	dcfg_vault_defaults(c);
	dcfg_profile_defaults(c);
}

/* Fill paths that default to places under state_dir. */
static int derive_paths(struct dock_config *c, char *err, size_t errlen)
{
	struct {
		char *dst;
		const char *leaf;
	} d[] = { { c->vault_dir, "vault" }, { c->key_path, "dock.key" }, { c->cert_path, "dock.cert" } };

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (d[i].dst[0])
			continue;
		int n = snprintf(d[i].dst, DOCK_CONFIG_PATH_MAX, "%s/%s", c->state_dir, d[i].leaf);
		if (n < 0 || n >= DOCK_CONFIG_PATH_MAX) {
			snprintf(err, errlen, "%s: [dock] state_dir: path too long", c->path);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_required(const struct dock_config *c, char *err, size_t errlen)
{
	const char *missing = NULL;

	if (!c->dock_id[0])
		missing = "[dock] id";
	else if (!c->agency_id[0])
		missing = "[dock] agency_id";
	else if (!c->n_recipients)
		missing = "[encryption] recipients";
	else if (c->recipient_policy[0] && !c->agency_vkey[0])
		missing = "[encryption] agency_vkey (with recipient_policy)";
	if (missing) {
		snprintf(err, errlen, "%s: %s is required", c->path, missing);
		return -EINVAL;
	}
	return 0;
}

/* libinih silently splits lines longer than its buffer; refuse them first. */
static int check_lines(const char *name, const char *text, char *err, size_t errlen)
{
	int line = 1;
	size_t len = 0;

	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
			len = 0;
			continue;
		}
		if (++len > DOCK_CONFIG_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line longer than %d characters", name, line,
				 DOCK_CONFIG_LINE_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

int dock_config_load_string(const char *name, const char *text, struct dock_config *out,
			    char *err, size_t errlen)
{
	struct dock_config *c;
	struct parse_ctx x = { 0 };
	int line, r;

	r = check_lines(name, text, err, errlen);
	if (r < 0)
		return r;
	c = malloc(sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	set_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", name);
	x.c = c;
	x.name = name;
	line = ini_parse_string(text, on_ini_entry, &x);
	if (line != 0) {
		if (x.failed)
			snprintf(err, errlen, "%s:%d: %s", name, line, x.err);
		else
			snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
				 name, line);
		r = -EINVAL;
		goto out;
	}
	r = derive_paths(c, err, errlen);
	if (r == 0 && (r = cust_retention_check(&c->retention, x.err, sizeof(x.err))) < 0)
		snprintf(err, errlen, "%s: %s", name, x.err);
	if (r == 0)
		r = check_required(c, err, errlen);
	if (r == 0)
		r = dcfg_storage_check(c, text, err, errlen);
	if (r == 0)
		r = dcfg_vault_check(c, err, errlen);
	if (r == 0)
		r = dcfg_profile_check(c, err, errlen);
	if (r == 0)
		*out = *c;
out:
	free(c);
	return r;
}

int dock_config_load(const char *path, struct dock_config *out, char *err, size_t errlen)
{
	char *text = NULL;
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		r = -EINVAL;
		goto out;
	}
	if (st.st_size > DOCK_CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, DOCK_CONFIG_FILE_MAX);
		r = -EFBIG;
		goto out;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	if (!text) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = read(fd, text, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		r = -EIO;
		goto out;
	}
	if (memchr(text, '\0', (size_t)n)) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		r = -EINVAL;
		goto out;
	}
	r = dock_config_load_string(path, text, out, err, errlen);
out:
	free(text);
	close(fd);
	return r;
}

int32_t dock_config_retention_days(const struct dock_config *c, const char *category, int *known)
{
	int k = 0;
	const struct cust_retention_rule *rule = cust_retention_resolve(&c->retention, category, &k);

	if (known)
		*known = k;
	return cust_retention_days(&c->retention, rule, 0, NULL);
}

void dock_config_free(struct dock_config *c)
{
	(void)c;
}
