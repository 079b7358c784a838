#!/bin/sh
# An outside tester's camera against the real dockd: tests/tools/indcam.py
# was written from docs/protocol.md alone (no code shared with protocol/ or
# camsim), so every disagreement here is a gap in the doc or a bug in the
# dock. Camera IND-1 holds five recordings: R0 (0 bytes), RBIG (5 MiB and
# a bit), RSMALL, RBAD (its manifest signature never verifies) and RTAMP.
#   docking 1: the camera is pulled out after 3 MiB of RBIG's DATA;
#   docking 2: RBIG resumes at an offset > 0; R0, RBIG, RSMALL are stored,
#              released with receipts the camera verifies, and deleted;
#              RBAD is never pulled or released (alert); RTAMP's receipt is
#              tampered on the camera's side, which refuses it and keeps it;
#   docking 3: RTAMP is released with an untampered receipt.
# Then: vault copies and `custody decrypt` give the camera's bytes, custody
# verify is clean, every receipt the camera kept verifies. Camera IND-3's
# 18 recordings are listed in two pages. IND-5 serves data that does not
# match its signed SHA-256: quarantined, the session goes on, pulled again
# honestly at the next docking. The dock refuses a bad identity signature
# and an unenrolled serial; a camera provisioned with another agency key
# refuses the dock (ERROR AUTH), which the dock records. Last, the reference
# camera connects to a scripted dock written from the same doc (indcam.py
# probe): wrong-time and unknown frames, signatures, RANGE.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
IND="python3 $TOP/tests/tools/indcam.py"
if ! python3 -c 'import cryptography' 2>/dev/null; then
	skip "indcam" "python3-cryptography not installed"
	done_testing
fi
check "indcam reproduces the doc's worked example and CRC check value" quiet $IND selftest
DK_IDLE_MS=3000
DK_RELEASE_WAIT=120 # a loaded machine still releases in the same session
DK_EXTRA_DOCK="clock_correct = true" # the dock sends TIME_SET (8.3)
check "dock, agency and checkpoint keys" dk_init "$T/dk"
CAM="$DK/cams/IND-1"
ORIG="$DK/orig/IND-1"
mkdir -p "$ORIG"
pub=$($IND init --dir "$CAM" --serial IND-1 --model "Indep Cam" --officer OFC-9 \
	--agency-pub "$DK/keys/agency-sign.pub")
check "indcam init prints a 64-hex device key" sh -c "echo '$pub' | grep -Eqx '[0-9a-f]{64}'"
check "dockd enroll accepts the independent camera's key" quiet \
	"$DOCKD" --config "$DK_CONF" enroll --serial IND-1 --pubkey "$pub" --officer OFC-9 \
	--model "Indep Cam" --reason "outside tester camera"

: >"$ORIG/R0.bin"
dk_randfile "$ORIG/RBIG.bin" $((5 * 1048576 + 12345)) big
dk_randfile "$ORIG/RSMALL.bin" 70001 small
dk_randfile "$ORIG/RBAD.bin" 1000 bad
dk_randfile "$ORIG/RTAMP.bin" 2000 tamp
i=0
for r in R0 RBIG RSMALL RBAD RTAMP; do
	i=$((i + 1))
	$IND add --dir "$CAM" --id $r --file "$ORIG/$r.bin" --category patrol \
		--start $((1700000000 + i * 600)) --end $((1700000000 + i * 600 + 300)) \
		--gps 515000000,-1200000 >/dev/null || not_ok "indcam add $r"
done
check "the camera holds 5 recordings" [ "$($IND list --dir "$CAM" | wc -l)" -eq 5 ]

