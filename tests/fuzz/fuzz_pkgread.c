/* fuzz_pkgread.c - libFuzzer target for the court package reader
 * (custody/cmd/pkgread.c; docs/court-package.md): hostile tar or zip input.
 *
 * Invariants (abort() on violation): pkg_read_mem and pkg_check_bag
 * return 0, -EBADMSG or -ENOMEM; a refusal's reason is a NUL-terminated
 * string within its buffer; an accepted package has a top directory and
 * at most PKG_MAX_ENTRIES files, each with a 64-digit hash; no crash, no
 * sanitizer report. Nothing is ever written to the file system.
 * Seeds: tests/fuzz/corpus/fuzz_pkgread/ (small bags made with Python's
 * tarfile and zipfile: valid bags and hostile cases).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pkgread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(int r)
{
	if (r != 0 && r != -EBADMSG && r != -ENOMEM)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg *p = NULL;
	char why[256];
	int r;

	memset(why, 'x', sizeof(why));
	why[sizeof(why) - 1] = 0;
	r = pkg_read_mem(data, size, &p, why, sizeof(why));
	check_rc(r);
	if (r) {
		if (p || !memchr(why, 0, sizeof(why)))
			abort();
		return 0;
	}
	if (!p || !p->bag[0] || p->n > PKG_MAX_ENTRIES)
		abort();
	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->f[i].sha) != 64)
			abort();
	check_rc(pkg_check_bag(p, why, sizeof(why)));
	if (!memchr(why, 0, sizeof(why)))
		abort();
	(void)pkg_count_items(p);
	pkg_free(p);
	return 0;
}
