/* test_storemsg.c - the storage uploader's channel messages
 * (dockd/store/storemsg.h): every type round-trips, descriptors pass with
 * SCM_RIGHTS, and malformed records are refused with -EPROTO.
 *
 * With STOREMSG_SEEDS=DIR it also writes one record of each type there
 * (the fuzzer's seed corpus, tests/fuzz/corpus/fuzz_storemsg/).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "storemsg.h"

static const uint8_t types[] = { SM_PUT, SM_VERIFY, SM_REMOVE, SM_SET_HOLD, SM_PREPARE,
				 SM_HASH, SM_REPLACE, SM_FETCH, SM_NEWCHAN, SM_CANCEL,
				 SM_PROGRESS, SM_RESULT, SM_READY };

static void sample(uint8_t type, struct storemsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	snprintf(m->key, sizeof(m->key), "pd-test/CAM-A/REC-1.bcde");
	snprintf(m->version, sizeof(m->version), "v-1");
	m->size = 0x0102030405060708ULL;
	for (int i = 0; i < 32; i++)
		m->sha256[i] = (uint8_t)i;
	snprintf(m->category, sizeof(m->category), "use-of-force");
	snprintf(m->case_no, sizeof(m->case_no), "CASE 7");
	snprintf(m->retention, sizeof(m->retention), "730d");
	m->retain_until = 1800000000;
	m->rc = type == SM_RESULT ? -EEXIST : 0;
	snprintf(m->info.location, sizeof(m->info.location), "s3://b/pd-test/CAM-A/REC-1.bcde");
	snprintf(m->info.version_id, sizeof(m->info.version_id), "ver");
	snprintf(m->info.etag, sizeof(m->info.etag), "\"etag\"");
	snprintf(m->text, sizeof(m->text), "no credentials");
	if (type == SM_PUT || type == SM_REPLACE)
		m->flags = SMF_LEGAL_HOLD | SMF_PROGRESS;
	if (type == SM_SET_HOLD)
		m->flags = SMF_HOLD_ON;
	if (type == SM_FETCH)
		m->flags = SMF_VERSION;
}

static void test_roundtrip(void **state)
{
	const char *seeds = getenv("STOREMSG_SEEDS");
	uint8_t buf[STOREMSG_MAX], again[STOREMSG_MAX];
	struct storemsg m, d;
	size_t n, n2;

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		sample(types[i], &m);
		assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
		assert_int_equal(storemsg_decode(buf, n, &d), 0);
		assert_int_equal(d.type, m.type);
		assert_int_equal(d.flags, m.flags);
		assert_int_equal(storemsg_encode(&d, again, sizeof(again), &n2), 0);
		assert_int_equal(n2, n);
		assert_memory_equal(again, buf, n);
		/* every strict prefix and one byte more are refused */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(storemsg_decode(buf, k, &d), -EPROTO);
		buf[n] = 0;
		assert_int_equal(storemsg_decode(buf, n + 1, &d), -EPROTO);
		if (seeds) {
			char p[512];
			FILE *f;

			snprintf(p, sizeof(p), "%s/type-%02u", seeds, types[i]);
			f = fopen(p, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(buf, 1, n, f), n);
			fclose(f);
		}
	}
	sample(SM_PUT, &m);
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(storemsg_decode(buf, n, &d), 0);
	assert_string_equal(d.key, m.key);
	assert_string_equal(d.case_no, "CASE 7");
	assert_int_equal(d.retain_until, 1800000000);
	assert_int_equal(d.size, m.size);
	sample(SM_RESULT, &m);
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(storemsg_decode(buf, n, &d), 0);
	assert_int_equal(d.rc, -EEXIST);
	assert_string_equal(d.info.etag, "\"etag\"");
}

static void test_refused(void **state)
{
	uint8_t buf[STOREMSG_MAX];
	struct storemsg m, d;
	size_t n;

	(void)state;
	sample(SM_VERIFY, &m);
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[0] = STOREMSG_VERSION + 1; /* another version */
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	buf[0] = STOREMSG_VERSION;
	buf[2] = 1; /* reserved */
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	buf[2] = 0;
	buf[1] = 99; /* unknown type */
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	buf[1] = SM_VERIFY;
	buf[4]++; /* length */
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	buf[4]--;
	buf[STOREMSG_HDR + 2 + 7] = '/'; /* "pd-test//AM-A": an empty component */
	buf[STOREMSG_HDR + 2 + 8] = '/';
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	/* a flag the type does not define */
	sample(SM_VERIFY, &m);
	m.flags = SMF_SUMS;
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	sample(SM_SET_HOLD, &m);
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[n - 1] = 0x80;
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	/* a control character in a string */
	sample(SM_READY, &m);
	m.rc = -EACCES;
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[n - 1] = '\n';
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	/* rc out of range (positive) */
	sample(SM_READY, &m);
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[STOREMSG_HDR] = 1;
	assert_int_equal(storemsg_decode(buf, n, &d), -EPROTO);
	/* a string over its cap */
	sample(SM_PUT, &m);
	memset(m.category, 'a', STOREMSG_TAG_MAX);
	m.category[STOREMSG_TAG_MAX] = '\0';
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), 0);
	m.category[STOREMSG_TAG_MAX] = 'a'; /* no NUL within the cap */
	assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &n), -ENAMETOOLONG);
}

static void test_fds(void **state)
{
	struct storemsg m, d;
	int sv[2], fds[STOREMSG_FDS_MAX], n = -1, p[2], src;
	char b[8] = "";

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	src = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(src >= 0);
	/* put with source and part digests: two descriptors */
	sample(SM_PUT, &m);
	m.flags |= SMF_SUMS;
	int two[2] = { src, p[0] };
	assert_int_equal(storemsg_send(sv[0], &m, two, 1), -EINVAL); /* wrong count */
	assert_int_equal(storemsg_send(sv[0], &m, two, 2), 0);
	assert_int_equal(storemsg_recv(sv[1], 1000, &d, fds, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(read(fds[1], b, sizeof(b)), 2); /* the pipe came through */
	assert_memory_equal(b, "hi", 2);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	close(fds[0]);
	close(fds[1]);
	/* a result with a descriptor attached: refused, the descriptor closed */
	{
		uint8_t buf[STOREMSG_MAX];
		size_t len;
		char cb[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb,
				     .msg_controllen = sizeof(cb) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		sample(SM_RESULT, &m);
		assert_int_equal(storemsg_encode(&m, buf, sizeof(buf), &len), 0);
		iov.iov_base = buf;
		iov.iov_len = len;
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &src, sizeof(int));
		assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)len);
		assert_int_equal(storemsg_recv(sv[1], 1000, &d, fds, &n), -EPROTO);
	}
	/* nothing there: timeout; peer gone: end of stream */
	assert_int_equal(storemsg_recv(sv[1], 10, &d, fds, &n), -ETIMEDOUT);
	close(sv[0]);
	assert_int_equal(storemsg_recv(sv[1], 1000, &d, fds, &n), -ECONNRESET);
	close(sv[1]);
	close(src);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
