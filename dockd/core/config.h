/* config.h - dockd's configuration file (INI, parsed with libinih).
 *
 * One file serves dockd and the `custody` command. dockd owns the sections
 * [dock], [encryption], [retention], [storage] and [s3] (config_storage.c,
 * an [s3] section is refused unless the target is s3://); the custody library owns
 * its own sections and parses them itself (custody/config.h). Every key,
 * default and unit is documented in docs/dockd-config.md.
 *
 * Errors name the file, the line and the key:
 *     dockd.conf:12: [dock] max_cameras: must be between 1 and 64
 * and the whole file is rejected: a dock never runs on a half-read config.
 *
 * Usage:
 *     struct dock_config c;
 *     char err[256];
 *     if (dock_config_load("/etc/evidence-dock/dockd.conf", &c, err, sizeof(err)) < 0)
 *             die("%s", err);
 *     ...
 *     dock_config_free(&c);
 */
#ifndef DOCKD_CONFIG_H
#define DOCKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "retention.h"

#define DOCK_CONFIG_PATH_MAX 512
#define DOCK_CONFIG_MAX_RECIPIENTS 8
#define DOCK_CONFIG_MAX_CATEGORIES 32
#define DOCK_CONFIG_MAX_USB_IDS 16
#define DOCK_CONFIG_MAX_WINDOWS 8
#define DOCK_CONFIG_MAX_WITNESSES 8
#define DOCK_CONFIG_MAX_PROFILES 8 /* [profile NAME] sections, built-in included */
#define DOCK_CONFIG_FILE_MAX (64 * 1024) /* bytes */
#define DOCK_CONFIG_LINE_MAX 199         /* libinih's line buffer, minus NUL */

enum dock_release_policy {
	DOCK_RELEASE_STORAGE = 0, /* camera deletes once the storage target verified a copy */
	DOCK_RELEASE_LOCAL = 1,   /* ... once the durable local vault copy is verified */
};

enum dock_log_level { DOCK_LOG_ERROR = 0, DOCK_LOG_WARNING, DOCK_LOG_INFO, DOCK_LOG_DEBUG };

/* An allowed upload time window, local time, minutes since midnight.
 * start > end wraps midnight (19:00-07:00). */
struct dock_window {
	uint16_t start_min, end_min;
};

struct dock_usb_id {
	uint16_t vid, pid;
};

struct dock_config {
	char path[DOCK_CONFIG_PATH_MAX]; /* the file this came from */

	/* [dock] */
	char dock_id[65];
	char agency_id[65];
	char state_dir[DOCK_CONFIG_PATH_MAX];
	char vault_dir[DOCK_CONFIG_PATH_MAX];
	char key_path[DOCK_CONFIG_PATH_MAX];
	char cert_path[DOCK_CONFIG_PATH_MAX];
	char camera_socket[DOCK_CONFIG_PATH_MAX]; /* "" = no simulated cameras */
	bool usb;
	struct dock_usb_id usb_ids[DOCK_CONFIG_MAX_USB_IDS];
	size_t n_usb_ids;
	bool usb_storage; /* detect USB mass-storage cameras (mscwatch.h); false */
	/* volume_driver: false = fuse (the default, userspace FUSE driver);
	 * true = kernel (vfat/exfat in the reader's private mount namespace,
	 * volkern.h; dockd must run as root). Changes only at restart. */
	bool volume_kernel;
	uint32_t max_cameras;
	enum dock_release_policy release_policy;
	bool clock_correct;
	uint32_t max_clock_drift_s;
	uint32_t min_free_mb; /* stop pulling below this much free space */
	char alert_command[DOCK_CONFIG_PATH_MAX];
	enum dock_log_level log_level;
	uint32_t sync_interval_mb; /* fdatasync the partial file every N MiB (default 64) */
	uint32_t release_wait_s;   /* wait for this docking's uploads before releasing (10) */
	uint32_t idle_grace_ms;    /* --exit-when-idle: quiet time before exiting (500) */
	/* camera-link limits (docs/protocol.md 10): a session ends when DATA
	 * arrives slower than min_rate_kib_s over rate_window_s of waiting
	 * (64, 30; 0: off), or when it lasted session_deadline_s (14400; 0: off) */
	uint32_t min_rate_kib_s;
	uint32_t rate_window_s;
	uint32_t session_deadline_s;

	/* [encryption] */
	char recipients[DOCK_CONFIG_MAX_RECIPIENTS][DOCK_CONFIG_PATH_MAX];
	size_t n_recipients;
	char recipient_policy[DOCK_CONFIG_PATH_MAX]; /* agency-signed recipients/v1 ("" none) */
	char agency_vkey[DOCK_CONFIG_PATH_MAX];      /* its key, for the dock's own check */
	uint32_t chunk_size;

	/* [retention]: custody/retention.h (shared with the query service) */
	struct cust_retention retention;

	/* [storage] */
	char storage_target[DOCK_CONFIG_PATH_MAX]; /* file:///path or s3://bucket[/prefix] */
	uint32_t parallel_uploads;  /* recordings moved to the target at once (2) */
	uint32_t bandwidth_mbit;    /* cap over all uploads, Mbit/s (10^6); 0 = none;
				     * applied by the s3:// target (read at store_open) */
	struct dock_window windows[DOCK_CONFIG_MAX_WINDOWS]; /* none = any time */
	size_t n_windows;
	/* categories uploaded first, in this order; others after, oldest first.
	 * windows, priority, upload_checkpoints apply at SIGHUP (storage.h) */
	char priority[DOCK_CONFIG_MAX_CATEGORIES][129];
	size_t n_priority;
	bool upload_checkpoints;    /* put each custody checkpoint on the target (true) */

