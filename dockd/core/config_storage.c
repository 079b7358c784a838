/* config_storage.c - the [storage] and [s3] sections of dockd's
 * configuration (see config.h; keys in docs/dockd-config.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define PREFIX_MAX 256 /* bytes: leaves room for "<agency>/<serial>/<rid>.bcde" */

void dcfg_storage_defaults(struct dock_config *c)
{
	c->parallel_uploads = 2;
	c->bandwidth_mbit = 0;
	c->n_windows = 0;
	c->n_priority = 0;
	c->upload_checkpoints = true;
	snprintf(c->s3_region, sizeof(c->s3_region), "us-east-1");
	c->s3_path_style = true;
	c->s3_part_size_mb = 16;
	c->s3_parallel_parts = 4;
	c->s3_read_back = true;
	c->s3_lock_mode[0] = '\0';
	c->s3_lock_required = false;
	c->s3_max_attempts = 8;
	c->s3_low_speed_time_s = 30;
}

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* S3 bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a
 * letter or digit, no "..". */
static bool bucket_valid(const char *b, size_t n)
{
	if (n < 3 || n > 63 || !is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_alnum(b[i]) && b[i] != '.' && b[i] != '-')
			return false;
		if (b[i] == '.' && i + 1 < n && b[i + 1] == '.')
			return false;
	}
	return true;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF) without control characters (C0, DEL, C1). */
static bool utf8_text_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], len, cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += len;
	}
	return true;
}

/* Prefix: '/'-separated components, none empty, "." or "..". */
static bool prefix_valid(const char *p)
{
	size_t n = strlen(p), comp = 0;

	if (n == 0 || n > PREFIX_MAX || !utf8_text_valid((const unsigned char *)p, n))
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (p[i] == '/' || p[i] == '\0') {
			const char *c = p + i - comp;
			if (comp == 0 || (comp == 1 && c[0] == '.') ||
			    (comp == 2 && c[0] == '.' && c[1] == '.'))
				return false;
			comp = 0;
			continue;
		}
		comp++;
	}
	return true;
}

static int set_target(struct dock_config *c, const char *v, const char **why)
{
	*why = "must be file:///absolute/path or s3://bucket[/prefix]";
	if (!strncmp(v, "file:///", 8))
		return dcfg_copy_str(c->storage_target, sizeof(c->storage_target), v);
	if (strncmp(v, "s3://", 5))
		return -EINVAL;
	const char *b = v + 5, *slash = strchr(b, '/');
	size_t bn = slash ? (size_t)(slash - b) : strlen(b);

	*why = "s3:// bucket must be 3-63 characters of a-z 0-9 . - (starting and ending "
	       "with a letter or digit)";
	if (!bucket_valid(b, bn))
		return -EINVAL;
	*why = "s3:// prefix must be UTF-8 without control characters, at most 256 bytes, "
	       "without empty, '.' or '..' parts (no leading or trailing /)";
	if (slash && !prefix_valid(slash + 1))
		return -EINVAL;
	return dcfg_copy_str(c->storage_target, sizeof(c->storage_target), v);
}

