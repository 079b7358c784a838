/* qconfig: [query] and [alert] sections. See qconfig.h. */
#include "qconfig.h"
#include "users.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

struct parse {
	struct qconfig *c;
	const char *file;
	char *err;
	size_t errlen;
	unsigned seen;
	int failed;
};

struct key {
	const char *section, *name;
	unsigned bit;
};

static const struct key keys[] = {
	{ "query", "socket", 1u << 0 },
	{ "query", "socket_mode", 1u << 1 },
	{ "query", "socket_group", 1u << 2 },
	{ "query", "client_timeout_ms", 1u << 3 },
	{ "query", "max_clients", 1u << 4 },
	{ "alert", "command", 1u << 5 },
	{ "alert", "timeout_ms", 1u << 6 },
	{ "alert", "max_running", 1u << 7 },
	{ "query", "console_account", 1u << 8 },
	{ "query", "custody", 1u << 9 },
};

void qconfig_init(struct qconfig *c)
{
	memset(c, 0, sizeof(*c));
	c->socket_mode = 0666;
	c->client_timeout_ms = QSERVICE_DEFAULT_TIMEOUT_MS;
	c->max_clients = QSERVICE_DEFAULT_MAX_CLIENTS;
	c->alert_timeout_ms = ALERT_DEFAULT_TIMEOUT_MS;
	c->alert_max_running = ALERT_DEFAULT_MAX_RUNNING;
	snprintf(c->custody, sizeof(c->custody), "/usr/bin/custody");
}

static int number(const char *v, int base, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, base);
	if (errno || end == v || *end || n < lo || n > hi)
		return -EINVAL;
	*out = n;
	return 0;
}

static int text(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -EINVAL;
	snprintf(dst, cap, "%s", v);
	return 0;
}

static const char *apply(struct qconfig *c, const char *name, const char *v)
{
	long n = 0;

	if (!strcmp(name, "socket"))
		return v[0] != '/' || text(c->socket, sizeof(c->socket), v) ?
		       "must be an absolute path under 108 bytes" : NULL;
	if (!strcmp(name, "socket_mode")) {
		if (number(v, 8, 0, 0777, &n))
			return "must be an octal mode like 0660";
		c->socket_mode = (mode_t)n;
		return NULL;
	}
	if (!strcmp(name, "socket_group"))
		return text(c->socket_group, sizeof(c->socket_group), v) ?
		       "too long" : NULL;
	if (!strcmp(name, "client_timeout_ms")) {
		if (number(v, 10, 100, 600000, &n))
			return "must be 100..600000";
		c->client_timeout_ms = (int)n;
		return NULL;
	}
	if (!strcmp(name, "max_clients")) {
		if (number(v, 10, 1, QSERVICE_MAX_CLIENTS, &n))
			return "must be 1..1024";
		c->max_clients = (int)n;
		return NULL;
	}
	if (!strcmp(name, "command"))
		return (v[0] && v[0] != '/') ||
		       text(c->alert_command, sizeof(c->alert_command), v) ?
		       "must be an absolute path (no shell, no arguments)" :
		       NULL;
	if (!strcmp(name, "timeout_ms")) {
		if (number(v, 10, 1, ALERT_MAX_TIMEOUT_MS, &n))
			return "must be 1..60000";
		c->alert_timeout_ms = (int)n;
		return NULL;
	}
	if (!strcmp(name, "max_running")) {
		if (number(v, 10, 1, ALERT_MAX_RUNNING, &n))
			return "must be 1..16";
		c->alert_max_running = (int)n;
		return NULL;
	}
	if (!strcmp(name, "custody"))
		return v[0] != '/' || text(c->custody, sizeof(c->custody), v) ?
		       "must be an absolute path (the custody binary)" : NULL;
	if (!strcmp(name, "console_account"))
		return !users_name_valid(v) ||
		       text(c->console_account, sizeof(c->console_account), v) ?
		       "must be an account name ([A-Za-z0-9._-], 1..64)" : NULL;
	return "unknown key";
}

static int on_line(void *arg, const char *section, const char *name,
		   const char *value)
{
	struct parse *p = arg;
	const char *problem = "unknown key";

	if (strcmp(section, "query") && strcmp(section, "alert"))
		return 1;		/* someone else's section */
	if (p->failed)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) ||
		    strcmp(keys[i].name, name))
			continue;
		if (p->seen & keys[i].bit)
			problem = "duplicate key";
		else
			problem = apply(p->c, name, value);
		p->seen |= keys[i].bit;
		break;
	}
	if (!problem)
		return 1;
	snprintf(p->err, p->errlen, "%s: [%s] %s: %s", p->file, section, name,
		 problem);
	p->failed = 1;
	return 0;
}

int qconfig_load(const char *path, struct qconfig *c, char *err,
		 size_t errlen)
{
	struct parse p = { c, path, err, errlen, 0, 0 };
	FILE *f;
	int rc;

	qconfig_init(c);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = ini_parse_file(f, on_line, &p);
	fclose(f);
	if (p.failed)
		return -EINVAL;
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -EINVAL;
	}
	return cust_retention_load(path, &c->retention, err, errlen);
}

int qconfig_service(const struct qconfig *c, const char *home_agency,
		    struct qservice_config *out)
{
	struct qservice_config s;

	memset(&s, 0, sizeof(s));
	s.socket_path = c->socket;
	s.socket_mode = c->socket_mode;
	s.socket_gid = (gid_t)-1;
	if (c->socket_group[0]) {
		struct group gr, *res = NULL;
		char buf[4096];

		if (getgrnam_r(c->socket_group, &gr, buf, sizeof(buf), &res) ||
		    !res)
			return -ENOENT;
		s.socket_gid = res->gr_gid;
	}
	s.client_timeout_ms = c->client_timeout_ms;
	s.max_clients = c->max_clients;
	s.alert.command = c->alert_command[0] ? c->alert_command : NULL;
	s.alert.timeout_ms = c->alert_timeout_ms;
	s.max_alerts = c->alert_max_running;
	s.home_agency = home_agency;
	s.console_account = c->console_account[0] ? c->console_account : NULL;
	s.custody_bin = c->custody;
	s.retention = &c->retention;
	*out = s;
	return 0;
}
