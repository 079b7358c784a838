/* profile.h - camera profiles: how a USB mass-storage body camera lays out
 * its volume, as data in dockd.conf (docs/dockd-config.md, "Writing a
 * camera profile").
 *
 *	[profile NAME]
 *	recordings = DCIM/ * / *.MP4   (glob patterns, comma-separated, may repeat;
 *	sidecars   = DCIM/ * / *.GPS    written here with spaces only because this
 *	                                is a C comment)
 *	file_tz    = +01:00                         (UTC offset of FAT file times)
 *	id_file    = MISC/DEVICE.ID                 (where the camera's id is read)
 *	delete_after_release = yes      (or: release = delete | keep)
 *	max_depth  = 4
 *	max_files  = 10000
 *
 * A pattern is a path relative to the volume's root, components separated
 * by '/', each matched with fnmatch(3) (FNM_CASEFOLD: FAT names are case
 * insensitive); '*' never crosses a '/', there is no '**'. A pattern has
 * at most PROFILE_DEPTH_MAX components, no "." or ".." component, no
 * leading '/'. The profile "generic-dcim" is built in (profile_generic())
 * unless the file defines one of that name.
 *
 * The matching functions are used by the volume reader worker (volw.c) to
 * decide which directories it enters and which files it lists, and again
 * by the daemon on what the worker lists (it trusts no path it is sent).
 * Functions return 0 or -errno; out-params untouched on failure.
 */
#ifndef DOCKD_PROFILE_H
#define DOCKD_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_NAME_MAX 32
#define PROFILE_PATTERNS_MAX 8     /* per kind */
#define PROFILE_PATTERN_MAX 127    /* bytes */
#define PROFILE_DEPTH_MAX 8        /* components of a path */
#define PROFILE_FILES_MAX 100000   /* cap of max_files */
#define PROFILE_PATH_MAX 1023      /* a relative path on the volume */
#define PROFILE_ID_FILE_MAX 127

enum profile_kind { PROFILE_NONE = 0, PROFILE_RECORDING = 1, PROFILE_SIDECAR = 2,
		    PROFILE_ID = 3 /* the id_file */ };

struct msc_profile {
	char name[PROFILE_NAME_MAX + 1];
	char rec[PROFILE_PATTERNS_MAX][PROFILE_PATTERN_MAX + 1];
	uint8_t n_rec;
	char side[PROFILE_PATTERNS_MAX][PROFILE_PATTERN_MAX + 1];
	uint8_t n_side;
	int32_t tz_offset_s;          /* local file time = UTC + this */
	char id_file[PROFILE_ID_FILE_MAX + 1]; /* "" = none */
	bool delete_after_release;
	uint8_t max_depth;            /* 1 .. PROFILE_DEPTH_MAX */
	uint32_t max_files;           /* 1 .. PROFILE_FILES_MAX */
	bool builtin;                 /* profile_generic() made it */
};

/* The built-in "generic-dcim" profile (docs/dockd-config.md). */
void profile_generic(struct msc_profile *p);

/* Start a profile named name (a protocol-id-like name: [A-Za-z0-9._-],
 * 1..PROFILE_NAME_MAX) with the defaults: no patterns, UTC, no id file,
 * delete_after_release yes, max_depth 4, max_files 10000. -EINVAL. */
int profile_init(struct msc_profile *p, const char *name);

/* One key of a [profile NAME] section; *why says what is wrong. -ENOKEY
 * for an unknown key, -EINVAL for a bad value. */
int profile_key(struct msc_profile *p, const char *k, const char *v, const char **why);

/* A complete profile: at least one recording pattern. -EINVAL. */
int profile_check(const struct msc_profile *p, const char **why);

/* Whether a pattern is acceptable (see above). */
bool profile_pattern_ok(const char *pat);

/* Whether a volume path name component may be used at all: 1..255 bytes,
 * not "." or "..", no "..", no '/', '\\', ':' or control byte. */
bool profile_name_ok(const char *name);

/* What the relative file path rel (components joined by '/') is under p:
 * PROFILE_RECORDING, PROFILE_SIDECAR, PROFILE_ID (the id_file, matched
 * case-insensitively) or PROFILE_NONE. A recording pattern wins over a
 * sidecar one, a sidecar one over the id file. */
enum profile_kind profile_match(const struct msc_profile *p, const char *rel);

/* Whether a directory at rel (depth components, "" for the root) may
 * hold a match: its components match the leading components of some
 * pattern that is longer than it. */
bool profile_dir_wanted(const struct msc_profile *p, const char *rel);

#endif