	/* [s3] (only with an s3:// target) */
	char s3_endpoint[257];      /* https://host[:port]; http:// only to loopback */
	char s3_region[64];         /* "us-east-1" */
	bool s3_path_style;         /* addressing = path (true) / virtual */
	char s3_ca_file[DOCK_CONFIG_PATH_MAX];          /* "" = system CA store */
	char s3_credentials_file[DOCK_CONFIG_PATH_MAX]; /* required; 0600, owned by the service */
	uint32_t s3_part_size_mb;   /* 16; rounded down to whole encrypted chunks, >= 5 MiB */
	uint32_t s3_parallel_parts; /* parts in flight per upload (4) */
	bool s3_read_back;          /* GET and hash after upload before "verified" (true) */
	char s3_lock_mode[16];      /* "" (none) / "COMPLIANCE" / "GOVERNANCE" */
	bool s3_lock_required;      /* refuse to upload to a bucket without Object Lock */
	uint32_t s3_max_attempts;   /* per request (8) */
	uint32_t s3_low_speed_time_s; /* a transfer under 1 KiB/s this long is cut (30) */

	/* [witness] (config_witness.c; docs/witness.md) */
	struct dock_witness {
		char url[257];      /* http(s)://host:port[/prefix] */
		char vkey[300];     /* the witness's cosignature vkey (type 0x04) */
	} witnesses[DOCK_CONFIG_MAX_WITNESSES];
	size_t n_witnesses;
	uint32_t witness_timeout_s; /* per request (10) */
	uint32_t witness_retry_s;   /* a witness down or refusing is asked again after (30) */
	/* [fixity] (config_fixity.c; dockd/fixity.h) */
	uint32_t fixity_interval_s;   /* between scheduled audits (86400); 0 = none */
	uint32_t fixity_items;        /* items per audit run (1000) */
	uint64_t fixity_bytes_per_s;  /* read rate limit (50 MiB/s); 0 = unlimited */
	uint32_t fixity_max_pause_s;  /* a run waits for ingest at most this in all (3600) */
	uint64_t fixity_busy_bytes_per_s; /* then its rate while ingest runs (4 MiB/s) */

	/* [profile NAME] (config_profile.c, profile.h): camera profiles of USB
	 * mass-storage cameras; profiles[0] is the built-in generic-dcim unless
	 * the file redefines it */
	struct msc_profile profiles[DOCK_CONFIG_MAX_PROFILES];
	size_t n_profiles;

	/* [vault] (config_vault.c; local purge and space, docs/operations.md) */
	int32_t keep_days;          /* local keep window after stored_local (30; -1 never) */
	struct dock_keep_rule {     /* keep.<category> = days (-1 never by age) */
		char category[129];
		int32_t days;
	} keep[DOCK_CONFIG_MAX_CATEGORIES];
	size_t n_keep;
	struct dock_free_mark {
		uint32_t value;     /* MiB, or percent of the filesystem */
		bool percent;
	} purge_low, purge_high;    /* purge below low until high is free (10%, 20%) */
	bool keep_held_local;       /* never purge an item under legal hold (true) */
	uint32_t purge_interval_s;  /* keep-window pass every N s (600) */
	uint32_t state_min_free_mb; /* state_dir below this: pulling pauses (256; 0 off) */
	uint32_t purge_max_defer_s; /* keep-window passes wait for ingest at most (3600) */
};

/* Fill *out with defaults, then read path over them. On failure returns
 * -EINVAL (bad content), -ENOENT/-EACCES/... (file), -EFBIG (too large),
 * writes one line into err and leaves *out untouched. */
int dock_config_load(const char *path, struct dock_config *out, char *err, size_t errlen);

/* Same, from a string (for tests); name is used in messages. */
int dock_config_load_string(const char *name, const char *text, struct dock_config *out,
			    char *err, size_t errlen);

/* Retention in days for a category (-1 = indefinite), matched
 * case-insensitively; unknown categories get the [retention]
 * uncategorized value (*known = 0; may be NULL) - the caller records and
 * alerts that (custody/retention.h). */
int32_t dock_config_retention_days(const struct dock_config *c, const char *category, int *known);

/* Local keep window in days of a category (case-insensitive match of
 * [vault] keep.<category>, else [vault] keep); -1 = never purged by age. */
int32_t dock_config_keep_days(const struct dock_config *c, const char *category);

/* A free-space mark in bytes for a filesystem of fs_bytes. */
uint64_t dock_config_mark_bytes(const struct dock_free_mark *m, uint64_t fs_bytes);

/* Upload windows at local minute-of-day minute (0..1439): true when an
 * upload may start now (always, with no windows configured); otherwise
 * *wait_min = minutes until the next window opens (1..1439). */
bool dock_config_upload_window(const struct dock_config *c, unsigned minute, unsigned *wait_min);

/* Nothing in struct dock_config is heap-allocated today; kept so callers
 * do not change when that does. */
void dock_config_free(struct dock_config *c);

/* The profile called name, or NULL. */
const struct msc_profile *dock_config_profile(const struct dock_config *c, const char *name);

#endif
