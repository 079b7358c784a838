/* test_custmsg.c - the custodian channel's messages
 * (dockd/custodian/custmsg.h): every type round-trips, malformed records
 * are refused with -EPROTO, a descriptor sent along is refused and closed.
 *
 * With CUSTMSG_SEEDS=DIR it also writes one record of each type there
 * (the fuzzer's seed corpus, tests/fuzz/corpus/fuzz_custmsg/).
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

#include "custmsg.h"

static const uint8_t types[] = { CM_AUTH, CM_RECEIPT, CM_CKPT, CM_RELOAD, CM_READY, CM_RESULT };

static void sample(uint8_t type, struct custmsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->rc = type == CM_RESULT ? -EPERM : 0;
	snprintf(m->serial, sizeof(m->serial), "CAM-A");
	snprintf(m->recording, sizeof(m->recording), "REC-1");
	for (int i = 0; i < 32; i++) {
		m->sha256[i] = (uint8_t)i;
		m->dock_pub[i] = (uint8_t)(i + 1);
		m->ckpt_pub[i] = (uint8_t)(i + 2);
	}
	m->have_ckpt = 1;
	snprintf(m->location, sizeof(m->location), "s3://b/pd/CAM-A/REC-1.bcde");
	m->issued = 1800000000;
	snprintf(m->dock_id, sizeof(m->dock_id), "dock-1");
	memset(m->sig, 0xab, sizeof(m->sig));
	m->size = 42;
	snprintf(m->text, sizeof(m->text), "no such item in the ledger");
	m->blob_len = 5;
	memcpy(m->blob, "BCDK\0", 5);
}

static void test_roundtrip(void **state)
{
	const char *seeds = getenv("CUSTMSG_SEEDS");
	uint8_t buf[CUSTMSG_MAX + 1], again[CUSTMSG_MAX];
	struct custmsg m, d;
	size_t n, n2;

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		sample(types[i], &m);
		assert_int_equal(custmsg_encode(&m, buf, CUSTMSG_MAX, &n), 0);
		assert_int_equal(custmsg_decode(buf, n, &d), 0);
		assert_int_equal(d.type, m.type);
		assert_int_equal(custmsg_encode(&d, again, sizeof(again), &n2), 0);
		assert_int_equal(n2, n);
		assert_memory_equal(again, buf, n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(custmsg_decode(buf, k, &d), -EPROTO);
		buf[n] = 0;
		assert_int_equal(custmsg_decode(buf, n + 1, &d), -EPROTO);
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
	sample(CM_RECEIPT, &m);
	assert_int_equal(custmsg_encode(&m, buf, CUSTMSG_MAX, &n), 0);
	assert_int_equal(custmsg_decode(buf, n, &d), 0);
	assert_string_equal(d.serial, "CAM-A");
	assert_string_equal(d.recording, "REC-1");
	assert_memory_equal(d.sha256, m.sha256, 32);
	assert_int_equal(d.issued, 1800000000);
	assert_int_equal(d.rc, 0); /* a request carries no rc */
	sample(CM_READY, &m);
	assert_int_equal(custmsg_encode(&m, buf, CUSTMSG_MAX, &n), 0);
	assert_int_equal(custmsg_decode(buf, n, &d), 0);
	assert_memory_equal(d.ckpt_pub, m.ckpt_pub, 32);
	assert_int_equal(d.have_ckpt, 1);
	sample(CM_RESULT, &m);
	assert_int_equal(custmsg_encode(&m, buf, CUSTMSG_MAX, &n), 0);
	assert_int_equal(custmsg_decode(buf, n, &d), 0);
	assert_int_equal(d.rc, -EPERM);
	assert_int_equal(d.blob_len, 5);
	assert_memory_equal(d.blob, "BCDK\0", 5);
}

static void test_refused(void **state)
{
	uint8_t buf[CUSTMSG_MAX];
	struct custmsg m, d;
	size_t n;

	(void)state;
	sample(CM_RECEIPT, &m);
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[0] = CUSTMSG_VERSION + 1; /* another version */
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	buf[0] = CUSTMSG_VERSION;
	buf[3] = 1; /* reserved */
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	buf[3] = 0;
	buf[1] = 99; /* unknown type */
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	buf[1] = CM_RECEIPT;
	buf[4]++; /* length */
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	buf[4]--;
	buf[CUSTMSG_HDR + 2] = '/'; /* "/AM-A": not a protocol id */
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	/* an empty serial */
	sample(CM_RECEIPT, &m);
	m.serial[0] = '\0';
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	/* rc out of range, have_ckpt not 0 or 1 */
	sample(CM_READY, &m);
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[CUSTMSG_HDR + 3] = 0x7f; /* rc = large positive */
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	m.have_ckpt = 2;
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	/* a blob length over the cap */
	sample(CM_AUTH, &m);
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[CUSTMSG_HDR] = 0xff;
	buf[CUSTMSG_HDR + 1] = 0xff;
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
	/* a control character in the text */
	sample(CM_READY, &m);
	m.text[0] = '\n';
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(custmsg_decode(buf, n, &d), -EPROTO);
}

static void test_channel(void **state)
{
	struct custmsg m, d;
	int sv[2], fd = open("/dev/null", O_RDONLY);
	char cbuf[CMSG_SPACE(sizeof(int))];
	uint8_t buf[CUSTMSG_MAX];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	size_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	sample(CM_CKPT, &m);
	assert_int_equal(custmsg_send(sv[0], &m), 0);
	assert_int_equal(custmsg_recv(sv[1], 1000, &d), 0);
	assert_int_equal(d.type, CM_CKPT);
	/* a descriptor passed along: refused */
	assert_int_equal(custmsg_encode(&m, buf, sizeof(buf), &n), 0);
	iov.iov_base = buf;
	iov.iov_len = n;
	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)n);
	assert_int_equal(custmsg_recv(sv[1], 1000, &d), -EPROTO);
	assert_int_equal(custmsg_recv(sv[1], 50, &d), -ETIMEDOUT);
	close(sv[0]);
	assert_int_equal(custmsg_recv(sv[1], 1000, &d), -ECONNRESET);
	close(sv[1]);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
