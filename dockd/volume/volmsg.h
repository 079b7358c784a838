/* volmsg.h - messages between dockd and its volume reader worker (volw.c),
 * the sandboxed process that walks a USB mass-storage camera's volume
 * (docs/architecture.md, "The volume reader worker").
 *
 * Framing is linkmsg's (protocol/linkmsg.h): an 8-byte header version:u8
 * (VOLMSG_VERSION) type:u8 reserved:u16 (0) length:u32 LE, then the
 * payload. VM_DATA is offset:u64 + at most PROTO_MAX_DATA bytes (the
 * layout of linkmsg version 2's DATA; the camera link's version 3 sends a
 * ring descriptor instead); every other payload is at most LINKMSG_SMALL_MAX.
 * Strings are u16 length + bytes, no NUL, with a cap per field. A path is
 * a volume-relative path whose components pass profile_name_ok().
 * Nothing a worker sends is signed: a file it lists is the camera's
 * unsigned claim, checked again by the daemon (volc.c).
 *
 * Results: 0, -EPROTO (malformed), -EINVAL (bad argument), -ENOSPC
 * (buffer too small). Out-parameters untouched on failure.
 */
#ifndef DOCKD_VOLMSG_H
#define DOCKD_VOLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "linkmsg.h"
#include "profile.h"

/* The volume channel's own version (linkmsg's was 2 when they were one;
 * it moved on to 3 for the camera link's ring, this channel did not). */
#define VOLMSG_VERSION 2

/* patterns in a VM_LIST: recordings, sidecars and the id file */
#define VOLMSG_PATTERNS_MAX (2 * PROFILE_PATTERNS_MAX + 1)

enum volmsg_type {
	/* daemon -> worker */
	VM_LIST = 96,      /* max_depth:u8 max_files:u32 n:u8 (kind:u8 pattern:str[127])*n;
			    * kind 1 recording, 2 sidecar, 3 the id file (at most one) */
	VM_READ = 97,      /* index:u32 offset:u64 length:u64 uncached:u8 */
	VM_BYE = 98,       /* empty */
	VM_DELETE = 99,    /* index:u32 - only a worker started read-write (release by
			    * deletion, volsess.h) obeys it; a read-only one exits 65 */
	/* worker -> daemon */
	VM_DATA = 68,      /* offset:u64 bytes */
	VM_FILE = 112,     /* index:u32 kind:u8 size:u64 mtime_s:i64 path:str[1023] */
	VM_SKIP = 113,     /* why:u8 path:str[1023] */
	VM_LIST_DONE = 114, /* result:i32 files:u32 */
	VM_READ_DONE = 115, /* result:i32 */
	VM_DELETE_DONE = 116, /* result:i32 */
};

/* Why a worker left something out (VM_SKIP). */
enum volmsg_skip {
	VS_SYMLINK = 1, VS_NOT_REGULAR = 2, VS_BAD_NAME = 3, VS_TOO_DEEP = 4, VS_UNREADABLE = 5,
	VS_MAX_ = 5
};

const char *volmsg_skip_name(uint8_t why);

struct volmsg {
	uint8_t type;
	union {
		struct { uint8_t max_depth; uint32_t max_files; uint8_t n;
			 uint8_t kind[VOLMSG_PATTERNS_MAX];
			 char pat[VOLMSG_PATTERNS_MAX][PROFILE_PATTERN_MAX + 1]; } list;
		struct { uint32_t index; uint64_t offset, length; uint8_t uncached; } read;
		struct { uint64_t offset; uint32_t len; const uint8_t *data; } data;
		struct { uint32_t index; uint8_t kind; uint64_t size; int64_t mtime_s;
			 char path[PROFILE_PATH_MAX + 1]; } file;
		struct { uint8_t why; char path[PROFILE_PATH_MAX + 1]; } skip;
		struct { int32_t result; uint32_t files; } done;
		int32_t result; /* VM_READ_DONE */
	} u;
};

/* Check a header: version, a volmsg type, length within its cap. */
int volmsg_hdr_decode(const uint8_t buf[LINKMSG_HDR_LEN], struct linkmsg_hdr *out);

/* Decode a payload of h->length bytes (VM_DATA: data points into p). */
int volmsg_decode(const struct linkmsg_hdr *h, const uint8_t *p, struct volmsg *out);

/* Encode m into buf. VM_DATA: only header + offset (16 bytes); the header's
 * length covers u.data.len more bytes the caller sends after them. */
int volmsg_encode(const struct volmsg *m, uint8_t *buf, size_t cap, size_t *len_out);

/* VM_LIST for profile p. */
void volmsg_list_from_profile(const struct msc_profile *p, struct volmsg *m);

/* The profile a VM_LIST describes (name "worker"), for the worker. */
int volmsg_list_to_profile(const struct volmsg *m, struct msc_profile *p);

#endif
