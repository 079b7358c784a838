#!/bin/sh
# Fixity audits (issue 12): a stored copy damaged after it was verified -
# on disk in the vault, on disk in a file:// target, and in a real Ceph
# RGW bucket (overwritten with s3tool) - is found by the next audit
# (`dockd fixity`, and the scheduled job), recorded as a failed
# fixity_checked with expected and actual SHA-256, alerted, repaired from
# the verified copy (repaired event, read back), and `custody verify`
# passes afterwards. Without a good second copy nothing is rewritten.
# Runtime: ~25 s with a shared RGW (S3_RGW_DIR), plus ~20 s to start one.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
DK_RELEASE_WAIT=4

not() { ! "$@"; }
fixity() { "$DOCKD" --config "$DK_CONF" fixity "$@" 2>>"$DK/fixity.err"; }
flip() { # FILE: change one byte in the middle (as bit rot would)
	flip_byte "$1" $(($(stat -c %s "$1") / 2))
}
# fixity_checked events of EVID for COPY with OUTCOME (details), counted
nfix() { # EVID COPY OUTCOME
	dk_py '
n = sum(1 for _, a, _, d in events(args[0]) if a == "fixity_checked"
        and d.get("copy") == args[1] and d.get("outcome") == args[2])
print(n)' "$1" "$2" "$3"
}
# the last fixity_checked of EVID/COPY names expected != actual, both 64 hex
mismatch_recorded() { # EVID COPY
	dk_py '
v = [d for _, a, _, d in events(args[0]) if a == "fixity_checked" and d.get("copy") == args[1]]
d = v[-1]
ok = d["outcome"] == "failed" and len(d["expected_sha256"]) == 64 and \
     len(d["actual_sha256"]) == 64 and d["expected_sha256"] != d["actual_sha256"] and d["location"]
sys.exit(0 if ok else 1)' "$1" "$2"
}
# a repaired event of EVID for COPY, ok, from/to set, sha256 = the recorded one
repaired_ok() { # EVID COPY
	dk_py '
ev = events(args[0])
want = [d for _, a, _, d in ev if a == "storage_verified"][-1]["ct_sha256"]
r = [d for _, a, _, d in ev if a == "repaired" and d.get("copy") == args[1]]
ok = r and r[-1]["sha256"] == want and r[-1]["actual_sha256"] == want and r[-1]["from"] and r[-1]["to"]
sys.exit(0 if ok else 1)' "$1" "$2"
}
outcome_of() { # EVID ACTION -> outcomes, space separated
	dk_sql "SELECT group_concat(outcome, ' ') FROM events WHERE evidence_id='$1' AND action=$2"
}
A_FIX=28; A_REP=29

# ---- file:// target ---------------------------------------------------------
check "setup (file:// target)" dk_init "$T/f" storage
printf '\n[fixity]\ninterval_s = 0\nitems_per_run = 100\nbytes_per_s = 0\n' >>"$DK_CONF"
check "setup: camera with 2 recordings" dk_camera CAM-F 2 300000
check "dockd starts" dk_start
check "docking ends" dk_dock CAM-F
check "both released" dk_wait_state CAM-F/REC-1 released 60
check "... both" dk_wait_state CAM-F/REC-2 released 60
check "first audit: all intact (exit 0)" fixity
check "... 2 vault + 2 storage copies ok" test "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_FIX AND outcome=1")" = 4
check "... no repair" test "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_REP")" = 0

V1=$(dk_vault_file CAM-F REC-1)
S2=$DK_STORE/$DK_AGENCY/CAM-F/REC-2.bcde
flip "$V1"; flip "$S2"
check "damage is real: vault REC-1 no longer decrypts" not dk_same CAM-F REC-1
a0=$(dk_alerts)
fixity >"$DK/fix2.out"
check "next audit repairs both (exit 0)" test $? = 0
check "... says 2 damaged, 2 repaired" grep -q "2 damaged, 0 unreadable; 2 repaired, 0 not repaired" "$DK/fix2.out"
check "vault copy of REC-1: failed fixity_checked with both hashes" mismatch_recorded CAM-F/REC-1 vault
check "storage copy of REC-2: failed fixity_checked with both hashes" mismatch_recorded CAM-F/REC-2 storage
check "REC-1: repaired (vault from storage), read back with the recorded sha256" repaired_ok CAM-F/REC-1 vault
check "REC-2: repaired (storage from vault), read back with the recorded sha256" repaired_ok CAM-F/REC-2 storage
check "alerts raised for the damage" test "$(dk_alerts)" -ge $((a0 + 2))
check "... kind fixity" grep -q fixity "$DK/alerts.log"
check "vault REC-1 decrypts to the camera's bytes again" dk_same CAM-F REC-1
check "target REC-2 decrypts to the camera's bytes again" dk_same_store CAM-F REC-2
check "custody verify passes after the repairs" dk_verify
fixity >"$DK/fix3.out"
check "the audit after: all intact" grep -q "4 copies: 4 intact, 0 damaged" "$DK/fix3.out"

