/*
 * cosign.c - a witness stand-in for tests: the real cosignature code
 * (custody/cosig.h), none of a witness's state or checks.
 *
 *   cosign keygen NAME KEY.pem VKEY      new witness key; VKEY gets the
 *                                        witness vkey line (type 0x04)
 *   cosign sign NAME KEY.pem NOTE [TS]   print the cosignature line for
 *                                        the signed checkpoint in NOTE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agencynote.h"
#include "cosig.h"

static int usage(void)
{
	fputs("usage: cosign keygen NAME KEY VKEY | cosign sign NAME KEY NOTE [TS]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct edkey *k = NULL;
	struct ckpt_vkey v;
	char vk[CKPT_MAX_VKEY], note[CKPT_MAX_NOTE + 1], line[COSIG_MAX_LINE];
	size_t len, tl, sigs;
	FILE *f;
	int r;

	if (argc >= 5 && !strcmp(argv[1], "keygen")) {
		if ((r = edkey_generate(&k)) || (r = edkey_save_private(k, argv[3])) ||
		    (r = cosig_vkey_from_edkey(argv[2], k, &v)) ||
		    (r = cosig_vkey_format(&v, vk, sizeof(vk))))
			goto fail;
		if (!(f = fopen(argv[4], "wx")) || fprintf(f, "%s\n", vk) < 0 || fclose(f)) {
			r = -EIO;
			goto fail;
		}
		edkey_free(k);
		return 0;
	}
	if (argc < 5 || argc > 6 || strcmp(argv[1], "sign"))
		return usage();
	if ((r = edkey_load_private(argv[3], &k)) ||
	    (r = agn_read_file(argv[4], note, sizeof(note), &len)) ||
	    (r = cosig_note_text(note, len, &tl, &sigs)) ||
	    (r = cosig_sign(k, argv[2], note, tl, argc == 6 ? strtoull(argv[5], NULL, 10) :
			    (uint64_t)time(NULL), line, sizeof(line), NULL)))
		goto fail;
	fputs(line, stdout);
	edkey_free(k);
	return 0;
fail:
	fprintf(stderr, "cosign: %s\n", checkpoint_strerror(r));
	edkey_free(k);
	return 1;
}
