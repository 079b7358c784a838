/* fuzz_witness_req.c - libFuzzer target for the tlog-witness
 * add-checkpoint request (custody/witness.h): untrusted HTTP bodies.
 *
 * Each input is
 *   1. parsed with witness_req_parse(); on success the parsed request
 *      re-serialised ("old N\n", one base64 line per hash, "\n") must be
 *      byte-for-byte the body before the note - only canonical requests
 *      are accepted - and the note must lie inside the input;
 *   2. handed whole to witness_add_checkpoint() of a witness that trusts
 *      fuzz.example/log (the key of the fuzz_checkpoint seeds), with its
 *      state in a fresh temporary directory: the answer must be one of
 *      the documented statuses and a NUL-terminated body within the cap.
 * abort() on any violation.  Seeds: tests/fuzz/corpus/fuzz_witness_req/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "edkey.h"
#include "witness.h"

#define FUZZ_LOG "fuzz.example/log fuzz.example/log+d491e57f+Ac1lbx4QD5BWYJl+hHiOqSLVd4rohTdQe9aq0G7LXZy0"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct witness *w;
static struct edkey *wkey;
static char dir[] = "/tmp/fuzz_witness.XXXXXX";

static void cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void setup(void)
{
	char err[256];

	if (!mkdtemp(dir) || atexit(cleanup) || edkey_generate(&wkey) ||
	    witness_new("fuzz.example/witness", wkey, dir, &w, err, sizeof(err)) ||
	    witness_add_log(w, FUZZ_LOG, err, sizeof(err)) ||
	    witness_load(w, err, sizeof(err)))
		abort();
}

static void check_canonical(const char *body, const struct witness_req *rq)
{
	char buf[64];
	size_t o;
	int n = snprintf(buf, sizeof(buf), "old %llu\n",
			 (unsigned long long)rq->old_size);

	if (rq->n_proof > WITNESS_MAX_PROOF || memcmp(body, buf, (size_t)n))
		abort();
	o = (size_t)n;
	for (size_t i = 0; i < rq->n_proof; i++) {
		char b64[48];

		EVP_EncodeBlock((unsigned char *)b64, rq->proof[i], 32);
		if (memcmp(body + o, b64, 44) || body[o + 44] != '\n')
			abort();
		o += 45;
	}
	if (body[o] != '\n' || rq->note != body + o + 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct witness_req rq;
	char resp[WITNESS_MAX_RESP], why[256];
	const char *ctype = NULL;
	char *body;
	int r, st;

	if (!w)
		setup();
	/* a copy of exactly size bytes: ASan sees any read past the end */
	if (!(body = malloc(size ? size : 1)))
		return 0;
	memcpy(body, data, size);
	r = witness_req_parse(body, size, &rq);
	if (r == 0) {
		if (rq.note < body || rq.note_len == 0 ||
		    rq.note + rq.note_len != body + size)
			abort();
		check_canonical(body, &rq);
	} else if (r != -EBADMSG && r != -E2BIG) {
		abort();
	}
	st = witness_add_checkpoint(w, body, size, resp, sizeof(resp), &ctype,
				    why, sizeof(why));
	if ((st != 200 && st != 400 && st != 403 && st != 404 && st != 409 &&
	     st != 422 && st != 500) || !ctype ||
	    strnlen(resp, sizeof(resp)) == sizeof(resp) ||
	    strnlen(why, sizeof(why)) == sizeof(why))
		abort();
	if (r != 0 && st != 400)
		abort();	/* a malformed body is never accepted */
	free(body);
	return 0;
}
