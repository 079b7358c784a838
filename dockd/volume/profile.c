/* profile.c - camera profiles (see profile.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

static const char *const generic_rec[] = { "DCIM/*/*.MP4", "DCIM/*/*.MOV", "DCIM/*/*.AVI",
					   "DCIM/*/*.MKV" };
static const char *const generic_side[] = { "DCIM/*/*.GPS", "DCIM/*/*.NMEA", "DCIM/*/*.SRT",
					    "DCIM/*/*.XML" };

static bool name_char_ok(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

int profile_init(struct msc_profile *p, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PROFILE_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i]))
			return -EINVAL;
	memset(p, 0, sizeof(*p));
	memcpy(p->name, name, n + 1);
	p->delete_after_release = true;
	p->max_depth = 4;
	p->max_files = 10000;
	return 0;
}

void profile_generic(struct msc_profile *p)
{
	(void)profile_init(p, "generic-dcim");
	for (size_t i = 0; i < sizeof(generic_rec) / sizeof(generic_rec[0]); i++)
		snprintf(p->rec[p->n_rec++], PROFILE_PATTERN_MAX + 1, "%s", generic_rec[i]);
	for (size_t i = 0; i < sizeof(generic_side) / sizeof(generic_side[0]); i++)
		snprintf(p->side[p->n_side++], PROFILE_PATTERN_MAX + 1, "%s", generic_side[i]);
	p->builtin = true;
}

bool profile_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255 || !strcmp(name, ".") || strstr(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\' || ch == ':')
			return false;
	}
	return true;
}

/* Split rel into at most PROFILE_DEPTH_MAX components in buf; the count,
 * or -1 when too deep, empty components or too long. */
static int split(const char *rel, char *buf, size_t cap, char *comp[PROFILE_DEPTH_MAX])
{
	size_t n = strlen(rel);
	int k = 0;
	char *s, *save = NULL;

	if (n >= cap)
		return -1;
	if (n == 0)
		return 0;
	memcpy(buf, rel, n + 1);
	if (buf[0] == '/' || buf[n - 1] == '/' || strstr(buf, "//"))
		return -1;
	for (s = strtok_r(buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (k == PROFILE_DEPTH_MAX)
			return -1;
		comp[k++] = s;
	}
	return k;
}

bool profile_pattern_ok(const char *pat)
{
	char buf[PROFILE_PATTERN_MAX + 1], *comp[PROFILE_DEPTH_MAX];
	int k;

	if (strlen(pat) > PROFILE_PATTERN_MAX)
		return false;
	k = split(pat, buf, sizeof(buf), comp);
	if (k <= 0)
		return false;
	for (int i = 0; i < k; i++)
		if (!strcmp(comp[i], ".") || !strcmp(comp[i], "..") || strstr(comp[i], "**"))
			return false;
	return true;
}

/* Do the first n path components match the first n pattern components,
 * and does the pattern have exactly n (whole) or more (prefix)? */
static bool match_one(const char *pat, char *const *comp, int n, bool prefix)
{
	char buf[PROFILE_PATTERN_MAX + 1], *pc[PROFILE_DEPTH_MAX];
	int k = split(pat, buf, sizeof(buf), pc);

	if (k <= 0 || (prefix ? k <= n : k != n))
		return false;
	for (int i = 0; i < n; i++)
		if (fnmatch(pc[i], comp[i], FNM_CASEFOLD | FNM_PERIOD) != 0)
			return false;
	return true;
}

static bool match_any(const struct msc_profile *p, const char *rel, bool prefix, int *kind)
{
	char buf[PROFILE_PATH_MAX + 1], *comp[PROFILE_DEPTH_MAX];
	int n = split(rel, buf, sizeof(buf), comp);

	if (n < 0 || (n == 0 && !prefix) || n > p->max_depth)
		return false;
	for (int i = 0; i < n; i++)
		if (!profile_name_ok(comp[i]))
			return false;
	for (int i = 0; i < p->n_rec; i++)
		if (match_one(p->rec[i], comp, n, prefix)) {
			*kind = PROFILE_RECORDING;
			return true;
		}
	for (int i = 0; i < p->n_side; i++)
		if (match_one(p->side[i], comp, n, prefix)) {
			*kind = PROFILE_SIDECAR;
			return true;
		}
	if (p->id_file[0] && match_one(p->id_file, comp, n, prefix)) {
		*kind = PROFILE_ID;
		return true;
	}
	return false;
}

enum profile_kind profile_match(const struct msc_profile *p, const char *rel)
{
	int kind = PROFILE_NONE;

	return match_any(p, rel, false, &kind) ? (enum profile_kind)kind : PROFILE_NONE;
}

bool profile_dir_wanted(const struct msc_profile *p, const char *rel)
{
	int kind;

	return match_any(p, rel, true, &kind);
}

static int add_patterns(const char *v, char (*dst)[PROFILE_PATTERN_MAX + 1], uint8_t *n)
{
	char buf[512], *s, *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, strlen(v) + 1);
	for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		char *e;

		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!profile_pattern_ok(s) || *n >= PROFILE_PATTERNS_MAX)
			return -EINVAL;
		snprintf(dst[(*n)++], PROFILE_PATTERN_MAX + 1, "%s", s);
	}
	return 0;
}

