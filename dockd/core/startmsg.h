/* startmsg.h - start-up refusals that name the file, the cause and the fix
 * (issue 15: "Protocol error" for a private key given as recipient,
 * "No such file or directory" for a missing socket group, a vault that
 * only failed once a camera docked).
 *
 * Each function writes one line into err (always NUL-terminated) and
 * returns the errno-style code the caller should fail with.
 */
#ifndef DOCKD_STARTMSG_H
#define DOCKD_STARTMSG_H

#include <stddef.h>

/* agencykey_load_public(key) failed with r: say why in the agency's terms. */
int startmsg_recipient(const char *config, const char *key, int r, char *err, size_t errlen);

/* The query socket could not be set up (qconfig_service or qservice_open
 * returned r): a missing socket_group, a missing or unwritable directory. */
int startmsg_query(const char *config, const char *socket, const char *group, int r,
		   char *err, size_t errlen);

/* dockd can create and remove a file in vault_dir (a read-only mount, e.g.
 * ProtectSystem=strict without ReadWritePaths, or a wrong owner refuses
 * the start). 0 or -errno with err set. */
int startmsg_vault_writable(const char *config, const char *vault_dir, char *err,
			    size_t errlen);

#endif
