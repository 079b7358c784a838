/* admin_storage.h - the --storage forms of enroll and revoke, and the
 * storage rows of `dockd cameras` (admin_storage.c, enrol_msc.h). */
#ifndef DOCKD_ADMIN_STORAGE_H
#define DOCKD_ADMIN_STORAGE_H

#include <stdbool.h>

#include <jansson.h>

#include "ledger.h"

/* true when argv (argv[0] the subcommand) has a --storage option. */
bool admin_storage_wanted(int argc, char **argv);
/* Same contract as admin_enroll / admin_revoke (admin.h). */
int admin_storage_enroll(const char *config, int argc, char **argv);
int admin_storage_revoke(const char *config, int argc, char **argv);
/* Print the storage rows (arr NULL: text lines in the `cameras` table
 * format, kind "storage" last) or append them to arr as objects
 * {kind, vid, pid, serial, status, officer, profile, agency, changed_seq}. */
int admin_storage_list(struct cust_ledger *l, json_t *arr);

#endif