/* "UTC", "Z" or [+-]HH:MM with HH <= 14, MM < 60. */
static int parse_tz(const char *v, int32_t *out)
{
	int h, m;
	char sign, end;

	if (!strcmp(v, "UTC") || !strcmp(v, "Z")) {
		*out = 0;
		return 0;
	}
	if (strlen(v) != 6 || sscanf(v, "%c%2d:%2d%c", &sign, &h, &m, &end) != 3 ||
	    (sign != '+' && sign != '-') || h < 0 || h > 14 || m < 0 || m > 59 || v[3] != ':')
		return -EINVAL;
	*out = (sign == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

static int parse_uint(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

int profile_key(struct msc_profile *p, const char *k, const char *v, const char **why)
{
	uint32_t n;

	if (!strcmp(k, "recordings") || !strcmp(k, "sidecars")) {
		bool rec = k[0] == 'r';
		*why = "must be comma-separated relative glob patterns (at most 8 per kind, "
		       "127 bytes and 8 components each, no '.', '..', '**' or leading '/')";
		return add_patterns(v, rec ? p->rec : p->side, rec ? &p->n_rec : &p->n_side);
	}
	if (!strcmp(k, "file_tz")) {
		*why = "must be UTC or an offset +HH:MM / -HH:MM";
		return parse_tz(v, &p->tz_offset_s);
	}
	if (!strcmp(k, "id_file")) {
		*why = "must be a relative path without '.' or '..' components (at most 127 bytes)";
		if (!profile_pattern_ok(v) || strpbrk(v, "*?["))
			return -EINVAL;
		snprintf(p->id_file, sizeof(p->id_file), "%s", v);
		return 0;
	}
	if (!strcmp(k, "delete_after_release")) {
		*why = "must be yes or no";
		if (!strcmp(v, "yes") || !strcmp(v, "no")) {
			p->delete_after_release = v[0] == 'y';
			return 0;
		}
		return -EINVAL;
	}
	if (!strcmp(k, "release")) { /* the same switch, as the operator says it */
		*why = "must be delete or keep";
		if (!strcmp(v, "delete") || !strcmp(v, "keep")) {
			p->delete_after_release = v[0] == 'd';
			return 0;
		}
		return -EINVAL;
	}
	if (!strcmp(k, "max_depth") || !strcmp(k, "max_files")) {
		bool depth = k[4] == 'd';
		*why = depth ? "must be between 1 and 8" : "must be between 1 and 100000";
		if (parse_uint(v, 1, depth ? PROFILE_DEPTH_MAX : PROFILE_FILES_MAX, &n) < 0)
			return -EINVAL;
		if (depth)
			p->max_depth = (uint8_t)n;
		else
			p->max_files = n;
		return 0;
	}
	*why = "unknown key";
	return -ENOKEY;
}

int profile_check(const struct msc_profile *p, const char **why)
{
	if (p->n_rec == 0) {
		*why = "needs at least one recordings pattern";
		return -EINVAL;
	}
	return 0;
}