check "dockd starts" dk_start
dockcam() { # DIR LOG [indcam serve options]: one docking, indcam's exit code
	d=$1 l=$2; shift 2
	n=0
	while :; do
		$IND serve --dir "$d" --connect "$DK_SOCK" "$@" >"$DK/$l" 2>&1
		rc=$?
		# the previous session of this serial may not have ended yet
		# (7.1.1, BUSY): an officer re-seats the camera a moment later
		grep -q '^DOCK-ERROR BUSY ' "$DK/$l" && [ $n -lt 10 ] || return $rc
		n=$((n + 1))
		sleep 1
	done
}
dock() { dockcam "$CAM" "$@"; }

# ---- docking 1: pulled out mid-recording ----------------------------------
dock d1.log --drop-after $((3 * 1048576 + 777)) --bad-sig RBAD
rc=$?
check "docking 1: the camera authenticated the dock" grep -q '^AUTH dock-1 pd-test' "$DK/d1.log"
check "docking 1: the dock set the camera's clock (TIME_SET) and recorded it" sh -c \
	"grep -q '^TIME ' '$DK/d1.log' && [ \"\$(sqlite3 -readonly '$DK_DB' \
	  \"SELECT count(*) FROM events WHERE action = 2 AND details LIKE '%camera_before_ns%'\")\" -ge 1 ]"
check "docking 1: the camera was pulled out mid-RBIG (exit 3)" \
	sh -c "[ $rc -eq 3 ] && grep -q '^DROP RBIG' '$DK/d1.log'"
[ $rc -eq 3 ] || sed 's/^/#   /' "$DK/d1.log"
check "docking 1: nothing released (the camera still holds all 5)" \
	[ "$($IND list --dir "$CAM" | wc -l)" -eq 5 ]
interrupted() { [ "$(dk_count_action IND-1/RBIG ingest_interrupted)" = 1 ]; }
i=0
until interrupted || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done
check "docking 1: the dock recorded the cut pull (ingest_interrupted)" interrupted

# ---- docking 2: resume, stores, receipts, a bad manifest signature and a
# tampered receipt ----------------------------------------------------------
dock d2.log --bad-sig RBAD --tamper-receipt RTAMP
rc=$?
check "docking 2 ends with the dock's BYE (exit 0)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { sed 's/^/#   /' "$DK/d2.log"; tail -20 "$DK_LOG" | sed 's/^/#   /'; }
check "docking 2: RBIG resumed from an offset > 0, not from 0" \
	sh -c "grep -Eq '^READ RBIG [1-9][0-9]* ' '$DK/d2.log' && ! grep -q '^READ RBIG 0 ' '$DK/d2.log'"
check "docking 2: the 0-byte R0 was never read" sh -c "! grep -q '^READ R0 ' '$DK/d1.log' '$DK/d2.log'"
for r in R0 RBIG RSMALL; do
	check "IND-1/$r: released" [ "$(dk_state IND-1/$r)" = released ]
	check "IND-1/$r: storage_verified before camera_released" \
		dk_order IND-1/$r storage_verified camera_released
	check "IND-1/$r: the vault copy decrypts to the camera's bytes" dk_same IND-1 $r
	check "IND-1/$r: the camera verified the receipt, then deleted it" \
		sh -c "grep -q '^RELEASE-OK $r ' '$DK/d2.log' && ! $IND list --dir '$CAM' | grep -q '^$r '"
done
check "IND-1/RBAD: the camera still holds it" sh -c "$IND list --dir '$CAM' | grep -q '^RBAD '"
check "IND-1/RBAD: never read and never released" sh -c \
	"! grep -Eq '^(READ|RELEASE-[A-Z]+) RBAD ' '$DK/d1.log' '$DK/d2.log' &&
	 [ '$(dk_state IND-1/RBAD)' != released ]"
check "IND-1/RBAD: the bad manifest signature raised an alert" \
	grep -q '^integrity .*target=IND-1/RBAD .*manifest entry signature invalid' "$DK/alerts.log"
check "IND-1/RBAD: the ledger records the unverified entry (integrity_failed)" \
	[ "$(dk_py 'print(sum(1 for _, a, e, d in events() if a == "integrity_failed"
	    and ("RBAD" in (e or "") or d.get("recording_id") == "RBAD")))')" -ge 1 ]
