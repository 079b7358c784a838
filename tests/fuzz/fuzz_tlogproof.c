/* fuzz_tlogproof.c - libFuzzer target for tlogproof.h (C2SP tlog-proof
 * files: untrusted input handed to a defence expert's check-proof).
 *
 * Each input is:
 *   1. parsed (tlp_parse); a parsed file must format (tlp_format) back to
 *      exactly the input: the grammar is canonical, so no two texts mean
 *      the same proof;
 *   2. checked (tlp_check) against a fixed agency vkey and witness vkey
 *      (the keys that signed the seeds, made by a run of
 *      tests/integration/custody_tlogproof.sh; their private keys are not
 *      kept: new signed seeds need new keys here) with quorum 1.
 * Invariants (abort() on violation): every failure is a documented error
 * code; parse and format agree.
 * Seeds: tests/fuzz/corpus/fuzz_tlogproof/ (good*: files that verify;
 * the others are the integration test's refused edits).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "tlogproof.h"

#define FUZZ_AGENCY "pd-test/agency+d31422ad+AaURNw8RJYHUITYht4kSDUD+8Tk+MltKCd2Wvo8KGMgI"
#define FUZZ_WITNESS "w1.test/witness+e826dc78+BEwBTbZIIaPwttRp9z6iypMgHjM/2TIiyH838iIPNNaw"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ckpt_vkey agency, witness;
static struct tlp *t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *back = NULL;
	size_t bl = 0;
	int r;

	if (!t) {
		if (ckpt_vkey_parse(FUZZ_AGENCY, strlen(FUZZ_AGENCY), &agency) ||
		    cosig_vkey_parse(FUZZ_WITNESS, strlen(FUZZ_WITNESS), &witness) ||
		    !(t = malloc(sizeof(*t))))
			abort();
	}
	r = tlp_parse(s, size, t);
	if (r != 0 && r != -EBADMSG && r != -E2BIG)
		abort();
	if (r == 0) {
		if (tlp_format(t, &back, &bl) || bl != size || memcmp(back, s, size))
			abort();
		free(back);
	}
	r = tlp_check(s, size, &agency, &witness, 1, 1, NULL);
	switch (r) {
	case 0: case -EBADMSG: case -E2BIG: case -ENOKEY: case -EKEYREJECTED:
	case -EXDEV: case -EMEDIUMTYPE: case -EPERM: case -ENOLINK: case -EDOM:
	case -ESRCH:
		break;
	default:
		abort();
	}
	return 0;
}
