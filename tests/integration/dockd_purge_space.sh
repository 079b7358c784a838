#!/bin/sh
# Vault space (issue 12; docs/operations.md "Vault space").
#   B. the full-vault release: pulling paused for space, a recording
#      already verified in storage is released all the same (before the
#      fix the camera went back out holding it); the same when the state
#      directory (ledger) is short ([vault] state_min_free_mb).
#   D. low space on a small tmpfs (root): verified copies purged oldest
#      first until high_free is free, why low_space; every purge after the
#      storage_verified it names.
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
# ---- B: pulling paused for space still releases verified recordings ----------
check "B setup" dk_init "$T/b" storage
DK_RELEASE_WAIT=0
DK_EXTRA_STORAGE="upload_windows = $CLOSED"
conf
check "B setup: camera CAM-R with REC-1" dk_camera CAM-R 1 150000
check "B: dockd starts (uploads closed)" dk_start
check "B: CAM-R docks: REC-1 stored_local, not released" dk_dock CAM-R
check "B: ... REC-1 stored_local" dk_wait_state CAM-R/REC-1 stored_local
DK_EXTRA_STORAGE=
conf
kill -HUP "$DK_PID"
check "B: uploads open (SIGHUP): REC-1 verified after the camera left" \
	dk_wait_state CAM-R/REC-1 storage_verified
check "B: ... the camera still holds REC-1" dk_cam_has CAM-R REC-1
dk_randfile "$DK/orig/CAM-R/REC-2.bin" 300000 CAM-R-2
"$CAMSIM" add --dir "$DK/cams/CAM-R" --id REC-2 --file "$DK/orig/CAM-R/REC-2.bin" \
	--category patrol --start 1700009000 --end 1700009300 >/dev/null
DK_MIN_FREE_MB=1048576 # more than any disk here: the vault is "short"
conf
kill -HUP "$DK_PID"; sleep 1
a0=$(dk_alerts)
dk_dock_bg CAM-R
cam=$DK_CAM_PID
check "B: vault short: an alert says pulling is paused" \
	wait_for grep -qs "pulling paused" "$DK/alerts.log"
check "B: REC-2 not pulled" test "$(dk_sql "SELECT count(*) FROM events WHERE evidence_id = 'CAM-R/REC-2' AND action = 4")" = 0
check "B: REC-1 (verified) released while pulling is paused" wait_for released CAM-R/REC-1
done0=$(grep -c 'camera CAM-R: session done' "$DK_LOG")
kill "$cam" 2>/dev/null; wait "$cam" 2>/dev/null
check "B: the camera kept REC-2 (not stored)" dk_cam_has CAM-R REC-2
# dockd notices the camera left at its next keepalive; only then may the
# same serial dock again
check "B: dockd ends the waiting session when the camera leaves" \
	wait_for sh -c '[ "$(grep -c "camera CAM-R: session done" "$1")" -gt "$2" ]' sh "$DK_LOG" "$done0"
# the same with the state directory (ledger) short instead of the vault
DK_MIN_FREE_MB=0
conf
kill -HUP "$DK_PID"; sleep 1
check "B: REC-2 docks normally" dk_dock CAM-R
check "B: ... REC-2 verified" dk_wait_stored CAM-R/REC-2
dk_randfile "$DK/orig/CAM-R/REC-3.bin" 300000 CAM-R-3
"$CAMSIM" add --dir "$DK/cams/CAM-R" --id REC-3 --file "$DK/orig/CAM-R/REC-3.bin" \
	--category patrol --start 1700019000 --end 1700019300 >/dev/null
VAULT_CONF="$VAULT_CONF
state_min_free_mb = 1048576"
conf
kill -HUP "$DK_PID"; sleep 1
dk_dock_bg CAM-R
cam=$DK_CAM_PID
check "B: state directory short: alert names it" \
	wait_for grep -q "state directory (custody ledger) short of space" "$DK/alerts.log"
check "B: REC-3 not pulled" test "$(dk_sql "SELECT count(*) FROM events WHERE evidence_id = 'CAM-R/REC-3' AND action = 4")" = 0
check "B: REC-2 (verified) released all the same" wait_for released CAM-R/REC-2
kill "$cam" 2>/dev/null; wait "$cam" 2>/dev/null
check "B: dockd stops" dk_stop
check "B: release rule holds" dk_ledger_rules storage
check "B: custody verify is clean" dk_verify
VAULT_CONF=$(printf '%s\n' "$VAULT_CONF" | grep -v 'state_min_free_mb = 1048576')

# ---- D: low space on a small vault ----------------------------------------------
mkdir -p "$T/small"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8m,mode=0755 tmpfs "$T/small" 2>/dev/null; then
	DK_VAULT=$T/small/vault
	check "D setup: vault on an 8 MiB tmpfs" dk_init "$T/d" storage
	DK_RELEASE_WAIT=10
	VAULT_CONF="keep = indefinite
low_free = 3
high_free = 5
purge_interval_s = 1
state_min_free_mb = 0"
	conf
	check "D setup: camera CAM-L with six ~1 MiB recordings" dk_camera CAM-L 6 1000000
	check "D: dockd starts" dk_start
	check "D: CAM-L docks" dk_dock CAM-L
	check "D: every recording released" wait_for released CAM-L/REC-6
	check "D: low space: copies purged, why low_space" dk_py '
sys.exit(0 if any(a == "local_purged" and d.get("why") == "low_space" for _, a, _, d in events()) else 1)'
	check "D: free space back above low_free" \
		test "$(df -Pk "$T/small" | awk 'NR == 2 { print $4 }')" -ge 3072
	# replayed: when a copy was purged, every older copy verified by then
	# (and not held) was purged already
	check "D: oldest first" dk_py '
order, ver, gone, bad = [], set(), set(), []
for seq, a, e, d in events():
    if a == "stored_local": order.append(e)
    elif a == "storage_verified": ver.add(e)
    elif a == "local_purged":
        older = [x for x in order[:order.index(e)] if x in ver and x not in gone]
        if older: bad.append("%s purged before older %s" % (e, older))
        gone.add(e)
for b in bad: print("# " + b)
sys.exit(0 if gone and not bad else 1)'
	check "D: purge rules hold" purge_rules
	check "D: dockd stops" dk_stop
	check "D: custody verify is clean" dk_verify
	umount "$T/small"
else
	skip "D: low space" "cannot mount a tmpfs here (not root)"
fi
done_testing
