#!/bin/sh
# Local vault purge (issue 12, "Vault space"; docs/operations.md).
#   A. keep window, with time moved on by libfaketime (faketime -f +3d):
#      a verified copy past its window is purged (local_purged, why
#      keep_window, the ciphertext hash, the storage_verified it relied
#      on; `dockd purge --dry-run` lists it first and changes nothing);
#      one in a category kept indefinitely (matched case-
#      insensitively), one under legal hold (hold_set appended with
#      `custody append`) and one not verified in storage stay.
#   C. crash between the event and the unlink (the unlink fails through
#      libfiu, as if dockd died there): the next start removes the file;
#      a damaged vault copy is never purged (alerted); a vault file missing
#      without an event is alerted as a finding.
# Vault space and releases while paused: dockd_purge_space.sh; weeks of
# simulated time: dockd_purge_soak.sh.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
cleanup() { kill $(jobs -p) 2>/dev/null; umount "$T/small" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
WAIT=60
DK_RELEASE_WAIT=2
H=$(date +%H | sed 's/^0//')
CLOSED=$(printf '%02d:00-%02d:00' $(((H + 2) % 24)) $(((H + 3) % 24)))
# libfaketime preloaded straight into dockd (faketime(1) would stand
# between the test and dockd's pid)
FT_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
# The camera categories must be in [retention] (an unknown one becomes
# "uncategorized", docs/retention.md), so keep.homicide can match.
DK_EXTRA_RETENTION="homicide = indefinite"
VAULT_CONF="keep = 2d
keep.homicide = indefinite
low_free = 0
high_free = 0
purge_interval_s = 1
state_min_free_mb = 0"

conf() { # write the config with [vault] $VAULT_CONF
	dk_conf_write
	printf '\n[vault]\n%s\n' "$VAULT_CONF" >>"$DK_CONF"
}
wait_for() { # CMD...: poll up to $WAIT s
	for n in $(seq $((WAIT * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}
# (sqlite3, not dk_py: these are polled)
n_purged() { dk_sql "SELECT count(*) FROM events WHERE evidence_id = '$1' AND action = 13"; }
purged() { [ "$(n_purged "$1")" -gt 0 ]; }
not_purged() { [ "$(n_purged "$1")" = 0 ] && [ -f "$(dk_vault_file "${1%%/*}" "${1#*/}")" ]; }
gone() { [ ! -e "$(dk_vault_file "${1%%/*}" "${1#*/}")" ]; }
released() { [ "$(dk_state "$1")" = released ] && ! dk_cam_has "${1%%/*}" "${1#*/}"; }
# Every local_purged of the ledger: after a storage_verified of the same
# item whose seq it names and whose location is on the target, with the
# hash and size the ingest recorded, and a why it may give. Prints problems.
purge_rules() {
	dk_py '
bad, n = [], 0
hist = {}
for seq, a, e, d in events():
    if not e: continue
    hist.setdefault(e, []).append((seq, a, d))
    if a != "local_purged": continue
    n += 1
    h = hist[e]
    ver = [x for x in h if x[1] == "storage_verified"]
    ing = [x for x in h if x[1] == "ingested"]
    v = d.get("verified", {})
    if not ver or v.get("seq") not in [x[0] for x in ver]:
        bad.append("%s: purged (seq %d) without the storage_verified it names" % (e, seq))
    elif not v.get("location", "").startswith(args[0] + "/"):
        bad.append("%s: verified copy %s not on the target" % (e, v.get("location")))
    if not ing or ing[0][2].get("ct_sha256") != d.get("ct_sha256") or ing[0][2].get("ct_size") != d.get("size"):
        bad.append("%s: purged hash/size differ from the ingest" % e)
    if d.get("why") not in ("keep_window", "low_space"):
        bad.append("%s: why %r" % (e, d.get("why")))
    if d.get("path") != "%s/%s.bcde" % (args[1], e):
        bad.append("%s: path %r" % (e, d.get("path")))
for b in bad: print("# purge rule: " + b)
sys.exit(1 if bad or n == 0 else 0)' "file://$DK_STORE" "$DK_AGENCY"
}
hold() { # EVID: hold_set by a supervisor, with dockd stopped
	"$CUSTODY" --config "$DK_CONF" append --agency "$DK_AGENCY" --action hold_set \
		--actor-kind clerk --actor-id sup-1 --evidence "$1" --reason "case 24-113" >/dev/null
}

# ---- A: keep window (faked time) ---------------------------------------------
if [ -n "$FT_LIB" ] && [ "${SANITIZED:-0}" != 1 ]; then
	check "A setup" dk_init "$T/a" storage
	conf
	check "A setup: camera CAM-K: patrol, Homicide, patrol (held)" \
		dk_camera_cats CAM-K 150000 patrol Homicide patrol
	check "A: dockd starts" dk_start
	check "A: CAM-K docks" dk_dock CAM-K
	for r in 1 2 3; do
		check "A: REC-$r verified and released" wait_for released CAM-K/REC-$r
	done
	# A camera docked with the upload window closed: stored_local only.
	DK_EXTRA_STORAGE="upload_windows = $CLOSED"
	conf
	kill -HUP "$DK_PID"; sleep 1
	check "A setup: camera CAM-U (never verified)" dk_camera CAM-U 1 150000
	check "A: CAM-U docks" dk_dock CAM-U
	check "A: CAM-U/REC-1 stored_local" dk_wait_state CAM-U/REC-1 stored_local
	sleep 2 # two purge passes at purge_interval_s = 1
	check "A: within the keep window nothing is purged" \
		sh -c '! grep -q "local copy purged" "$0"' "$DK_LOG"
	check "A: dockd stops" dk_stop
	check "A: hold_set on CAM-K/REC-3 (custody append)" hold CAM-K/REC-3
	n0=$(dk_sql "SELECT count(*) FROM events")
	"$DOCKD" --config "$DK_CONF" purge --dry-run >"$DK/dry0.out" 2>&1
	check "A: purge --dry-run today: nothing to purge" grep -q "^# would purge 0 copies" "$DK/dry0.out"
	env LD_PRELOAD="$FT_LIB" FAKETIME=+3d "$DOCKD" --config "$DK_CONF" purge --dry-run \
		>"$DK/dry3.out" 2>&1
	check "A: purge --dry-run 3 days later lists the patrol copy (keep_window)" \
		grep -q "^CAM-K/REC-1 $DK_AGENCY/CAM-K/REC-1.bcde [0-9]* keep_window file://" "$DK/dry3.out"
	check "A: ... and only it (1 held, homicide in its window, unverified not listed)" \
		sh -c 'grep -c "^CAM-" "$1" | grep -qx 1 && grep -q "1 held" "$1"' sh "$DK/dry3.out"
	check "A: ... a dry run writes no event and removes nothing" sh -c \
		'[ "$(sqlite3 -readonly "$1" "SELECT count(*) FROM events")" = "$2" ] && [ -f "$3" ]' \
		sh "$DK_DB" "$n0" "$(dk_vault_file CAM-K REC-1)"
	DK_WRAP="env LD_PRELOAD=$FT_LIB FAKETIME=+3d"
	check "A: dockd starts 3 days later (faketime)" dk_start
	DK_WRAP=
	check "A: patrol copy past its 2-day window: local_purged" wait_for purged CAM-K/REC-1
	check "A: ... its vault file is gone" gone CAM-K/REC-1
	check "A: ... why keep_window, keep_days 2" test "$(dk_sql "SELECT json_extract(details,
		'\$.why') || ' ' || json_extract(details, '\$.keep_days') FROM events
		WHERE evidence_id = 'CAM-K/REC-1' AND action = 13")" = "keep_window 2"
	sleep 3 # three more passes
	check "A: Homicide (keep.homicide = indefinite, any case) kept" not_purged CAM-K/REC-2
	check "A: the held copy kept (keep_held_local)" not_purged CAM-K/REC-3
	check "A: the unverified copy kept" not_purged CAM-U/REC-1
	check "A: the storage copy of the purged item is intact" dk_same_store CAM-K REC-1
	check "A: every purge names its verified copy and the ingest hash" purge_rules
	check "A: dockd stops" dk_stop
	check "A: hold_cleared" quiet "$CUSTODY" --config "$DK_CONF" append --agency "$DK_AGENCY" \
		--action hold_cleared --actor-kind clerk --actor-id sup-1 --evidence CAM-K/REC-3 \
		--reason "case closed"
	DK_WRAP="env LD_PRELOAD=$FT_LIB FAKETIME=+3d"
	check "A: dockd starts again 3 days later" dk_start
	DK_WRAP=
	check "A: hold cleared: the copy is purged now" wait_for purged CAM-K/REC-3
	check "A: still nothing unverified purged" not_purged CAM-U/REC-1
	check "A: dockd stops" dk_stop
	check "A: custody verify is clean" dk_verify
	check "A: release rule holds" dk_ledger_rules storage
	DK_EXTRA_STORAGE=
else
	skip "A: keep window" "faketime missing (Debian package faketime) or sanitized build"
fi

# ---- C: a crash between the event and the unlink ------------------------------
if command -v fiu-run >/dev/null 2>&1 && [ "${SANITIZED:-0}" != 1 ]; then
	check "C setup" dk_init "$T/c" storage
	DK_RELEASE_WAIT=10
	VAULT_CONF=$(printf '%s\n' "$VAULT_CONF" | sed 's/^keep = 2d$/keep = indefinite/')
	conf
	check "C setup: camera CAM-C: patrol, homicide" dk_camera_cats CAM-C 150000 patrol homicide
	check "C: dockd starts" dk_start
	check "C: CAM-C docks" dk_dock CAM-C
	check "C: both verified" wait_for released CAM-C/REC-2
	check "C: dockd stops" dk_stop
	VAULT_CONF=$(printf '%s\n' "$VAULT_CONF" | sed 's/^keep = indefinite$/keep = 0d/')
	conf
	# every unlink(2) of dockd fails: the event is written, the file stays,
	# exactly what a power cut between the two would leave
	rm -f "$DK_SOCK"
	fiu-run -x -c "enable name=posix/io/dir/unlink,failinfo=5" "$DOCKD" --config "$DK_CONF" \
		>>"$DK_LOG" 2>&1 &
	DK_PID=$!
	check "C: local_purged recorded for REC-1" wait_for purged CAM-C/REC-1
	check "C: ... but its file is still there (unlink failed)" \
		test -f "$(dk_vault_file CAM-C REC-1)"
	check "C: ... dockd logged it" wait_for grep -q "local_purged recorded but" "$DK_LOG"
	dk_stop; rc=$?
	check "C: dockd stopped (exit $rc: 0, or 143 through fiu's thread)" test $rc = 0 -o $rc = 143
	n1=$(dk_sql "SELECT count(*) FROM events")
	VAULT_CONF=$(printf '%s\n' "$VAULT_CONF" | sed 's/^keep = 0d$/keep = indefinite/')
	conf
	check "C: dockd starts normally" dk_start
	check "C: the start-up pass removed the purged file" wait_for gone CAM-C/REC-1
	check "C: ... and said so" grep -q "local_purged recorded before a crash" "$DK_LOG"
	check "C: ... one local_purged for REC-1, no second event" test "$(n_purged CAM-C/REC-1)" = 1
	check "C: dockd stops" dk_stop
	# a vault file vanishing without an event is a finding
	victim=REC-2 # homicide: kept (keep.homicide = indefinite)
	check "C: REC-2 (homicide) was not purged" not_purged CAM-C/REC-2
	# a damaged vault copy is never purged, even when due: alerted instead
	flip_byte "$(dk_vault_file CAM-C REC-2)" 1000
	VAULT_CONF=$(printf '%s\n' "$VAULT_CONF" | sed 's/^keep.homicide = indefinite$/keep.homicide = 0d/')
	conf
	check "C: dockd starts with REC-2 due and its vault copy damaged" dk_start
	check "C: ... an integrity alert: not purged, hash differs" \
		wait_for grep -q "target=CAM-C/REC-2 detail=\"vault copy .* not purged: its SHA-256" "$DK/alerts.log"
	check "C: ... no local_purged, the file stays" not_purged CAM-C/REC-2
	check "C: dockd stops" dk_stop
	VAULT_CONF=$(printf '%s\n' "$VAULT_CONF" | sed 's/^keep.homicide = 0d$/keep.homicide = indefinite/')
	conf
	if true; then
		rm -f "$(dk_vault_file CAM-C "$victim")"
		a0=$(dk_alerts)
		check "C: dockd starts with a vault file removed behind its back" dk_start
		check "C: an integrity alert names the missing copy" \
			wait_for grep -q "target=CAM-C/$victim detail=\"vault copy .* missing" "$DK/alerts.log"
		check "C: ... no local_purged invented for it" \
			test "$(n_purged "CAM-C/$victim")" = 0
		check "C: dockd stops" dk_stop
	fi
	check "C: purge rules hold" purge_rules
	check "C: custody verify is clean" dk_verify
else
	skip "C: crash between event and unlink" "fiu-run missing (fiu-utils) or sanitized build"
fi

done_testing
