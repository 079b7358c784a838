/* fuzz_checkpoint.c - libFuzzer target for checkpoint.h (untrusted
 * signed notes and verifier keys).
 *
 * Each input is tried as:
 *   1. a signed checkpoint, verified against two fixed trusted keys (the
 *      key that signed the seed corpus, and sum.golang.org's published
 *      key so the real sumdb seed verifies too);
 *   2. a vkey string.
 * Invariants checked (abort() on violation):
 *   - every failure is one of the documented error codes;
 *   - on success the re-formatted body (checkpoint_body) is byte-for-byte
 *     the signed text of the input - the parser accepts only canonical
 *     checkpoints, so nothing unsigned can slip into the result;
 *   - a parsed vkey formats back to exactly the input.
 *
 * Seeds: tests/fuzz/corpus/fuzz_checkpoint/ (checkpoints signed by the
 * fuzz.example/log key below, a cosigned one, vkeys, a sumdb checkpoint).
 * The private key of fuzz.example/log is not kept: new seeds need a new
 * key and an update of FUZZ_VKEY.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

#define FUZZ_VKEY  "fuzz.example/log+d491e57f+Ac1lbx4QD5BWYJl+hHiOqSLVd4rohTdQe9aq0G7LXZy0"
#define SUMDB_VKEY "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ckpt_vkey keys[2];
static int ready;

static void check_err(int r)
{
	switch (r) {
	case 0: case -EINVAL: case -E2BIG: case -EBADMSG: case -ENOKEY:
	case -EKEYREJECTED:
		return;
	default:
		abort();
	}
}

static void setup(void)
{
	if (ckpt_vkey_parse(FUZZ_VKEY, strlen(FUZZ_VKEY), &keys[0]) != 0 ||
	    ckpt_vkey_parse(SUMDB_VKEY, strlen(SUMDB_VKEY), &keys[1]) != 0)
		abort();
	ready = 1;
}

static void try_checkpoint(const uint8_t *data, size_t size)
{
	static char body[CKPT_MAX_SIGNED];
	struct checkpoint cp;
	size_t signer = 99, blen;
	int r;

	r = checkpoint_parse_verify((const char *)data, size, keys, 2, &cp,
				    &signer);
	check_err(r);
	if (r != 0)
		return;
	if (signer > 1 || checkpoint_body(&cp, body, sizeof(body), &blen) != 0)
		abort();
	/* body is a prefix of the note, followed by the blank line */
	if (blen + 1 >= size || memcmp(body, data, blen) != 0 ||
	    data[blen] != '\n')
		abort();
}

static void try_vkey(const uint8_t *data, size_t size)
{
	char text[CKPT_MAX_VKEY];
	struct ckpt_vkey v;
	int r = ckpt_vkey_parse((const char *)data, size, &v);

	check_err(r);
	if (r != 0)
		return;
	if (ckpt_vkey_format(&v, text, sizeof(text)) != 0 ||
	    strlen(text) != size || memcmp(text, data, size) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	try_checkpoint(data, size);
	try_vkey(data, size);
	return 0;
}
