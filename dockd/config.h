/* config.h - dockd's configuration file (INI, parsed with libinih).
 *
 * One file serves dockd and the `custody` command. dockd owns the sections
 * [dock], [encryption], [retention] and [storage]; the custody library owns
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

#define DOCK_CONFIG_PATH_MAX 512
#define DOCK_CONFIG_MAX_RECIPIENTS 8
#define DOCK_CONFIG_MAX_CATEGORIES 32
#define DOCK_CONFIG_MAX_USB_IDS 16
#define DOCK_CONFIG_FILE_MAX (64 * 1024) /* bytes */
#define DOCK_CONFIG_LINE_MAX 199         /* libinih's line buffer, minus NUL */

enum dock_release_policy {
	DOCK_RELEASE_STORAGE = 0, /* camera deletes once the storage target verified a copy */
	DOCK_RELEASE_LOCAL = 1,   /* ... once the durable local vault copy is verified */
};

enum dock_log_level { DOCK_LOG_ERROR = 0, DOCK_LOG_WARNING, DOCK_LOG_INFO, DOCK_LOG_DEBUG };

/* Minimum retention of one event category. days == -1: keep indefinitely. */
struct dock_retention_rule {
	char category[129];
	int32_t days;
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

	/* [encryption] */
	char recipients[DOCK_CONFIG_MAX_RECIPIENTS][DOCK_CONFIG_PATH_MAX];
	size_t n_recipients;
	uint32_t chunk_size;

	/* [retention] */
	struct dock_retention_rule retention[DOCK_CONFIG_MAX_CATEGORIES];
	size_t n_retention;
	int32_t uncategorized_days;

	/* [storage] */
	char storage_target[DOCK_CONFIG_PATH_MAX]; /* file:///path (s3:// later) */
};

/* Fill *out with defaults, then read path over them. On failure returns
 * -EINVAL (bad content), -ENOENT/-EACCES/... (file), -EFBIG (too large),
 * writes one line into err and leaves *out untouched. */
int dock_config_load(const char *path, struct dock_config *out, char *err, size_t errlen);

/* Same, from a string (for tests); name is used in messages. */
int dock_config_load_string(const char *name, const char *text, struct dock_config *out,
			    char *err, size_t errlen);

/* Minimum retention in days for a category (-1 = indefinite); unknown
 * categories get the [retention] uncategorized value. */
int32_t dock_config_retention_days(const struct dock_config *c, const char *category);

/* Nothing in struct dock_config is heap-allocated today; kept so callers
 * do not change when that does. */
void dock_config_free(struct dock_config *c);

#endif
