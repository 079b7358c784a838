/*
 * retention.c - the [retention] table and the retention date of an item
 * (see retention.h and docs/retention.md).
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "retention.h"

void cust_retention_init(struct cust_retention *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dflt.category, sizeof(r->dflt.category), "%s",
		 CUST_RET_DEFAULT_NAME);
	r->dflt.days = 60;
	r->dflt.have_days = 1;
	r->case_days = CUST_RET_INDEFINITE;
}

int cust_retention_parse_days(const char *v, int32_t *out)
{
	unsigned long n = 0, mult;
	const char *p = v;

	if (!strcasecmp(v, "indefinite")) {
		*out = CUST_RET_INDEFINITE;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > 100UL * 365)
			return -ERANGE;
	}
	if (!strcmp(p, "d"))
		mult = 1;
	else if (!strcmp(p, "m"))
		mult = 30;
	else if (!strcmp(p, "y"))
		mult = 365;
	else
		return -EINVAL;
	if (n > 100UL * 365 / mult)
		return -ERANGE;
	*out = (int32_t)(n * mult);
	return 0;
}

/* Category names are tokens a clerk types and a camera sends:
 * [A-Za-z0-9_-], no dot (the ".min" suffix) and no blank. */
static int name_valid(const char *s, size_t n)
{
	if (n == 0 || n > CUST_RET_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static struct cust_retention_rule *find(struct cust_retention *r,
					const char *name, size_t n)
{
	if (strlen(CUST_RET_DEFAULT_NAME) == n &&
	    !strncasecmp(name, CUST_RET_DEFAULT_NAME, n))
		return &r->dflt;
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->rule[i].category) == n &&
		    !strncasecmp(r->rule[i].category, name, n))
			return &r->rule[i];
	return NULL;
}

int cust_retention_key(struct cust_retention *r, const char *key,
		       const char *val, const char **why)
{
	const char *dot = strchr(key, '.');
	size_t n = dot ? (size_t)(dot - key) : strlen(key);
	struct cust_retention_rule *rule;
	int32_t days;
	int is_min = dot != NULL;

	*why = "must be a duration such as 90d, 6m, 2y, or 'indefinite'";
	if (cust_retention_parse_days(val, &days) < 0)
		return -EINVAL;
	if (!is_min && !strcmp(key, "with_case")) {
		r->case_days = days;
		return 0;
	}
	*why = "a category is 1..128 characters of [A-Za-z0-9_-], optionally "
	       "followed by .min";
	if (!name_valid(key, n) || (dot && strcmp(dot, ".min")))
		return -EINVAL;
	rule = find(r, key, n);
	if (!rule) {
		*why = "too many categories (at most 32)";
		if (r->n >= CUST_RET_CATEGORIES)
			return -E2BIG;
		rule = &r->rule[r->n++];
		memset(rule, 0, sizeof(*rule));
		memcpy(rule->category, key, n);
		rule->category[n] = '\0';
	} else if (rule != &r->dflt && strncmp(rule->category, key, n)) {
		*why = "the same category twice, spelt in another case "
		       "(names match case-insensitively)";
		return -EEXIST;
	}
	if (is_min) {
		rule->min_days = days;
		return 0;
	}
	if (rule->have_days && rule != &r->dflt) {
		*why = "duplicate category";
		return -EEXIST;
	}
	rule->days = days;
	rule->have_days = 1;
	return 0;
}

/* a shorter than b? (-1 is indefinite, the longest) */
static int shorter(int32_t a, int32_t b)
{
	if (b < 0)
		return a >= 0;
	return a >= 0 && a < b;
}

static int check_rule(const struct cust_retention_rule *x, char *err, size_t cap)
{
	if (!x->have_days) {
		snprintf(err, cap, "[retention] %s.min: no '%s =' retention "
			 "for this category", x->category, x->category);
		return -EINVAL;
	}
	if (x->min_days && shorter(x->days, x->min_days)) {
		snprintf(err, cap, "[retention] %s: %d days is shorter than "
			 "its statutory minimum %s.min (%d days)", x->category,
			 (int)x->days, x->category, (int)x->min_days);
		return -EINVAL;
	}
	return 0;
}

int cust_retention_check(const struct cust_retention *r, char *err, size_t cap)
{
	int rc = check_rule(&r->dflt, err, cap);

	for (size_t i = 0; rc == 0 && i < r->n; i++)
		rc = check_rule(&r->rule[i], err, cap);
	return rc;
}

struct parse {
	struct cust_retention *r;
	const char *file;
	char *err;
	size_t cap;
	int failed;
};

static int on_line(void *arg, const char *section, const char *name,
		   const char *value)
{
	struct parse *p = arg;
	const char *why = "invalid value";

	if (strcmp(section, "retention"))
		return 1;		/* someone else's section */
	if (p->failed)
		return 0;
	if (cust_retention_key(p->r, name, value, &why) == 0)
		return 1;
	snprintf(p->err, p->cap, "%s: [retention] %s: %s", p->file, name, why);
	p->failed = 1;
	return 0;
}

int cust_retention_load(const char *path, struct cust_retention *r,
			char *err, size_t cap)
{
	struct parse p = { r, path, err, cap, 0 };
	char msg[256];
	FILE *f;
	int rc;

	cust_retention_init(r);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = ini_parse_file(f, on_line, &p);
	fclose(f);
	if (p.failed)
		return -EINVAL;
	if (rc != 0) {
		snprintf(err, cap, "%s:%d: syntax error", path, rc);
		return -EINVAL;
	}
	if (cust_retention_check(r, msg, sizeof(msg)) < 0) {
		snprintf(err, cap, "%s: %s", path, msg);
		return -EINVAL;
	}
	return 0;
}

const struct cust_retention_rule *
cust_retention_resolve(const struct cust_retention *r, const char *category,
		       int *known)
{
	const struct cust_retention_rule *x = NULL;
	size_t n = category ? strlen(category) : 0;

	if (n && name_valid(category, n))
		x = find((struct cust_retention *)r, category, n);
	*known = x != NULL;
	return x ? x : &r->dflt;
}

int32_t cust_retention_days(const struct cust_retention *r,
			    const struct cust_retention_rule *rule,
			    int has_case, const char **basis)
{
	int32_t d = rule->days;

	if (rule->min_days && shorter(d, rule->min_days))
		d = rule->min_days;	/* cannot happen after check(); belt */
	if (basis)
		*basis = "category";
	if (has_case && shorter(d, r->case_days)) {
		d = r->case_days;
		if (basis)
			*basis = "case";
	}
	return d;
}

int cust_retention_until(int64_t base_ns, int32_t days, int hold,
			 char *buf, size_t cap)
{
	if (days < 0 || hold) {
		if (snprintf(buf, cap, "indefinite") >= (int)cap)
			return -ENOSPC;
		return 0;
	}
	return cust_utc_text(base_ns + (int64_t)days * 86400 * 1000000000LL,
			     buf, cap);
}

int cust_retention_cmp(const char *a, const char *b)
{
	int ia = !strcmp(a, "indefinite"), ib = !strcmp(b, "indefinite");

	if (ia || ib)
		return ia - ib;
	/* fixed-width RFC 3339 UTC texts order as their times */
	return strcmp(a, b);
}
