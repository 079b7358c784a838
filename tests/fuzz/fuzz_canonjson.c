/* fuzz_canonjson.c - libFuzzer target for custody/canonjson.c, the
 * canonical details rule every event must meet (docs/custody-ledger.md
 * "details"), differential against jansson, which writes the details:
 *  - accepted => jansson parses it and JSON_COMPACT | JSON_SORT_KEYS
 *    writes back exactly the same bytes;
 *  - jansson parses it to an object without reals, at most
 *    CUST_JSON_MAX_DEPTH deep, and writes back the same bytes, which hold
 *    no DEL (0x7F: no event text may) => accepted.
 * Invariants are checked with abort(). Seeds: tests/fuzz/corpus/fuzz_canonjson/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canonjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Depth of v (an object or array counts one level); -1 if it holds a real. */
static int depth(const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;
	int d = 0, c;

	if (json_is_real(v))
		return -1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			if ((c = depth(x)) < 0)
				return -1;
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if ((c = depth(x)) < 0)
				return -1;
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *out = NULL;
	json_t *j;
	int acc, same = 0, d = -1;

	if (!s || size > 8192) {
		free(s);
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	acc = cust_json_canonical_object(s, size);
	j = memchr(s, 0, size) ? NULL : json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	if (j && json_is_object(j)) {
		out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		same = out && !strcmp(out, s);
		d = depth(j);
	}
	if (acc && !same)
		abort();	/* accepted something jansson would not write */
	if (same && d >= 1 && d <= CUST_JSON_MAX_DEPTH && !memchr(s, 0x7f, size) && !acc)
		abort();	/* refused what the writer produces */
	free(out);
	json_decref(j);
	free(s);
	return 0;
}