/* "HH:MM" (00:00-24:00) -> minutes. */
static int parse_hhmm(const char *s, size_t len, uint16_t *out)
{
	unsigned h, m;

	if (len != 5 || s[2] != ':')
		return -EINVAL;
	for (size_t i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -EINVAL;
	*out = (uint16_t)(h * 60 + m);
	return 0;
}

static int add_window(void *arg, const char *s, size_t len)
{
	struct dock_config *c = arg;
	struct dock_window w;

	if (len != 11 || s[5] != '-' || parse_hhmm(s, 5, &w.start_min) < 0 ||
	    parse_hhmm(s + 6, 5, &w.end_min) < 0)
		return -EINVAL;
	if (w.start_min == 1440)
		w.start_min = 0;
	if (w.end_min == 1440)
		w.end_min = 0;
	if (w.start_min == w.end_min || c->n_windows >= DOCK_CONFIG_MAX_WINDOWS)
		return -EINVAL;
	c->windows[c->n_windows++] = w;
	return 0;
}

static int add_priority(void *arg, const char *s, size_t len)
{
	struct dock_config *c = arg;

	if (len >= sizeof(c->priority[0]) || c->n_priority >= DOCK_CONFIG_MAX_CATEGORIES ||
	    !utf8_text_valid((const unsigned char *)s, len))
		return -EINVAL;
	for (size_t i = 0; i < c->n_priority; i++)
		if (strlen(c->priority[i]) == len && !memcmp(c->priority[i], s, len))
			return -EINVAL; /* listed twice: a typo, not an intent */
	memcpy(c->priority[c->n_priority], s, len);
	c->priority[c->n_priority][len] = '\0';
	c->n_priority++;
	return 0;
}

static int storage_key(struct dock_config *c, const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "target"))
		return set_target(c, v, why);
	if (!strcmp(k, "parallel_uploads")) {
		*why = "must be between 1 and 16";
		return dcfg_parse_u32(v, 1, 16, &c->parallel_uploads);
	}
	if (!strcmp(k, "bandwidth_mbit")) {
		*why = "must be between 0 (no cap) and 100000 Mbit/s";
		return dcfg_parse_u32(v, 0, 100000, &c->bandwidth_mbit);
	}
	if (!strcmp(k, "upload_windows")) {
		*why = "must be a comma-separated list of at most 8 HH:MM-HH:MM windows "
		       "(start != end), or empty for any time";
		c->n_windows = 0;
		return dcfg_for_each_item(v, add_window, c);
	}
	if (!strcmp(k, "upload_priority")) {
		*why = "must be a comma-separated list of at most 32 distinct categories "
		       "(1-128 bytes of UTF-8 text each)";
		c->n_priority = 0;
		return dcfg_for_each_item(v, add_priority, c);
	}
	if (!strcmp(k, "upload_checkpoints")) {
		*why = "must be true or false";
		return dcfg_parse_bool(v, &c->upload_checkpoints);
	}
	*why = "unknown key";
	return -ENOKEY;
}

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '-';
}

static bool loopback_host(const char *h, size_t n)
{
	if ((n == 9 && !strncmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)))
		return true;
	if (n < 7 || strncmp(h, "127.", 4))
		return false;
	for (size_t i = 4; i < n; i++)
		if (h[i] != '.' && (h[i] < '0' || h[i] > '9'))
			return false;
	return true;
}

/* https://host[:port] (no path, no user info), or http:// to loopback. */
static int set_endpoint(struct dock_config *c, const char *v, const char **why)
{
	bool tls = !strncmp(v, "https://", 8);
	const char *h = v + (tls ? 8 : 7), *colon;
	size_t hn;

	*why = "must be https://host[:port] (no path), or http:// to a loopback host "
	       "(127.0.0.0/8, [::1], localhost)";
	if (!tls && strncmp(v, "http://", 7))
		return -EINVAL;
	if (*h == '[') {
		const char *close = strchr(h, ']');
		if (!close)
			return -EINVAL;
		for (const char *p = h + 1; p < close; p++)
			if (!(*p == ':' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F')))
				return -EINVAL;
		colon = close + 1;
		if (*colon && *colon != ':')
			return -EINVAL;
	} else {
		colon = h;
		while (host_char(*colon))
			colon++;
		if (*colon && *colon != ':')
			return -EINVAL; /* '/', '@', '?', ... */
	}
	hn = (size_t)(colon - h);
	if (hn == 0 || hn > 253)
		return -EINVAL;
	if (*colon) {
		uint32_t port;
		if (dcfg_parse_u32(colon + 1, 1, 65535, &port) < 0)
			return -EINVAL;
	}
	if (!tls && !loopback_host(h, hn))
		return -EINVAL;
	return dcfg_copy_str(c->s3_endpoint, sizeof(c->s3_endpoint), v);
}

static int set_region(struct dock_config *c, const char *v, const char **why)
{
	size_t n = strlen(v);

	*why = "must be 1-63 characters of a-z 0-9 -";
	if (n == 0 || n > 63)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(v[i]) && v[i] != '-')
			return -EINVAL;
	return dcfg_copy_str(c->s3_region, sizeof(c->s3_region), v);
}

static int s3_choice(struct dock_config *c, const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "addressing")) {
		*why = "must be 'path' or 'virtual'";
		if (strcmp(v, "path") && strcmp(v, "virtual"))
			return -EINVAL;
		c->s3_path_style = !strcmp(v, "path");
		return 0;
	}
	/* object_lock */
	*why = "must be none, governance or compliance";
	if (!strcmp(v, "none"))
		c->s3_lock_mode[0] = '\0';
	else if (!strcmp(v, "governance"))
		snprintf(c->s3_lock_mode, sizeof(c->s3_lock_mode), "GOVERNANCE");
	else if (!strcmp(v, "compliance"))
		snprintf(c->s3_lock_mode, sizeof(c->s3_lock_mode), "COMPLIANCE");
	else
		return -EINVAL;
	return 0;
}

