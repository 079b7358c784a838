/* test_witmsg.c - the witness client process's channel messages
 * (dockd/witness/witmsg.h): every type round-trips through a real
 * SOCK_SEQPACKET socketpair, malformed records are refused with -EPROTO
 * (and a record carrying a descriptor too, the descriptor closed), the
 * end of the channel is -ECONNRESET, the encoder refuses what the decoder
 * would.
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

#include "witmsg.h"

static struct witmsg m, got;
static uint8_t buf[WITMSG_MAX];

static void sample(uint8_t type)
{
	const char *text = type == WM_POST ? "old 2\n\ndock.test/pd\n24\nAAAA\n\n\xe2\x80\x94 x\n"
			   : type == WM_ANSWER ? "\xe2\x80\x94 w1.test/witness AAAA\n"
					       : "lock-down failed\tEPERM";

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = 0x01020304;
	m.witness = 7;
	m.status = type == WM_ANSWER ? 200 : 0;
	m.count = type == WM_READY ? 8 : 0;
	m.rc = type == WM_READY ? -EPERM : 0;
	m.len = strlen(text);
	memcpy(m.data, text, m.len + 1);
}

static void test_roundtrip(void **state)
{
	static const uint8_t types[] = { WM_POST, WM_READY, WM_ANSWER };
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	for (size_t i = 0; i < sizeof(types); i++) {
		sample(types[i]);
		assert_int_equal(witmsg_send(sv[0], &m), 0);
		memset(&got, 0xa5, sizeof(got));
		assert_int_equal(witmsg_recv(sv[1], 1000, &got), 0);
		assert_int_equal(got.type, m.type);
		assert_int_equal(got.len, m.len);
		assert_string_equal(got.data, m.data);
		if (m.type != WM_READY) {
			assert_int_equal(got.seq, m.seq);
			assert_int_equal(got.witness, m.witness);
		} else {
			assert_int_equal(got.rc, -EPERM);
			assert_int_equal(got.count, 8);
		}
		if (m.type == WM_ANSWER)
			assert_int_equal(got.status, 200);
	}
	/* the largest body */
	sample(WM_POST);
	memset(m.data, 'a', WITMSG_BODY_MAX);
	m.len = WITMSG_BODY_MAX;
	m.data[m.len] = '\0';
	assert_int_equal(witmsg_send(sv[0], &m), 0);
	assert_int_equal(witmsg_recv(sv[1], 1000, &got), 0);
	assert_int_equal(got.len, WITMSG_BODY_MAX);
	close(sv[0]);
	assert_int_equal(witmsg_recv(sv[1], 1000, &got), -ECONNRESET);
	close(sv[1]);
}

static size_t enc(uint8_t type)
{
	size_t len = 0;

	sample(type);
	assert_int_equal(witmsg_encode(&m, buf, sizeof(buf), &len), 0);
	return len;
}

static void test_refused(void **state)
{
	size_t len;

	(void)state;
	len = enc(WM_ANSWER);
	assert_int_equal(witmsg_decode(buf, len, &got), 0);
	assert_int_equal(witmsg_decode(buf, len - 1, &got), -EPROTO);	/* short */
	assert_int_equal(witmsg_decode(buf, 7, &got), -EPROTO);		/* no header */
	buf[0] = 9;							/* version */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_ANSWER);
	buf[2] = 1;							/* reserved */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_ANSWER);
	buf[1] = 4;							/* type */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_ANSWER);
	buf[8 + 4] = 8;							/* witness >= 8 */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_ANSWER);
	buf[8 + 5] = 99;						/* status 99 */
	buf[8 + 6] = 0;
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_ANSWER);
	buf[8 + 9] = '\x1b';						/* escape in a text */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_ANSWER);
	buf[8 + 9] = '\0';						/* NUL in a text */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_POST);
	buf[8 + 9] = '\0';						/* NUL in a body */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_POST);
	buf[8 + 5] ^= 1;						/* body length */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_READY);
	memcpy(buf + 8, "\x01\0\0\0", 4);				/* rc > 0 */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	len = enc(WM_READY);
	buf[8 + 4] = 9;							/* count > 8 */
	assert_int_equal(witmsg_decode(buf, len, &got), -EPROTO);
	/* the encoder refuses the same */
	sample(WM_ANSWER);
	m.status = 600;
	assert_int_equal(witmsg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample(WM_ANSWER);
	m.len = WITMSG_TEXT_MAX + 1;
	assert_int_equal(witmsg_encode(&m, buf, sizeof(buf), &len), -EMSGSIZE);
	sample(WM_POST);
	m.len = 0;
	assert_int_equal(witmsg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample(WM_POST);
	m.witness = 8;
	assert_int_equal(witmsg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

static void test_clean_text(void **state)
{
	char s[WITMSG_TEXT_MAX + 100];
	size_t n;

	(void)state;
	memcpy(s, "a\x01" "b\n\tc\x7f", 8);
	n = 7;
	witmsg_clean_text(s, &n);
	assert_int_equal(n, 7);
	assert_string_equal(s, "a?b\n\tc?");
	memset(s, 'x', sizeof(s));
	n = sizeof(s) - 1;
	witmsg_clean_text(s, &n);
	assert_int_equal(n, WITMSG_TEXT_MAX);
	assert_int_equal(strlen(s), WITMSG_TEXT_MAX);
}

/* Transport: a descriptor attached, a record over WITMSG_MAX. */
static void test_transport(void **state)
{
	char cb[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb,
			     .msg_controllen = sizeof(cb) };
	struct cmsghdr *c = (struct cmsghdr *)cb;
	uint8_t *big = calloc(1, WITMSG_MAX + 16);
	size_t len;
	int sv[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_non_null(big);
	assert_true(fd >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	len = enc(WM_ANSWER);
	iov.iov_base = buf;
	iov.iov_len = len;
	memset(cb, 0, sizeof(cb));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)len);
	assert_int_equal(witmsg_recv(sv[1], 1000, &got), -EPROTO);
	/* a valid header claiming the whole oversized record */
	memcpy(big, buf, 8);
	big[4] = (uint8_t)(WITMSG_MAX + 16 - 8);
	big[5] = (uint8_t)((WITMSG_MAX + 16 - 8) >> 8);
	big[6] = 0;
	big[7] = 0;
	assert_int_equal(send(sv[0], big, WITMSG_MAX + 16, 0), WITMSG_MAX + 16);
	assert_int_equal(witmsg_recv(sv[1], 1000, &got), -EPROTO);
	assert_int_equal(witmsg_recv(sv[1], 50, &got), -ETIMEDOUT);
	close(fd);
	close(sv[0]);
	close(sv[1]);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_clean_text),
		cmocka_unit_test(test_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