check "IND-1/RTAMP: the camera refused the tampered receipt (BAD_RECEIPT)" \
	grep -q '^RELEASE-REFUSED RTAMP receipt signature' "$DK/d2.log"
check "IND-1/RTAMP: the dock alerted on the refused receipt" \
	grep -q '^release .*target=IND-1/RTAMP .*camera refused the receipt' "$DK/alerts.log"
check "IND-1/RTAMP: the refused receipt is in the ledger (one release_refused)" \
	test "$(dk_count_action IND-1/RTAMP release_refused)" = 1
check "IND-1/RTAMP: release_refused carries the receipt the dock sent" dk_py '
r = [d["receipt"] for _, a, _, d in events(args[0]) if a == "release_refused"]
sys.exit(0 if r and r[0]["recording_id"] == "RTAMP" and len(r[0]["sig"]) == 128 else 1)' IND-1/RTAMP
check "IND-1/RTAMP: the camera still holds it" sh -c "$IND list --dir '$CAM' | grep -q '^RTAMP '"
check "IND-1/RTAMP: stored but not released" [ "$(dk_state IND-1/RTAMP)" = storage_verified ]

# ---- docking 3: RTAMP is released with a good receipt -------------------------
dock d3.log --bad-sig RBAD
rc=$?
check "docking 3 ends with the dock's BYE (exit 0)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/#   /' "$DK/d3.log"
check "IND-1/RTAMP: released at docking 3" sh -c \
	"[ '$(dk_state IND-1/RTAMP)' = released ] && grep -q '^RELEASE-OK RTAMP ' '$DK/d3.log'"
check "IND-1/RTAMP: the vault copy decrypts to the camera's bytes" dk_same IND-1 RTAMP
check "the camera holds exactly RBAD now" [ "$($IND list --dir "$CAM" | cut -d' ' -f1)" = RBAD ]
check "every receipt the camera kept verifies (agency -> dock cert -> receipt)" \
	quiet $IND receipts --dir "$CAM"
check "the camera kept receipts for exactly the 4 released recordings" \
	[ "$($IND receipts --dir "$CAM" | cut -d' ' -f1 | tr '\n' ' ')" = "R0 RBIG RSMALL RTAMP " ]