# both copies damaged: nothing to repair from
flip "$V1"; flip "$DK_STORE/$DK_AGENCY/CAM-F/REC-1.bcde"
fixity --items 2 >"$DK/fix4.out"
check "both copies damaged: exit 1" test $? = 1
check "... not repaired" grep -q "0 repaired, 1 not repaired" "$DK/fix4.out"
check "... no repaired event written for it" test "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_REP AND evidence_id='CAM-F/REC-1'")" = 1
check "... alert says there is no second copy" grep -q "no verified second copy" "$DK/alerts.log"

# the scheduled job (daemon thread)
check "dockd stops" dk_stop
sed -i 's/^interval_s = 0$/interval_s = 1/' "$DK_CONF"
n0=$(dk_sql "SELECT count(*) FROM events WHERE action=$A_FIX AND reason='scheduled fixity audit'")
check "dockd starts with [fixity] interval_s = 1" dk_start
i=0; while [ "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_FIX AND reason='scheduled fixity audit'")" = "$n0" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "the scheduled audit ran (fixity_checked, reason 'scheduled fixity audit')" \
	test "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_FIX AND reason='scheduled fixity audit'")" -gt "$n0"
check "dockd stops" dk_stop
check "custody verify passes" dk_verify

# ---- s3:// target on a real Ceph RGW ------------------------------------------
s3_up
DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-fixity)
DK_PID=
unset DK_VAULT
check "setup: bucket $DK_S3_BUCKET (Object Lock, versioned)" s3_bucket "$DK_S3_BUCKET" lock
check "setup (s3:// target)" dk_init "$T/s" storage
printf '\n[fixity]\ninterval_s = 0\nbytes_per_s = 1 MiB\n' >>"$DK_CONF"
check "setup: camera with 1 recording" dk_camera CAM-S 1 200000
check "dockd starts" dk_start
check "docking ends" dk_dock CAM-S
check "released" dk_wait_state CAM-S/REC-1 released 60
check "dockd stops" dk_stop
KEY=$(dk_s3_key CAM-S REC-1)
check "first audit on the bucket: intact" fixity
check "... storage copy ok" test "$(nfix CAM-S/REC-1 storage ok)" = 1
# someone overwrites the object (a new current version with other bytes)
cp "$(dk_vault_file CAM-S REC-1)" "$DK/bad.bcde"; flip "$DK/bad.bcde"
overwrite() { dk_s3tool put "$KEY" "$DK/bad.bcde" >/dev/null 2>&1; }
check "the bucket's object overwritten with damaged bytes (s3tool put)" overwrite
check "damage is real: the object no longer decrypts" not dk_same_s3 CAM-S REC-1
fixity >"$DK/fix5.out"
check "next audit: exit 0" test $? = 0
check "... found the damaged object" mismatch_recorded CAM-S/REC-1 storage
check "... repaired it from the vault copy" repaired_ok CAM-S/REC-1 storage
check "the object decrypts to the camera's bytes again" dk_same_s3 CAM-S REC-1
check "alert raised" grep -q "storage copy damaged" "$DK/alerts.log"
fixity >"$DK/fix6.out"
check "the audit after: intact" grep -q "2 copies: 2 intact" "$DK/fix6.out"
check "custody verify passes after the repair" dk_verify

# no vault copy any more (purged): the version storage_verified checked is
# the second copy (Object Lock bucket: versioned)
"$CUSTODY" --config "$DK_CONF" append --action local_purged --actor-kind dock --actor-id dock-x \
	--evidence CAM-S/REC-1 --agency "$DK_AGENCY" >/dev/null 2>&1
rm -f "$(dk_vault_file CAM-S REC-1)"
check "the vault copy is purged" test "$(dk_sql "SELECT local_copy FROM evidence WHERE evidence_id='CAM-S/REC-1'")" = 0
check "the object overwritten again" overwrite
fixity >"$DK/fix7.out"
check "audit without a vault copy: exit 0" test $? = 0
check "... one copy checked, damaged, repaired" grep -q "1 copies: 0 intact, 1 damaged, 0 unreadable; 1 repaired" "$DK/fix7.out"
repaired_from_version() {
	dk_py '
r = [d for _, a, _, d in events(args[0]) if a == "repaired"][-1]
sys.exit(0 if "?versionId=" in r["from"] and r["copy"] == "storage" else 1)' "$1"
}
check "... from the recorded version of the object" repaired_from_version CAM-S/REC-1
check "... which now decrypts again" dk_same_s3 CAM-S REC-1
check "custody verify passes" dk_verify

# verify replays the fixity events: a repair claim for bytes the ledger
# never recorded (appended around dockd) is a finding
"$CUSTODY" --config "$DK_CONF" append --action repaired --actor-kind dock --actor-id dock-x \
	--evidence CAM-S/REC-1 --agency "$DK_AGENCY" --details \
	"{\"copy\":\"vault\",\"from\":\"x\",\"to\":\"y\",\"sha256\":\"$(printf '%064d' 0)\",\"actual_sha256\":\"$(printf '%064d' 0)\"}" \
	>/dev/null 2>&1
check_fails "custody verify: a forged repaired event is a finding" dk_verify
check "... class fixity" grep -q "fixity.*repaired the vault copy of CAM-S/REC-1 without a failed" "$DK/verify.out"
done_testing
