/*
 * facts.h - the governing facts (who holds which role, which camera is
 * enrolled with which key) are events; the tables custody_users and
 * dock_cameras (both in the ledger's SQLite file) are caches of them.
 *
 * Runtime side (this header): before a row grants anything, the event it
 * names (column changed_seq) must exist, be the kind of event that sets
 * such a row, have outcome ok, and say exactly what the row says. A row
 * written by a direct SQL INSERT has no such event and is refused (deny
 * by default); callers record the refusal and raise their alert as for
 * any other unknown user / unenrolled camera.
 *
 * This check is one indexed read; it cannot see a row that points at an
 * event later undone (an old user_added of a since-removed user): the
 * full replay in `custody verify` (verify_facts.c, classes table-users
 * and table-cameras, docs/custody-ledger.md) catches that too.
 *
 * Details of the events (docs/custody-ledger.md, "Governing facts"):
 *   user_added          {user, role, agency, actor_uid}
 *   permission_changed  {user, role, old_role, agency, actor_uid}
 *   user_removed        {user, old_role, agency, actor_uid}
 *   device_enrolled     {serial, pubkey, officer, model, agency}
 *   device_revoked      {serial, pubkey, agency}
 * Older events without "agency" use the event's agency_id (always the
 * same value).
 *
 * Errors: 0 backed; -EPERM the row has no matching event; -EIO etc. when
 * the ledger cannot be read (also a refusal for the caller).
 */
#ifndef CUSTODY_FACTS_H
#define CUSTODY_FACTS_H

#include <stdint.h>

#include "ledger.h"

/* The custody_users row (name, role, agency, changed_seq). */
int facts_user_backed(struct cust_ledger *l, const char *name,
		      const char *role, const char *agency, uint64_t seq);

/* An enrolled dock_cameras row (serial, pubkey hex, officer, model,
 * agency, changed_seq). */
int facts_camera_backed(struct cust_ledger *l, const char *serial,
			const char *pubkey_hex, const char *officer,
			const char *model, const char *agency, uint64_t seq);

#endif