static int s3_key(struct dock_config *c, const char *k, const char *v, const char **why)
{
	static const struct {
		const char *name;
		uint32_t min, max;
		size_t off;
		const char *why;
	} nums[] = {
		{ "part_size_mb", 5, 5120, offsetof(struct dock_config, s3_part_size_mb),
		  "must be between 5 and 5120 MiB" },
		{ "parallel_parts", 1, 16, offsetof(struct dock_config, s3_parallel_parts),
		  "must be between 1 and 16" },
		{ "max_attempts", 1, 100, offsetof(struct dock_config, s3_max_attempts),
		  "must be between 1 and 100" },
		{ "low_speed_time_s", 5, 600, offsetof(struct dock_config, s3_low_speed_time_s),
		  "must be between 5 and 600 seconds" },
	};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!strcmp(k, nums[i].name)) {
			*why = nums[i].why;
			return dcfg_parse_u32(v, nums[i].min, nums[i].max,
					      (uint32_t *)(void *)((char *)c + nums[i].off));
		}
	if (!strcmp(k, "endpoint"))
		return set_endpoint(c, v, why);
	if (!strcmp(k, "region"))
		return set_region(c, v, why);
	if (!strcmp(k, "addressing") || !strcmp(k, "object_lock"))
		return s3_choice(c, k, v, why);
	if (!strcmp(k, "ca_file"))
		return dcfg_copy_str(c->s3_ca_file, sizeof(c->s3_ca_file), v);
	if (!strcmp(k, "credentials_file")) {
		*why = "must be a path";
		if (!v[0])
			return -EINVAL;
		return dcfg_copy_str(c->s3_credentials_file, sizeof(c->s3_credentials_file), v);
	}
	*why = "must be true or false";
	if (!strcmp(k, "read_back_verify"))
		return dcfg_parse_bool(v, &c->s3_read_back);
	if (!strcmp(k, "object_lock_required"))
		return dcfg_parse_bool(v, &c->s3_lock_required);
	*why = "unknown key";
	return -ENOKEY;
}

int dcfg_storage_key(struct dock_config *c, const char *section, const char *k,
		     const char *v, const char **why)
{
	*why = "invalid value";
	if (!strcmp(section, "storage"))
		return storage_key(c, k, v, why);
	return s3_key(c, k, v, why);
}

/* Line number (1-based) of the first "[s3]" header in text, 0 if none. */
static int s3_header_line(const char *text)
{
	int line = 1;

	for (const char *p = text; *p;) {
		const char *s = p;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!strncmp(s, "[s3]", 4))
			return line;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
		line++;
	}
	return 0;
}

int dcfg_storage_check(const struct dock_config *c, const char *text, char *err,
		       size_t errlen)
{
	bool s3 = !strncmp(c->storage_target, "s3://", 5);
	int line = s3_header_line(text);

	if (!s3 && line) {
		snprintf(err, errlen, "%s:%d: [s3]: only used with an s3:// [storage] target "
			 "(target is %s); remove the section", c->path, line,
			 c->storage_target[0] ? c->storage_target : "not set");
		return -EINVAL;
	}
	if (s3 && !c->s3_endpoint[0]) {
		snprintf(err, errlen, "%s: [s3] endpoint is required with an s3:// target", c->path);
		return -EINVAL;
	}
	if (s3 && !c->s3_credentials_file[0]) {
		snprintf(err, errlen, "%s: [s3] credentials_file is required with an s3:// target",
			 c->path);
		return -EINVAL;
	}
	if (c->s3_lock_required && !c->s3_lock_mode[0]) {
		snprintf(err, errlen, "%s: [s3] object_lock_required: needs object_lock = "
			 "governance or compliance", c->path);
		return -EINVAL;
	}
	return 0;
}

bool dock_config_upload_window(const struct dock_config *c, unsigned minute, unsigned *wait_min)
{
	unsigned best = 1440;

	if (c->n_windows == 0) {
		*wait_min = 0;
		return true;
	}
	minute %= 1440;
	for (size_t i = 0; i < c->n_windows; i++) {
		unsigned s = c->windows[i].start_min, e = c->windows[i].end_min;
		bool in = s < e ? (minute >= s && minute < e) : (minute >= s || minute < e);

		if (in) {
			*wait_min = 0;
			return true;
		}
		unsigned until = (s + 1440 - minute) % 1440;
		if (until < best)
			best = until;
	}
	*wait_min = best;
	return false;
}
