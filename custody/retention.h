/*
 * retention.h - the retention table of the shared INI file ([retention])
 * and the one function that turns an item's category, cases and hold
 * into its retention date. dockd (at ingest) and the query service (on
 * every metadata edit) both use it, so they cannot disagree.
 *
 *   [retention]
 *   ; <category> = the agency's retention (its maximum and default):
 *   ;              90d, 6m (x30 days), 2y (x365 days) or indefinite
 *   ; <category>.min = the statutory minimum for that category; the
 *   ;              agency's value must not be shorter (config error)
 *   homicide = indefinite
 *   traffic = 2y
 *   traffic.min = 2y        ; a statute's minimum (docs/retention.md)
 *   uncategorized = 90d     ; camera categories not in the table (and "")
 *   uncategorized.min = 90d ; e.g. Illinois 50 ILCS 706/10-20(a)(7)
 *   with_case = indefinite  ; while at least one case number is assigned
 *
 * Category names match case-insensitively ("Homicide" is "homicide"); two
 * entries that differ only in case are an error. A category not in the
 * table is NOT silently given a number: cust_retention_resolve() says it
 * is unknown, and the caller records that (categorized event with
 * "unknown": true and the raw name) and raises an alert; the item gets the
 * `uncategorized` retention until a supervisor categorizes it.
 *
 * The law is not in the code: the statutes in docs/retention.md are
 * example configuration only.
 */
#ifndef CUSTODY_RETENTION_H
#define CUSTODY_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#define CUST_RET_CATEGORIES 32
#define CUST_RET_NAME_MAX   128		/* bytes of a category name */
#define CUST_RET_INDEFINITE (-1)	/* days: keep indefinitely */
#define CUST_RET_DEFAULT_NAME "uncategorized"

struct cust_retention_rule {
	char category[CUST_RET_NAME_MAX + 1];
	int32_t days;			/* agency's retention; -1 indefinite */
	int32_t min_days;		/* statutory minimum; 0 none, -1 indefinite */
	int have_days;			/* "<category> =" seen */
};

struct cust_retention {
	struct cust_retention_rule rule[CUST_RET_CATEGORIES];
	size_t n;
	struct cust_retention_rule dflt;	/* "uncategorized" */
	int32_t case_days;		/* "with_case"; -1 indefinite */
};

/* Defaults: empty table, uncategorized = 60d (no minimum), with_case =
 * indefinite. */
void cust_retention_init(struct cust_retention *r);

/* "90d", "6m", "2y", "indefinite" (any case) -> days (-1 indefinite).
 * 0 or -EINVAL / -ERANGE (over 100 years); out untouched on failure. */
int cust_retention_parse_days(const char *v, int32_t *out);

/* One [retention] entry. 0, or -EINVAL (bad value or name; *why says
 * what), -EEXIST (duplicate, also in another case), -E2BIG (table full). */
int cust_retention_key(struct cust_retention *r, const char *key,
		       const char *val, const char **why);

/* After the last entry: every "<c>.min" has its "<c> =" and the agency's
 * value is not shorter than the minimum. 0 or -EINVAL (message in err). */
int cust_retention_check(const struct cust_retention *r, char *err, size_t cap);

/* Read only the [retention] section of an INI file into r (initialised
 * first) and check it. Errors "FILE: [retention] KEY: problem": -EINVAL;
 * -ENOENT / -EACCES opening. */
int cust_retention_load(const char *path, struct cust_retention *r,
			char *err, size_t cap);

/* The rule for a category, matched case-insensitively; the default rule
 * (and *known = 0) for "" or a name not in the table. Never NULL. */
const struct cust_retention_rule *
cust_retention_resolve(const struct cust_retention *r, const char *category,
		       int *known);

/* Retention in days of an item: the rule's days (never under its
 * minimum), lengthened to with_case while has_case. -1 = indefinite.
 * *basis (may be NULL) = "category" or "case": which one decided. */
int32_t cust_retention_days(const struct cust_retention *r,
			    const struct cust_retention_rule *rule,
			    int has_case, const char **basis);

/* The retention date text for days counted from base_ns (RFC 3339 UTC,
 * as cust_utc_text), or "indefinite" for days < 0 or under hold. */
int cust_retention_until(int64_t base_ns, int32_t days, int hold,
			 char *buf, size_t cap);

/* Order two retention date texts: <0, 0, >0 (a later date is greater;
 * "indefinite" is the greatest, "" the smallest). */
int cust_retention_cmp(const char *a, const char *b);

#endif /* CUSTODY_RETENTION_H */
