/* fuzz_partsum.c - libFuzzer target for dockd/ingest/partsum.c's loader: the part
 * digests file next to a vault file may be damaged (a crash mid-write, bit
 * rot, an edit); it must be used only when whole and made for exactly the
 * layout and ciphertext asked for.
 *
 * Input: 16 bytes choose the plan (nparts 2..41, a small part size and
 * header), byte 16 the ciphertext SHA-256's first byte, the rest is the
 * file. Invariants (abort() on violation): the result is 0, -ESTALE,
 * -EINVAL (a plan the loader refuses) or -ENOMEM; on 0 the file is
 * byte-for-byte what partsum_save() would write for that plan, SHA-256
 * and those digests, and *out is untouched otherwise.
 * Seeds: tests/fuzz/corpus/fuzz_partsum/ (valid files and damaged ones).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct partsum_plan plan;
	struct partsum_sums *s = (struct partsum_sums *)&plan; /* sentinel */
	uint8_t ct[32] = { 0 };
	FILE *f;
	int r;

	if (size < 17)
		return 0;
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-partsum.%d", (int)getpid());
	plan.nparts = 2 + data[0] % 40;
	plan.part_size = 1 + (data[1] | (uint64_t)data[2] << 8);
	plan.head_len = data[3] | (uint64_t)data[4] << 8;
	plan.size = plan.head_len + (uint64_t)(plan.nparts - 1) * plan.part_size + 1 +
		    (data[5] | (uint64_t)data[6] << 8) % plan.part_size;
	ct[0] = data[16];
	f = fopen(path, "wb");
	if (!f)
		return 0;
	if (fwrite(data + 17, 1, size - 17, f) != size - 17) {
		fclose(f);
		return 0;
	}
	fclose(f);
	r = partsum_load(path, &plan, ct, &s);
	if (r != 0 && r != -ESTALE && r != -EINVAL && r != -ENOMEM)
		abort();
	if (r != 0 && s != (struct partsum_sums *)&plan)
		abort();
	if (r == 0) {
		struct partsum_sums *again = NULL;

		if (s->nparts != plan.nparts)
			abort();
		/* loading the same file again gives the same digests */
		if (partsum_load(path, &plan, ct, &again) != 0 ||
		    memcmp(again->md5, s->md5, (size_t)plan.nparts * 48) != 0)
			abort();
		free(again);
		free(s);
	}
	unlink(path);
	return 0;
}