check "each receipt names the SHA-256 of the camera's bytes" sh -c "
	$IND receipts --dir '$CAM' | while read -r r h _; do
		[ \"\$h\" = \"\$(sha256sum '$ORIG/'\$r.bin | cut -c1-64)\" ] || exit 1
	done"

# ---- the custody side: custody decrypt, history, verify ---------------------
KEY="$DK/keys/agency-enc.key"
check "custody decrypt IND-1/RBIG gives the camera's bytes" sh -c \
	"'$CUSTODY' --config '$DK_CONF' decrypt --key '$KEY' --reason 'indcam test' \
	   --out '$T/rbig.out' IND-1/RBIG >/dev/null 2>&1 && cmp -s '$T/rbig.out' '$ORIG/RBIG.bin'"
check "custody decrypt IND-1/R0 gives 0 bytes" sh -c \
	"'$CUSTODY' --config '$DK_CONF' decrypt --key '$KEY' --reason 'indcam test' \
	   --out '$T/r0.out' IND-1/R0 >/dev/null 2>&1 && [ -f '$T/r0.out' ] && [ ! -s '$T/r0.out' ]"
check "custody history IND-1/RBIG: ingested, storage_verified, camera_released" sh -c \
	"'$CUSTODY' --config '$DK_CONF' history IND-1/RBIG >'$T/h' 2>&1 &&
	 grep -q ingested '$T/h' && grep -q storage_verified '$T/h' && grep -q camera_released '$T/h'"
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean (the camera's manifest signatures included)" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head

# ---- 18 recordings: the manifest comes in two pages (LIST_REQ start 0, 16) ----
pub3=$($IND init --dir "$DK/cams/IND-3" --serial IND-3 --officer OFC-3 \
	--agency-pub "$DK/keys/agency-sign.pub")
quiet "$DOCKD" --config "$DK_CONF" enroll --serial IND-3 --pubkey "$pub3" --officer OFC-3 \
	--reason "outside tester camera"
mkdir -p "$DK/orig/IND-3"
i=1
while [ $i -le 18 ]; do
	dk_randfile "$DK/orig/IND-3/P$i.bin" $((i * 111)) "p$i"
	$IND add --dir "$DK/cams/IND-3" --id P$i --file "$DK/orig/IND-3/P$i.bin" \
		--start $((1700000000 + i)) >/dev/null
	i=$((i + 1))
done
dockcam "$DK/cams/IND-3" d5.log
rc=$?
check "IND-3: docking ends with BYE" [ $rc -eq 0 ]
check "IND-3: the dock paged the manifest: 16 entries from 0, 2 from 16" \
	sh -c "grep -q '^LIST 0 16 18$' '$DK/d5.log' && grep -q '^LIST 16 2 18$' '$DK/d5.log'"
check "IND-3: all 18 released and deleted, none left on the camera" sh -c \
	"[ \"\$(grep -c '^RELEASE-OK ' '$DK/d5.log')\" = 18 ] && [ -z \"\$($IND list --dir '$DK/cams/IND-3')\" ]"
check "IND-3/P18: the vault copy decrypts to the camera's bytes" dk_same IND-3 P18

# ---- a lying camera: C1's DATA differs from its signed SHA-256 ---------------
pub5=$($IND init --dir "$DK/cams/IND-5" --serial IND-5 --officer OFC-5 \
	--agency-pub "$DK/keys/agency-sign.pub")
quiet "$DOCKD" --config "$DK_CONF" enroll --serial IND-5 --pubkey "$pub5" --officer OFC-5 \
	--reason "outside tester camera"
mkdir -p "$DK/orig/IND-5"
dk_randfile "$DK/orig/IND-5/C1.bin" 200000 c1
dk_randfile "$DK/orig/IND-5/C2.bin" 3000 c2
$IND add --dir "$DK/cams/IND-5" --id C1 --file "$DK/orig/IND-5/C1.bin" --start 1700000001 >/dev/null
$IND add --dir "$DK/cams/IND-5" --id C2 --file "$DK/orig/IND-5/C2.bin" --start 1700000002 >/dev/null
dockcam "$DK/cams/IND-5" d6.log --corrupt C1
rc=$?
check "IND-5: a SHA-256 mismatch does not end the session (C2 read after C1, BYE)" sh -c \
	"[ $rc -eq 0 ] && grep -q '^READ C2 ' '$DK/d6.log'"
check "IND-5/C1: quarantined, integrity_failed, not released, kept by the camera" sh -c \
	"[ '$(dk_state IND-5/C1)' = quarantined ] && ! grep -q '^RELEASE-OK C1 ' '$DK/d6.log' &&
	 $IND list --dir '$DK/cams/IND-5' | grep -q '^C1 '"
check "IND-5/C1: the mismatch is an integrity_failed event" \
	[ "$(dk_count_action IND-5/C1 integrity_failed)" = 1 ]
check "IND-5/C2: released in the same session" [ "$(dk_state IND-5/C2)" = released ]
dockcam "$DK/cams/IND-5" d7.log
check "IND-5/C1: read again from byte 0 at the next docking, matches, released" sh -c \
	"grep -q '^READ C1 0 200000$' '$DK/d7.log' && grep -q '^RELEASE-OK C1 ' '$DK/d7.log' &&
	 [ '$(dk_state IND-5/C1)' = released ]"
check "IND-5/C1: the released copy decrypts to the camera's bytes" dk_same IND-5 C1

# ---- the dock refuses: a bad identity signature, an unenrolled serial --------
dockcam "$DK/cams/IND-5" d8.log --bad-identity
rc=$?
check "a HELLO_REPLY signed wrongly gets ERROR AUTH (7.1.1)" sh -c \
	"[ $rc -eq 1 ] && grep -q '^DOCK-ERROR AUTH ' '$DK/d8.log'"
$IND init --dir "$DK/cams/IND-6" --serial IND-6 --officer OFC-6 \
	--agency-pub "$DK/keys/agency-sign.pub" >/dev/null
dockcam "$DK/cams/IND-6" d9.log
rc=$?
check "an unenrolled serial gets ERROR UNENROLLED (7.1.1)" sh -c \
	"[ $rc -eq 1 ] && grep -q '^DOCK-ERROR UNENROLLED ' '$DK/d9.log'"

# ---- a camera provisioned with another agency key refuses the dock ----------
openssl genpkey -algorithm ed25519 -out "$T/other.key" 2>/dev/null
openssl pkey -in "$T/other.key" -pubout -out "$T/other.pub"
pub2=$($IND init --dir "$DK/cams/IND-2" --serial IND-2 --officer OFC-9 --agency-pub "$T/other.pub")
quiet "$DOCKD" --config "$DK_CONF" enroll --serial IND-2 --pubkey "$pub2" --officer OFC-9 \
	--model "Indep Cam" --reason "outside tester camera"
$IND add --dir "$DK/cams/IND-2" --id X1 --file "$ORIG/RSMALL.bin" >/dev/null
dockcam "$DK/cams/IND-2" d4.log
rc=$?
check "a camera with another agency key answers ERROR AUTH and stops" sh -c \
	"[ $rc -eq 1 ] && grep -q '^AUTH-REFUSED dock certificate not signed by the agency' '$DK/d4.log'"
check "nothing was pulled from it" [ -z "$(dk_sql "SELECT 1 FROM dock_recordings WHERE serial='IND-2'")" ]
rejected_ind2() {
	[ "$(dk_py 'print(sum(1 for _, a, _, d in events()
	    if a == "device_rejected" and d.get("serial") == "IND-2"))')" = 1 ] &&
		grep -q '^device-rejected .*target=IND-2 ' "$DK/alerts.log"
}
i=0 # the dock records it once it sees the ERROR: indcam may be gone first
until rejected_ind2 || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done
check "the dock records the camera's refusal (device_rejected) and alerts" rejected_ind2
refused_reason() { dk_sql "SELECT reason FROM events WHERE details LIKE '%\"IND-2\"%'"; }
check "device_rejected says the camera refused the dock (not that it failed to prove its key)" \
	sh -c "echo '$(refused_reason)' | grep -q 'camera refused the dock'"
check "dockd stops cleanly" dk_stop

# ---- the other direction: the reference camera (camsim) against a scripted
# dock written from the same doc (indcam.py probe) ----------------------------
"$CAMSIM" init --dir "$T/cs" --serial CS-1 --model M1 --officer OFC-1 \
	--agency-pub "$DK/keys/agency-sign.pub" >/dev/null
"$CAMSIM" add --dir "$T/cs" --id R1 --file "$ORIG/RSMALL.bin" --category patrol >/dev/null
$IND probe --listen "$T/probe.sock" --agency-key "$DK/keys/agency-sign.key" \
	--agency-id "$DK_AGENCY" >"$T/probe.log" 2>&1 &
probe=$!
i=0
while [ ! -S "$T/probe.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$CAMSIM" serve --dir "$T/cs" --connect "$T/probe.sock" >"$T/cs.log" 2>&1
rc=$?
wait $probe
check "camsim against the doc-only dock: every camera-side rule holds" [ $? -eq 0 ]
sed 's/^/# probe: /' "$T/probe.log"
check "camsim ends that session cleanly after BYE" [ $rc -eq 0 ]
done_testing
