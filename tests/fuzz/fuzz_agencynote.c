/* fuzz_agencynote.c - libFuzzer target for agencynote.h and signote.h
 * (the agency's signed statements: untrusted notes from a ledger's
 * details or an auditor's file).
 *
 * Each input is tried as:
 *   1. a signed statement of each kind, opened against a fixed agency
 *      vkey (the key that signed the seeds; its private key is not kept:
 *      new signed seeds need a new key and an update of FUZZ_AGENCY);
 *   2. an unsigned statement text of each kind;
 *   3. a signed note (signote_verify).
 * Invariants (abort() on violation):
 *   - every failure is a documented error code;
 *   - a parsed statement formats back (agn_*_text) to exactly the text
 *     that was parsed (signed): the grammar is canonical, nothing
 *     unsigned or ambiguous reaches a caller;
 *   - a verified note's text obeys the text rules.
 * Seeds: tests/fuzz/corpus/fuzz_agencynote/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agencynote.h"
#include "signote.h"

#define FUZZ_AGENCY "fuzz-agency/agency+5405c824+Ab5MSQ58zcGUaAXH0issl+eF5sWWSIUO6JI1wD5LXMjs"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ckpt_vkey agency;
static int ready;

static void check_err(int r)
{
	switch (r) {
	case 0: case -EINVAL: case -E2BIG: case -EBADMSG: case -ENOKEY:
	case -EKEYREJECTED: case -EMEDIUMTYPE: case -EXDEV:
		return;
	default:
		abort();
	}
}

/* text[0..len) parsed into a statement: formatting it must give it back. */
static void same(const char *text, size_t len, int r, const char *back, size_t blen)
{
	if (r != 0 || blen != len || memcmp(text, back, len))
		abort();
}

static void try_texts(const char *t, size_t n)
{
	static char back[AGN_MAX_NOTE * 2];
	struct agn_cert c;
	struct agn_recipients p;
	struct agn_witnesses w;
	size_t bl = 0;
	int r;

	r = agn_cert_parse(t, n, &c);
	check_err(r);
	if (r == 0)
		same(t, n, agn_cert_text(&c, back, sizeof(back), &bl), back, bl);
	r = agn_recipients_parse(t, n, &p);
	check_err(r);
	if (r == 0)
		same(t, n, agn_recipients_text(&p, back, sizeof(back), &bl), back, bl);
	r = agn_witnesses_parse(t, n, &w);
	check_err(r);
	if (r == 0)
		same(t, n, agn_witnesses_text(&w, back, sizeof(back), &bl), back, bl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct agn_cert c;
	struct agn_recipients p;
	struct agn_witnesses w;
	size_t tl = 0;
	int r;

	if (!ready) {
		if (ckpt_vkey_parse(FUZZ_AGENCY, strlen(FUZZ_AGENCY), &agency))
			abort();
		ready = 1;
	}
	check_err(agn_open_cert(s, size, &agency, &c));
	check_err(agn_open_recipients(s, size, &agency, &p));
	check_err(agn_open_witnesses(s, size, &agency, &w));
	try_texts(s, size);
	r = signote_verify(s, size, &agency, 1, &tl, NULL);
	check_err(r);
	if (r == 0) {
		if (!signote_text_valid(s, tl))
			abort();
		try_texts(s, tl);
	}
	return 0;
}
