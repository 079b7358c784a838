#!/bin/sh
# Weeks of simulated time on a small vault (issue 12, "Done when"): two
# cameras dock on alternate days, each day with new recordings, dockd
# and the cameras running under libfaketime one more day ahead each day,
# the vault on a 5 MiB tmpfs (root), keep windows of 2 days (patrol) and
# 7 days (homicide), low_free 2 MiB / high_free 3 MiB. One recording is
# put under legal hold on day 3.
# Checked at the end: space never ran out (no ingest_interrupted, no
# "pulling paused"), every recording was released, nothing unverified
# was purged (each local_purged after the storage_verified it names),
# the ledger shows every purge (a vault file is missing exactly when
# its item has a local_purged event), the held copy is still there,
# both keep_window and low_space purges happened, custody verify passes.
# 14 days by default (~40 s); SOAK=1: 28 days (the dock certificate of
# tests/dockd_lib.sh is valid 30 days).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
cleanup() { kill $(jobs -p) 2>/dev/null; umount "$T/small" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
FT_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
DAYS=14
[ "${SOAK:-0}" = 1 ] && DAYS=28
if [ -z "$FT_LIB" ] || [ "${SANITIZED:-0}" = 1 ]; then
	skip "purge soak" "libfaketime missing (Debian package faketime) or sanitized build"
	done_testing
fi
mkdir "$T/small"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=5m,mode=0755 tmpfs "$T/small" 2>/dev/null; then
	skip "purge soak" "cannot mount a tmpfs here (not root)"
	done_testing
fi
DK_VAULT=$T/small/vault
DK_MIN_FREE_MB=1
DK_LOG_LEVEL=info
check "setup: vault on a 5 MiB tmpfs" dk_init "$T/d" storage
dk_conf_write
cat >>"$DK_CONF" <<EOF

[vault]
keep = 2d
keep.homicide = 7d
low_free = 2
high_free = 3
purge_interval_s = 1
state_min_free_mb = 0
EOF
check "setup: camera CAM-1" dk_camera CAM-1 0 0
check "setup: camera CAM-2" dk_camera CAM-2 0 0

ft() { env LD_PRELOAD="$FT_LIB" FAKETIME="+${day}d" "$@"; }
add_recs() { # SERIAL: three new recordings of this day (one homicide)
	for i in 1 2 3; do
		cat=patrol
		[ "$i" = 2 ] && cat=homicide
		id=D$day-$i
		dk_randfile "$DK/orig/$1/$id.bin" $((330000 + i * 4099)) "$1-$id" || return 1
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$id" --file "$DK/orig/$1/$id.bin" \
			--category "$cat" --start $((1700000000 + day * 86400 + i * 600)) \
			--end $((1700000000 + day * 86400 + i * 600 + 300)) >/dev/null || return 1
	done
}
bad_days=0
day=0
while [ "$day" -lt "$DAYS" ]; do
	cam=CAM-$((day % 2 + 1))
	ok=1
	add_recs "$cam" || ok=0
	if [ "$day" = 3 ]; then
		# a supervisor's legal hold on an earlier patrol recording
		"$CUSTODY" --config "$DK_CONF" append --agency "$DK_AGENCY" --action hold_set \
			--actor-kind clerk --actor-id sup-1 --evidence CAM-2/D1-1 \
			--reason "case 24-7" >/dev/null || ok=0
	fi
	DK_WRAP="env LD_PRELOAD=$FT_LIB FAKETIME=+${day}d"
	dk_start || ok=0
	DK_WRAP=
	ft "$CAMSIM" serve --dir "$DK/cams/$cam" --connect "$DK_SOCK" >>"$DK/cam-$cam.log" 2>&1 || ok=2
	! "$CAMSIM" list --dir "$DK/cams/$cam" | grep -q "^D" || ok=3
	dk_stop || ok=4
	[ "$ok" = 1 ] || { bad_days=$((bad_days + 1)); echo "# day $day ($cam): not every step worked ($ok)"; }
	day=$((day + 1))
done
check "$DAYS days docked; on each every recording was released the same day" test "$bad_days" = 0
check "space never ran out: no ingest_interrupted" \
	test "$(dk_sql "SELECT count(*) FROM events e WHERE e.action = 24")" = 0
check "... no pulling paused" sh -c '! grep -qs "pulling paused" "$0"' "$DK/alerts.log"
check "every recording released" \
	test "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state != 'released'")" = 0
check "... $((DAYS * 3)) of them" test "$(dk_sql "SELECT count(*) FROM dock_recordings")" = $((DAYS * 3))
check "nothing unverified purged; the ledger shows every purge; the held copy stays" dk_py '
import os
bad, purged, kinds, hist = [], set(), set(), {}
for seq, a, e, d in events():
    if not e: continue
    hist.setdefault(e, []).append((seq, a))
    if a == "local_purged":
        if d.get("verified", {}).get("seq") not in [s for s, x in hist[e] if x == "storage_verified"]:
            bad.append("%s purged without its storage_verified" % e)
        purged.add(e); kinds.add(d.get("why"))
for (e,) in con.execute("SELECT evidence_id FROM dock_recordings"):
    f = os.path.join(args[0], args[1], e + ".bcde")
    if os.path.exists(f) == (e in purged):
        bad.append("%s: file %s, local_purged %s" % (e, os.path.exists(f), e in purged))
if "CAM-2/D1-1" in purged: bad.append("held copy purged")
if kinds != {"keep_window", "low_space"}: bad.append("purge kinds seen: %s" % sorted(kinds))
print("# %d purges (%s)" % (len(purged), ", ".join(sorted(kinds))))
for b in bad: print("# " + b)
sys.exit(1 if bad else 0)' "$DK_VAULT" "$DK_AGENCY"
check "release rule holds" dk_ledger_rules storage
check "custody verify is clean" dk_verify
umount "$T/small"
done_testing
