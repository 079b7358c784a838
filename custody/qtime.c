/*
 * qtime.c - times as clerks read and write them (query.h): ISO 8601 input
 * in the clerk's zone, one output form everywhere ("2024-05-01 14:03:07
 * -0700", or "2024-05-01 21:03:07 Z" with --utc).
 *
 * The numeric offset is taken from the same struct tm as the wall-clock
 * fields (tm_gmtoff), so the label can never disagree with the time shown
 * (the old form printed the zone abbreviation, which read "UTC" whenever
 * the process had no usable zone, whatever the clock said).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query.h"

static int utc_style;		/* set once by the CLI (--utc) */

void cust_time_style(int utc)
{
	utc_style = utc ? 1 : 0;
}

int cust_format_utc(int64_t t_ns, char *buf, size_t cap)
{
	return cust_utc_text(t_ns, buf, cap);
}

static int format_tm(int64_t t_ns, int utc, char *buf, size_t cap)
{
	time_t s = (time_t)(t_ns / 1000000000);
	struct tm tm;
	char base[32];
	long off;
	int n;

	if (t_ns < 0 && t_ns % 1000000000)
		s--;
	if (utc ? !gmtime_r(&s, &tm) : !localtime_r(&s, &tm))
		return -EINVAL;
	if (!strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm))
		return -EINVAL;
	if (utc) {
		n = snprintf(buf, cap, "%s Z", base);
	} else {
		off = tm.tm_gmtoff;
		n = snprintf(buf, cap, "%s %c%02ld%02ld", base, off < 0 ? '-' : '+',
			     labs(off) / 3600, labs(off) % 3600 / 60);
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int cust_format_local(int64_t t_ns, char *buf, size_t cap)
{
	return format_tm(t_ns, 0, buf, cap);
}

int cust_format_time(int64_t t_ns, char *buf, size_t cap)
{
	return format_tm(t_ns, utc_style, buf, cap);
}

int cust_format_time_text(const char *rfc3339, char *buf, size_t cap)
{
	int64_t ns;

	if (!rfc3339 || cust_parse_time(rfc3339, 0, &ns) || cust_format_time(ns, buf, cap)) {
		/* not a time ("indefinite", a camera's odd text): as written */
		int n = snprintf(buf, cap, "%s", rfc3339 ? rfc3339 : "");
		return n < 0 ? -EINVAL : 0;
	}
	return 0;
}

static int digits(const char **p, int n, int *v)
{
	int x = 0;

	while (n--) {
		if (**p < '0' || **p > '9')
			return -1;
		x = x * 10 + (*(*p)++ - '0');
	}
	*v = x;
	return 0;
}

static int mdays(int y, int m)
{
	static const int t[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return t[m - 1];
}

static int parse_time(const char *str, int end_of_day, int utc, int64_t *out_ns)
{
	struct tm tm;
	const char *p = str;
	int y, mo, d, h = 0, mi = 0, se = 0, zone = 0, off = 0, oh, om, date_only = 1;
	long frac = 0;
	time_t t;

	if (!str || strlen(str) > 40)
		return -EINVAL;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p++;
		date_only = 0;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':' && (p++, digits(&p, 2, &se)))
			return -EINVAL;
		if (*p == '.') {	/* fraction: up to ns, as RFC 3339 output has */
			long scale = 100000000;
			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
				if (!scale)
					return -EINVAL;
				else
					frac += (*p - '0') * scale;
		}
	}
	if (*p == 'Z') {
		zone = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || (*p == ':' && *p++ != ':') || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		zone = 1;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays(y, mo) || h > 23 || mi > 59 || se > 59)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d + (date_only && end_of_day ? 1 : 0);
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tm.tm_isdst = -1;
	t = zone || utc ? timegm(&tm) - off : mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out_ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

int cust_parse_time(const char *s, int end_of_day, int64_t *out_ns)
{
	return parse_time(s, end_of_day, 0, out_ns);
}

int cust_parse_time_utc(const char *s, int end_of_day, int64_t *out_ns)
{
	return parse_time(s, end_of_day, 1, out_ns);
}

int cust_time_resolve(const char *s, int end_of_day, char *out, size_t cap)
{
	int64_t ns;

	if (cust_parse_time(s, end_of_day, &ns))
		return -EINVAL;
	return cust_utc_text(ns, out, cap);
}
