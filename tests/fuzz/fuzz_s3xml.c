/* fuzz_s3xml.c - libFuzzer target for dockd/store/s3/s3xml.c (S3 reply bodies,
 * hostile input from the storage server or anything in between).
 *
 * Every input goes through every parser. Invariants (abort() on violation):
 *   - the result is 0, -ENOMSG (an <Error> document) or -EPROTO (or
 *     -ENOMEM); nothing else, no crash, no sanitizer report;
 *   - on success every string output is NUL-terminated inside its field,
 *     item counts are within the capacity given, ListParts numbers ascend
 *     and lie in 1..10000;
 *   - on failure the outputs are untouched (sentinel bytes stay).
 * Seeds: tests/fuzz/corpus/fuzz_s3xml/ - rgw-*.xml are real Ceph RGW 16.2
 * replies, aws-*.xml follow AWS's documented examples, edge-*.xml are
 * hostile cases (DTDs, entities, deep nesting, bad numbers, order).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 8

static void check_rc(int r)
{
	if (r != 0 && r != -ENOMSG && r != -EPROTO && r != -ENOMEM)
		abort();
}

static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

static void untouched(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != 0xA5)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *x = (const char *)data;
	static struct s3_part parts[CAP];
	static struct s3_upload ups[CAP];
	static struct s3_tag tags[CAP];
	static char id[S3_UPLOAD_ID_MAX + 1], nk[S3_KEY_MAX + 1], ni[S3_UPLOAD_ID_MAX + 1];
	struct s3xml_error e;
	char etag[S3_ETAG_MAX + 1];
	size_t n;
	bool tr, en;
	unsigned mk;
	int r;

	memset(&e, 0, sizeof(e));
	r = s3xml_error(x, size, &e);
	check_rc(r);
	check_str(e.code, sizeof(e.code));
	check_str(e.message, sizeof(e.message));
	check_str(e.request_id, sizeof(e.request_id));

	memset(id, 0xA5, sizeof(id));
	r = s3xml_initiate(x, size, id, &e);
	check_rc(r);
	if (r == 0)
		check_str(id, sizeof(id));
	else
		untouched(id, sizeof(id));

	memset(parts, 0xA5, sizeof(parts));
	r = s3xml_list_parts(x, size, parts, CAP, &n, &tr, &mk, &e);
	check_rc(r);
	if (r == 0) {
		if (n > CAP)
			abort();
		for (size_t i = 0; i < n; i++) {
			check_str(parts[i].etag, sizeof(parts[i].etag));
			if (parts[i].number < 1 || parts[i].number > S3_MAX_PARTS ||
			    (i && parts[i].number <= parts[i - 1].number))
				abort();
		}
	} else {
		untouched(parts, sizeof(parts));
	}

	memset(ups, 0xA5, sizeof(ups));
	r = s3xml_list_uploads(x, size, ups, CAP, &n, &tr, nk, ni, &e);
	check_rc(r);
	if (r == 0) {
		if (n > CAP)
			abort();
		check_str(nk, sizeof(nk));
		check_str(ni, sizeof(ni));
		for (size_t i = 0; i < n; i++) {
			check_str(ups[i].key, sizeof(ups[i].key));
			check_str(ups[i].upload_id, sizeof(ups[i].upload_id));
		}
	} else {
		untouched(ups, sizeof(ups));
	}

	r = s3xml_complete(x, size, etag, &e);
	check_rc(r);
	if (r == 0)
		check_str(etag, sizeof(etag));

	memset(tags, 0xA5, sizeof(tags));
	r = s3xml_tagging(x, size, tags, CAP, &n, &e);
	check_rc(r);
	if (r == 0) {
		if (n > CAP)
			abort();
		for (size_t i = 0; i < n; i++) {
			check_str(tags[i].key, sizeof(tags[i].key));
			check_str(tags[i].value, sizeof(tags[i].value));
		}
	} else {
		untouched(tags, sizeof(tags));
	}

	r = s3xml_object_lock(x, size, &en, &e);
	check_rc(r);
	return 0;
}
