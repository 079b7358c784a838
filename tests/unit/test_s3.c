#define _GNU_SOURCE /* strcasestr */
/* Tests for dockd/store/s3/s3.c: credentials files, the token bucket, endpoint
 * checks, and the engine's error mapping and retry policy against a tiny
 * canned HTTP server on 127.0.0.1 (real sockets, real libcurl; the real
 * RGW runs in tests/integration/s3_client.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3_int.h"

/* ---- canned server --------------------------------------------------------- */

#define MAXR 12
struct srv {
	int lfd, port;
	pthread_t th;
	const char *resp[MAXR]; /* NULL ends; "RESET": close without answering */
	int n_req;
	char req[MAXR][8192];
};

static void *srv_main(void *ud)
{
	struct srv *s = ud;
	for (int i = 0; i < MAXR && s->resp[i]; i++) {
		int fd = accept(s->lfd, NULL, NULL);
		size_t got = 0, want = 0;
		char *hend = NULL;
		if (fd < 0)
			break;
		while (got < sizeof(s->req[i]) - 1) {
			ssize_t n = read(fd, s->req[i] + got, sizeof(s->req[i]) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			s->req[i][got] = '\0';
			if (!hend && (hend = strstr(s->req[i], "\r\n\r\n"))) {
				const char *cl = strcasestr(s->req[i], "\r\ncontent-length:");
				want = (size_t)(hend - s->req[i]) + 4 + (cl ? strtoul(cl + 17, NULL, 10) : 0);
				if (strcasestr(s->req[i], "Expect: 100-continue"))
					(void)!write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			}
			if (hend && got >= want)
				break;
		}
		s->n_req++;
		if (strcmp(s->resp[i], "RESET") != 0)
			(void)!write(fd, s->resp[i], strlen(s->resp[i]));
		close(fd);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n"
static char resp_buf[8][600];
static const char *err_resp(int i, int status, const char *code)
{
	char body[256];
	snprintf(body, sizeof(body), "<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>m"
		 "</Message><RequestId>rid-%d</RequestId></Error>", code, i);
	snprintf(resp_buf[i], sizeof(resp_buf[i]), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s", status, strlen(body), body);
	return resp_buf[i];
}

static struct s3_conf conf;
static atomic_bool cancel_flag;

static struct s3_client *client(struct srv *s)
{
	struct s3_client *c;
	char err[256];
	memset(&conf, 0, sizeof(conf));
	snprintf(conf.endpoint, sizeof(conf.endpoint), "http://127.0.0.1:%d", s->port);
	strcpy(conf.bucket, "bkt");
	conf.path_style = true;
	strcpy(conf.creds.access_key, "AK");
	strcpy(conf.creds.secret_key, "SK");
	conf.max_attempts = 3;
	conf.backoff_base_ms = 1;
	conf.backoff_max_ms = 4;
	atomic_store(&cancel_flag, false);
	conf.cancel = &cancel_flag;
	assert_int_equal(s3_client_new(&conf, &c, err, sizeof(err)), 0);
	return c;
}

/* One PUT of "hello" against a list of canned answers. */
static int put_with(const char **resp, struct srv *s, struct s3_error *e)
{
	struct s3_body b = { .buf = (const uint8_t *)"hello", .fd = -1, .len = 5 };
	memset(s, 0, sizeof(*s));
	for (int i = 0; resp[i]; i++)
		s->resp[i] = resp[i];
	srv_start(s);
	struct s3_client *c = client(s);
	int r = s3_put_object(c, "a b+c=/\xc3\xa9", &b, NULL, NULL, e);
	s3_client_free(c);
	srv_stop(s);
	return r;
}

#define MD5_HELLO "5d41402abc4b2a76b9719d911017c592"
#define PUT_OK OK200 "ETag: \"" MD5_HELLO "\"\r\n\r\n"

static void test_put_request_shape(void **st)
{
	static struct srv s;
	struct s3_error e;
	const char *resp[] = { PUT_OK, NULL };
	(void)st;
	assert_int_equal(put_with(resp, &s, &e), 0);
	assert_int_equal(e.attempts, 1);
	const char *q = s.req[0];
	/* the key is URI-encoded per byte, '/' kept */
	assert_non_null(strstr(q, "PUT /bkt/a%20b%2Bc%3D/%C3%A9 HTTP/1.1\r\n"));
	assert_non_null(strcasestr(q, "\r\nContent-Length: 5\r\n"));
	assert_non_null(strcasestr(q, "\r\ncontent-md5: XUFAKrxLKna5cZ2REBfFkg==\r\n"));
	assert_non_null(strcasestr(q, "\r\nx-amz-content-sha256: "
		"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\r\n"));
	assert_non_null(strstr(q, "SignedHeaders=content-md5;content-type;host;"
			       "x-amz-content-sha256;x-amz-date, Signature="));
	assert_null(strcasestr(q, "Transfer-Encoding"));
	assert_non_null(strstr(q, "\r\n\r\nhello"));
}

static void test_retry_then_ok(void **st)
{
	static struct srv s;
	struct s3_error e;
	const char *resp[] = { err_resp(0, 503, "SlowDown"), "RESET", PUT_OK, NULL };
	(void)st;
	assert_int_equal(put_with(resp, &s, &e), 0);
	assert_int_equal(e.attempts, 3);
	assert_int_equal(s.n_req, 3);
	/* every attempt re-sent the whole body */
	assert_non_null(strstr(s.req[2], "\r\n\r\nhello"));
}

static void test_transient_exhausted(void **st)
{
	static struct srv s;
	struct s3_error e;
	const char *resp[] = { err_resp(0, 500, "InternalError"), err_resp(1, 502, ""),
			       err_resp(2, 429, "x"), PUT_OK, NULL };
	(void)st;
	assert_int_equal(put_with(resp, &s, &e), -EAGAIN);
	assert_int_equal(e.attempts, 3); /* conf.max_attempts */
	assert_int_equal(e.http_status, 429);
	assert_false(s3_error_permanent(-EAGAIN));
}

static void map_one(int status, const char *code, int want)
{
	static struct srv s;
	struct s3_error e;
	const char *resp[] = { err_resp(0, status, code), PUT_OK, NULL };
	print_message("# %d %s\n", status, code);
	assert_int_equal(put_with(resp, &s, &e), want);
	assert_int_equal(e.attempts, 1); /* permanent: no retry */
	assert_int_equal(e.http_status, status);
	assert_string_equal(e.code, code);
	assert_string_equal(e.request_id, "rid-0");
	assert_true(s3_error_permanent(want));
	/* the canned server still holds the unused answer: unblock it */
}

static void test_permanent_mapping(void **st)
{
	(void)st;
	map_one(403, "SignatureDoesNotMatch", -EACCES);
	map_one(403, "InvalidAccessKeyId", -EACCES);
	map_one(403, "AccessDenied", -EACCES);
	map_one(403, "RequestTimeTooSkewed", -ETIME);
	map_one(404, "NoSuchBucket", -ENXIO);
	map_one(404, "NoSuchKey", -ENOENT);
	map_one(404, "NoSuchUpload", -ESRCH);
	map_one(400, "BadDigest", -EBADMSG);
	map_one(400, "XAmzContentSHA256Mismatch", -EBADMSG);
	map_one(400, "EntityTooSmall", -EFBIG);
	map_one(400, "InvalidArgument", -EINVAL);
	map_one(301, "PermanentRedirect", -EINVAL);
}

static void test_bad_replies(void **st)
{
	static struct srv s;
	struct s3_error e;
	(void)st;
	/* the stored object's MD5 is not what we sent */
	const char *r1[] = { OK200 "ETag: \"00000000000000000000000000000000\"\r\n\r\n", NULL };
	assert_int_equal(put_with(r1, &s, &e), -EBADMSG);
	/* an error body larger than S3_REPLY_MAX */
	static char big[S3_REPLY_MAX + 200];
	int hl = snprintf(big, sizeof(big), "HTTP/1.1 400 X\r\nContent-Length: %d\r\n"
			  "Connection: close\r\n\r\n", S3_REPLY_MAX + 10);
	memset(big + hl, 'x', (size_t)S3_REPLY_MAX + 10);
	big[hl + S3_REPLY_MAX + 10] = '\0';
	const char *r2[] = { big, NULL };
	assert_int_equal(put_with(r2, &s, &e), -EPROTO);
	/* HTML from a proxy: a 400 we cannot parse is still a clean -EINVAL */
	const char *r3[] = { "HTTP/1.1 400 X\r\nContent-Length: 6\r\nConnection: close\r\n\r\n<html>",
			     NULL };
	assert_int_equal(put_with(r3, &s, &e), -EINVAL);
	assert_string_equal(e.code, "");
}

static void test_complete_error_in_200(void **st)
{
	static struct srv s;
	struct s3_error e;
	struct s3_part p = { .number = 1, .size = 5, .etag = "abc" };
	char body[300], resp[500];
	(void)st;
	snprintf(body, sizeof(body), "<Error><Code>InvalidPart</Code><Message>bad</Message>"
		 "<RequestId>r9</RequestId></Error>");
	snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: "
		 "close\r\n\r\n%s", strlen(body), body);
	memset(&s, 0, sizeof(s));
	s.resp[0] = resp;
	srv_start(&s);
	struct s3_client *c = client(&s);
	assert_int_equal(s3_mpu_complete(c, "k", "id1", &p, 1, NULL, &e), -EBADMSG);
	assert_string_equal(e.code, "InvalidPart");
	s3_client_free(c);
	srv_stop(&s);
	assert_non_null(strstr(s.req[0], "POST /bkt/k?uploadId=id1 HTTP/1.1"));
	assert_non_null(strstr(s.req[0], "<Part><PartNumber>1</PartNumber><ETag>\"abc\""
				"</ETag></Part>"));
}

static void test_cancel_and_head(void **st)
{
	static struct srv s;
	struct s3_error e;
	struct s3_obj_info info;
	(void)st;
	memset(&s, 0, sizeof(s));
	s.resp[0] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	srv_start(&s);
	struct s3_client *c = client(&s);
	assert_int_equal(s3_head_object(c, "nope", NULL, &info, &e), -ENOENT);
	atomic_store(&cancel_flag, true);
	assert_int_equal(s3_head_object(c, "nope", NULL, &info, &e), -ECANCELED);
	assert_false(s3_error_permanent(-ECANCELED));
	s3_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.n_req, 1);
	assert_non_null(strstr(s.req[0], "HEAD /bkt/nope HTTP/1.1"));
}

/* ---- client configuration ----------------------------------------------------- */

static int new_with(const char *ep, const char *bucket, bool path_style, struct s3_client **c)
{
	char err[256];
	memset(&conf, 0, sizeof(conf));
	snprintf(conf.endpoint, sizeof(conf.endpoint), "%s", ep);
	snprintf(conf.bucket, sizeof(conf.bucket), "%s", bucket);
	conf.path_style = path_style;
	strcpy(conf.creds.access_key, "AK");
	strcpy(conf.creds.secret_key, "SK");
	return s3_client_new(&conf, c, err, sizeof(err));
}

static void test_client_new(void **st)
{
	struct s3_client *c;
	(void)st;
	assert_int_equal(new_with("https://s3.example.com", "bkt", false, &c), 0);
	assert_string_equal(c->base, "https://bkt.s3.example.com"); /* virtual-hosted */
	assert_string_equal(c->host, "bkt.s3.example.com");
	s3_client_free(c);
	assert_int_equal(new_with("https://S3.Example.com:8443/", "bkt", true, &c), 0);
	assert_string_equal(c->base, "https://s3.example.com:8443");
	assert_string_equal(c->bucket_path, "/bkt");
	s3_client_free(c);
	assert_int_equal(new_with("http://[::1]:9000", "bkt", true, &c), 0);
	assert_string_equal(c->host, "[::1]:9000");
	s3_client_free(c);
	assert_int_equal(new_with("http://localhost:9000", "bkt", true, &c), 0);
	s3_client_free(c);
	/* plain http only to loopback */
	assert_int_equal(new_with("http://s3.example.com", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("http://128.0.0.1", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("ftp://s3.example.com", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("https://s3.example.com/path", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("https://user@s3.example.com", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("https://s3.example.com:0", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("https://s3.example.com:99999", "bkt", true, &c), -EINVAL);
	assert_int_equal(new_with("https://1.2.3.4", "bkt", false, &c), -EINVAL);
	assert_int_equal(new_with("https://s3.example.com", "Bad_Bucket", true, &c), -EINVAL);
	assert_int_equal(new_with("https://s3.example.com", "ab", true, &c), -EINVAL);
}

/* ---- pool ---------------------------------------------------------------------- */

/* s3_pool: a client handed back is handed out again (its connection with
 * it), at most max_idle are kept, conf errors are s3_client_new's, and the
 * counters add up the clients handed back. The connection reuse itself is
 * counted through a proxy against RGW (tests/integration/dockd_s3_reuse.sh). */
static void test_pool(void **st)
{
	struct s3_client *a, *b, *c, *d;
	struct s3_pool *p;
	uint64_t nreq, ncon;
	char err[256];
	(void)st;
	assert_int_equal(new_with("https://s3.example.com", "Bad_Bucket", true, &a), -EINVAL);
	assert_int_equal(s3_pool_new(&conf, 2, &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(new_with("https://s3.example.com", "bkt", true, &a), 0);
	s3_client_free(a);
	assert_int_equal(s3_pool_new(&conf, 2, &p, err, sizeof(err)), 0);
	assert_int_equal(s3_pool_get(p, &a, err, sizeof(err)), 0);
	assert_int_equal(s3_pool_get(p, &b, err, sizeof(err)), 0);
	assert_int_equal(s3_pool_get(p, &c, err, sizeof(err)), 0);
	assert_ptr_not_equal(a, b);
	assert_ptr_not_equal(b, c);
	assert_ptr_not_equal(a, c);
	a->requests = 3; a->connects = 1;
	b->requests = 2; b->connects = 1;
	s3_pool_put(p, a);
	s3_pool_put(p, b);
	s3_pool_put(p, c); /* beyond max_idle = 2: closed */
	s3_pool_stats(p, &nreq, &ncon);
	assert_int_equal(nreq, 5);
	assert_int_equal(ncon, 2);
	assert_int_equal(s3_pool_get(p, &d, err, sizeof(err)), 0);
	assert_true(d == a || d == b); /* an idle one, not a new one */
	assert_int_equal(d->requests, 0); /* counted once, in the pool */
	s3_pool_put(p, d);
	s3_pool_put(p, NULL);
	s3_pool_free(p);
}

/* ---- credentials ------------------------------------------------------------- */

static const char *write_file(const char *text, mode_t mode)
{
	static char path[32];
	int fd;

	/* mkstemp rewrites the template: a fresh one each call */
	snprintf(path, sizeof(path), "/tmp/test_s3_creds.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	return path;
}

static void test_creds(void **st)
{
	struct s3_creds c;
	char err[256];
	const char *p;
	(void)st;
	p = write_file("# test\naccess_key = AKIA1\n  secret_key=s+/=ecret \n\n"
		       "session_token = tok\n", 0600);
	memset(&c, 0, sizeof(c));
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKIA1");
	assert_string_equal(c.secret_key, "s+/=ecret");
	assert_string_equal(c.session_token, "tok");
	s3_creds_wipe(&c);
	assert_int_equal(c.secret_key[0], 0);
	unlink(p);
	/* readable by group or others: refused, even though it parses */
	p = write_file("access_key = a\nsecret_key = b\n", 0640);
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), -EPERM);
	unlink(p);
	p = write_file("access_key = a\nsecret_key = b\n", 0604);
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), -EPERM);
	unlink(p);
	p = write_file("access_key = a\n", 0600);
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "secret_key"));
	unlink(p);
	p = write_file("access_key = a\nsecret_key = b\npassword = c\n", 0600);
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3:"));
	unlink(p);
	p = write_file("access_key = a\naccess_key = b\nsecret_key = c\n", 0600);
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), -EINVAL);
	unlink(p);
	p = write_file("access_key = a b\nsecret_key = c\n", 0600);
	assert_int_equal(s3_creds_load(p, &c, err, sizeof(err)), -EINVAL);
	unlink(p);
	assert_int_equal(s3_creds_load("/nonexistent/creds", &c, err, sizeof(err)), -ENOENT);
}

/* ---- token bucket ------------------------------------------------------------- */

static void test_rate(void **st)
{
	struct s3_rate *r;
	struct s3_client *c;
	(void)st;
	assert_int_equal(new_with("https://s3.example.com", "bkt", true, &c), 0);
	assert_int_equal(s3_rate_new(1000, &r), 0);
	conf.rate = r;
	atomic_store(&cancel_flag, false);
	conf.cancel = &cancel_flag;
	/* burst is one second's worth: a big ask gets at most 1000 now */
	size_t got = s3_rate_take(c, 5000);
	assert_true(got >= 1 && got <= 1000);
	/* an empty bucket and a cancel: returns 0 instead of waiting */
	atomic_store(&cancel_flag, true);
	s3_rate_set(r, 1);
	assert_int_equal(s3_rate_take(c, 100), 0);
	/* 0 = unlimited: the whole ask at once */
	s3_rate_set(r, 0);
	assert_int_equal(s3_rate_take(c, 1 << 20), 1 << 20);
	s3_client_free(c);
	s3_rate_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_request_shape),
		cmocka_unit_test(test_retry_then_ok),
		cmocka_unit_test(test_transient_exhausted),
		cmocka_unit_test(test_permanent_mapping),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_complete_error_in_200),
		cmocka_unit_test(test_cancel_and_head),
		cmocka_unit_test(test_client_new),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_creds),
		cmocka_unit_test(test_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
