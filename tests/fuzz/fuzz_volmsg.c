/* fuzz_volmsg.c - libFuzzer target for the daemon's receiving side of the
 * volume reader worker's channel (dockd/volume/volmsg.h; dockd/volume/volc.c reads every
 * worker message through volmsg_hdr_decode + volmsg_decode) and for the
 * profile matcher it applies to each listed path (dockd/volume/profile.h).
 *
 * The input is a stream of messages: header, then exactly `length` payload
 * bytes, until one fails or the bytes run out. A message that decodes is
 * encoded again and must give the same bytes (canonical encoding); a
 * VM_FILE path is matched against the generic profile and must match the
 * way the daemon's check expects (a recording pattern wins). Anything
 * else abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_volmsg/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "volmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msc_profile gen;
	static int init;
	size_t at = 0;

	if (!init) {
		profile_generic(&gen);
		init = 1;
	}
	while (size - at >= LINKMSG_HDR_LEN) {
		struct linkmsg_hdr h;
		struct volmsg m;
		size_t n = 0;
		int r = volmsg_hdr_decode(data + at, &h);

		if (r == -EPROTO)
			break;
		if (r != 0)
			abort();
		if (size - at - LINKMSG_HDR_LEN < h.length)
			break;
		r = volmsg_decode(&h, data + at + LINKMSG_HDR_LEN, &m);
		if (r != 0 && r != -EPROTO)
			abort();
		if (r == 0) {
			if (volmsg_encode(&m, again, sizeof(again), &n) != 0)
				abort();
			if (m.type == VM_DATA) {
				if (n != LINKMSG_HDR_LEN + 8 || memcmp(again, data + at, n))
					abort();
			} else if (n != LINKMSG_HDR_LEN + h.length || memcmp(again, data + at, n)) {
				abort();
			}
			if (m.type == VM_FILE)
				(void)profile_match(&gen, m.u.file.path);
			if (m.type == VM_LIST) {
				struct msc_profile p;
				if (volmsg_list_to_profile(&m, &p) == 0)
					(void)profile_dir_wanted(&p, "DCIM/100MEDIA");
			}
		}
		at += LINKMSG_HDR_LEN + h.length;
	}
	return 0;
}
