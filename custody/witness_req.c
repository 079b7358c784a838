/*
 * witness_req.c - the tlog-witness add-checkpoint request body parser
 * (see witness.h).  Untrusted input: every length is capped before use
 * and nothing is allocated.
 */
#include <errno.h>
#include <string.h>

#include "note_int.h"
#include "witness.h"

int witness_req_parse(const char *body, size_t len, struct witness_req *out)
{
	struct witness_req r;
	const char *p, *end, *nl;
	int rc;

	if (!body || !out)
		return -EINVAL;
	if (len > WITNESS_MAX_BODY)
		return -E2BIG;
	memset(&r, 0, sizeof(r));
	end = body + len;
	if (len < 4 || memcmp(body, "old ", 4) != 0)
		return -EBADMSG;
	if (!(nl = memchr(body, '\n', len)))
		return -EBADMSG;
	if ((rc = ckpt_note_parse_size(body + 4, (size_t)(nl - body) - 4, &r.old_size)))
		return rc;
	p = nl + 1;
	for (;;) {
		size_t n;

		if (p >= end || !(nl = memchr(p, '\n', (size_t)(end - p))))
			return -EBADMSG;	/* no empty line before the note */
		n = (size_t)(nl - p);
		if (n == 0)
			break;
		if (r.n_proof == WITNESS_MAX_PROOF)
			return -E2BIG;
		if ((rc = ckpt_note_hash_b64(p, n, r.proof[r.n_proof])))
			return rc;
		r.n_proof++;
		p = nl + 1;
	}
	p = nl + 1;
	if (p >= end)
		return -EBADMSG;	/* no checkpoint */
	r.note = p;
	r.note_len = (size_t)(end - p);
	*out = r;
	return 0;
}
