/* fuzz_session.c - the dock-side session (session.c, frame_io.c, the codec)
 * fed by a hostile camera.
 *
 * Input: byte 0 = mode (bit 0: skip camera signature checks, so random
 * bytes reach the LIST/READ/RELEASE parsing; only possible in the fuzzer
 * build, see session_fuzz.h), byte 1 = most bytes per recv (0: no limit),
 * then the camera's byte stream. The memory transport hands out those bytes
 * and discards whatever the dock sends; at the end of input the camera
 * "disconnects" (-ECONNRESET). Runs session_script.h's conversation.
 * Also built into tests/unit/test_fuzz_session.c to replay the corpus and
 * crash regressions in `make check` (there with real signature checks).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockcert.h"
#include "edsig.h"
#include "session.h"
#include "session_fuzz.h"
#include "session_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t left, max_chunk;
};

static int mem_send(struct transport *t, const void *buf, size_t len, int timeout_ms)
{
	return 0;
}

static int mem_recv(struct transport *t, void *buf, size_t cap, size_t *got, int timeout_ms)
{
	struct mem *m = t->impl;
	size_t n = cap;

	if (m->left == 0)
		return -ECONNRESET;
	if (n > m->left)
		n = m->left;
	if (m->max_chunk && n > m->max_chunk)
		n = m->max_chunk;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	*got = n;
	return 0;
}

static void mem_close(struct transport *t)
{
}

static const struct transport_ops mem_ops = { mem_send, mem_recv, mem_close, "memory" };

static struct edsig_key *g_dock;
static struct proto_dock_cert g_cert;

static int accept_any(void *ctx, const struct proto_identity *id)
{
	return 0;
}

static int init_keys(void)
{
	struct edsig_key *agency = NULL;
	uint8_t seed[EDSIG_SEED_LEN];
	int r;

	memset(seed, 0x42, sizeof(seed)); /* reproducible: a crash replays */
	r = edsig_from_seed(seed, &g_dock);
	seed[0] = 1;
	if (r == 0)
		r = edsig_from_seed(seed, &agency);
	if (r == 0)
		r = dockcert_issue(agency, "agency-1", "dock-1", g_dock, 0, INT64_C(4102444800),
				   &g_cert);
	edsig_key_free(agency);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m;
	struct transport t = { .ops = &mem_ops, .impl = &m, .peer = "fuzz" };
	struct session_cfg cfg = { .cert = &g_cert, .enrol = accept_any, .timeout_ms = 1000 };

	if (!g_dock && init_keys() < 0)
		abort();
	if (size < 2)
		return 0;
#ifdef PROTO_FUZZING
	session_fuzz_skip_signatures(data[0] & 1);
#endif
	m.max_chunk = data[1];
	m.p = data + 2;
	m.left = size - 2;
	cfg.dock_key = g_dock;
	script_run(&t, &cfg);
	return 0;
}
