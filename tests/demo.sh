#!/bin/sh
# `make demo`: the evidence dock end to end on this machine, with simulated
# cameras (camsim) over the camera socket and a file:// storage target, or
# with DEMO_STORAGE=s3 an s3:// target: a throwaway single-node Ceph RGW on
# loopback (tests/s3/rgw.sh, HTTPS with a test CA; stopped at the end).
#
#   1. agency keys (Ed25519 to certify docks, P-256 to receive evidence),
#      the dock's key and certificate, the ledger's checkpoint key; a
#      witness on loopback; the agency's signed statements (docs/trust.md):
#      its vkey, the dock's custody certificate, the witness policy
#      (quorum 1, the loopback witness) and the recipient policy
#   2. three cameras, enrolled, each with two sample recordings
#   3. dockd started; the three cameras dock at once; progress shown
#   4. the custody history of one recording, printed
#   5. that recording decrypted with the agency's private key and compared
#      with the camera's original; `custody verify` of the whole ledger;
#      the auditor's check, `custody verify --agency build/demo/agency.vkey`
#      (checkpoint keys certified by the agency, checkpoints cosigned by
#      the witness of the agency's policy)
#
# Everything lives in build/demo/ (removed first, so the demo can be run
# again). What an auditor is given: build/demo/agency.vkey and
# build/demo/witness/w.vkey. Afterwards, for example:
#   build/bin/custody --config build/demo/dockd.conf history CAM-101/REC-1
#   build/bin/custody --config build/demo/dockd.conf verify
#   build/bin/custody --db build/demo/state/custody.db --read-only \
#       verify --agency build/demo/agency.vkey
# DEMO_PKCS11=1: the dock key and the checkpoint key are created in a
# softhsm2 PKCS#11 token (build/demo-hsm/, outside the dock's directories)
# and never exist as files (docs/operations.md "Key storage"); the demo
# then checks that no private key file is under build/demo/state.
# Exit 0 only when the decrypted recording matches the original.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# DEMO_BUILD: another build directory (default build).
B=${DEMO_BUILD:-build}
export TOP="$top" BUILD="$B" BIN="$top/$B/bin" TBIN="$top/$B/tests"
. "$top/tests/lib.sh"
. "$top/tests/dockd_lib.sh"
DEMO=$top/$B/demo
MB=${DEMO_MB:-6}        # size of each sample recording, MiB
RATE=${DEMO_RATE:-6000000} # camera link, bytes/s: slow enough to watch
CAMS="CAM-101 CAM-102 CAM-103"
STORAGE=${DEMO_STORAGE:-file}
DK_LOG_LEVEL=info

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; [ -f "$DEMO/dockd.log" ] &&
	tail -n 20 "$DEMO/dockd.log" | sed 's/^/  dockd: /' >&2; exit 1; }
trap 'kill $(jobs -p) 2>/dev/null' EXIT

say "Building"
make -s BUILD="$B" all >/dev/null || die "make all"
for b in dockd custody camsim; do [ -x "$BIN/$b" ] || die "$BIN/$b missing"; done
# Decryption is the agency's job (`custody decrypt`, on an evidence
# workstation that holds the private key); the evidence-format test tool is
# the fallback on trees without it.
if "$BIN/custody" help 2>&1 | grep -q '^  decrypt'; then
	HAVE_DECRYPT=1
else
	HAVE_DECRYPT=0
	make -s BUILD="$B" "$B/tests/test_evfile" >/dev/null || die "building the decryption tool"
fi

rm -rf "$DEMO"
if [ "$STORAGE" = s3 ]; then
	say "Starting a throwaway Ceph RGW (S3) on 127.0.0.1"
	for c in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
		command -v "$c" >/dev/null 2>&1 ||
			die "DEMO_STORAGE=s3 needs the Ceph packages ($c missing; packaging/install-deps.sh)"
	done
	# s3tool fetches the S3 copy, test_evfile (the evidence-format reader)
	# decrypts it without a ledger event
	make -s BUILD="$B" "$B/tests/tools/s3tool" "$B/tests/test_evfile" >/dev/null ||
		die "building s3tool and test_evfile"
	. "$top/tests/s3_lib.sh"
	s3_up # stops the RGW at exit (unless S3_RGW_DIR names a running one)
	DK_TARGET=s3
	DK_S3_BUCKET=demo-evidence-$(date +%s)
	DK_S3_PREFIX=precinct-7
	DK_S3_EXTRA="part_size_mb = 5
object_lock = compliance
object_lock_required = true"
	s3_bucket "$DK_S3_BUCKET" lock >/dev/null || die "creating bucket $DK_S3_BUCKET"
	echo "  endpoint  $S3_ENDPOINT_HTTPS (CA $S3_CA_FILE)"
	echo "  bucket    $DK_S3_BUCKET (Object Lock, COMPLIANCE retention from [retention]), prefix $DK_S3_PREFIX/"
elif [ "$STORAGE" != file ]; then
	die "DEMO_STORAGE must be file or s3"
fi

if [ "${DEMO_PKCS11:-0}" = 1 ]; then
	. "$top/tests/p11_lib.sh"
	{ p11_find && command -v softhsm2-util >/dev/null 2>&1; } ||
		die "DEMO_PKCS11=1 needs softhsm2 (packaging/install-deps.sh)"
	say "A PKCS#11 token (softhsm2) for the dock key and the checkpoint key"
	rm -rf "$top/$B/demo-hsm"
	p11_up "$top/$B/demo-hsm" dock || die "softhsm2 token"
	DK_KEY=$(p11_uri dock-key)
	DK_CKPT_KEY=$(p11_uri ckpt-key)
	echo "  token 'dock'           $P11_MODULE, SOFTHSM2_CONF=$SOFTHSM2_CONF, PIN in $P11_DIR/pin"
fi

say "Agency and dock keys ($DEMO)"
dk_init "$DEMO" storage || die "key and configuration setup"
echo "  agency signing key     $DEMO/keys/agency-sign.key (certifies docks)"
echo "  agency encryption key  $DEMO/keys/agency-enc.key (decrypts evidence; only its .pub is on the dock)"
if [ -n "${DK_KEY:-}" ]; then
	echo "  dock key               $DK_KEY"
	echo "  checkpoint key         $DK_CKPT_KEY"
	echo "  dock certificate       $DEMO/state/dock.cert"
else
	echo "  dock key, certificate  $DEMO/state/dock.key, $DEMO/state/dock.cert"
fi
echo "  configuration          $DK_CONF"

say "A witness on loopback (docs/witness.md; in real life: the DA's or an oversight board's machine)"
mkdir -p "$DEMO/witness"
"$CUSTODY" witness keygen --key "$DEMO/witness/w.key" --vkey "$DEMO/witness/w.vkey" \
	--name witness.demo/oversight-board >/dev/null || die "witness key"
"$CUSTODY" witness --listen 127.0.0.1:0 --state "$DEMO/witness/state" --key "$DEMO/witness/w.key" \
	--name witness.demo/oversight-board --log "dock.test/$DK_AGENCY $(cat "$DK/state/ckpt.vkey")" \
	>"$DEMO/witness/out" 2>"$DEMO/witness/log" &
WPID=$!
trap 'kill $(jobs -p) $WPID 2>/dev/null' EXIT
i=0; until grep -q '^vkey ' "$DEMO/witness/out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || die "the witness did not start"; sleep 0.05; done
WPORT=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$DEMO/witness/out")
printf '\n[witness]\nwitness = http://127.0.0.1:%s %s\n' "$WPORT" "$(cat "$DEMO/witness/w.vkey")" >>"$DK_CONF"
echo "  witness                http://127.0.0.1:$WPORT, state $DEMO/witness/state"
echo "  witness public key     $DEMO/witness/w.vkey (what an auditor is given)"

say "The agency's signed statements (docs/trust.md; signed at the agency, copied to the dock)"
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --key "$A" --agency-id "$DK_AGENCY" >"$DEMO/agency.vkey" ||
	die "custody agency-vkey"
echo "  agency vkey            $DEMO/agency.vkey (what an auditor is given, from the agency):"
sed 's/^/    /' "$DEMO/agency.vkey"
mkdir -p "$DEMO/agency"
"$CUSTODY" agency-sign custody-cert --key "$A" --agency-id "$DK_AGENCY" --dock-id "$DK_DOCK_ID" \
	--origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$DK/state/ckpt.vkey" --dock-pub "$dk_pub" \
	--days 365 --out "$DEMO/agency/custody.cert" >/dev/null || die "custody agency-sign custody-cert"
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DEMO/witness/w.vkey" --out "$DEMO/agency/witnesses.note" >/dev/null ||
	die "custody agency-sign witnesses"
"$CUSTODY" agency-sign recipients --key "$A" --agency-id "$DK_AGENCY" --version 1 \
	--recipient "$DK/keys/agency-enc.pub" --out "$DEMO/agency/recipients.note" >/dev/null ||
	die "custody agency-sign recipients"
echo "  custody certificate    $DEMO/agency/custody.cert (dock $DK_DOCK_ID, its checkpoint key and dock key, 365 days)"
echo "  witness policy         $DEMO/agency/witnesses.note (quorum 1: witness.demo/oversight-board)"
echo "  recipient policy       $DEMO/agency/recipients.note (p256 $("$CUSTODY" agency-keyid "$DK/keys/agency-enc.pub" 2>/dev/null | grep -Eo '[0-9a-f]{64}' | head -1))"
# dockd checks them at start under agency_vkey and records each once
# (custody_certified, witness_policy, recipient_policy events).
sed -i -e "/^checkpoint_interval_s/a custody_cert = $DEMO/agency/custody.cert\nwitness_policy = $DEMO/agency/witnesses.note\nagency_vkey = $DEMO/agency.vkey" \
	-e "/^recipients = /a recipient_policy = $DEMO/agency/recipients.note\nagency_vkey = $DEMO/agency.vkey" \
	"$DK_CONF" || die "configuring the agency statements"
echo "  configured in          $DK_CONF ([ledger] custody_cert, witness_policy, agency_vkey;"
echo "                         [encryption] recipient_policy, agency_vkey)"

say "Enrolling three simulated cameras, two ${MB} MiB recordings each"
for c in $CAMS; do
	dk_camera "$c" 2 $((MB * 1048576)) "OFFICER-${c#CAM-}" || die "camera $c"
	echo "  $c  officer OFFICER-${c#CAM-}  $("$CAMSIM" list --dir "$DK/cams/$c" | head -1 | cut -d" " -f6) recordings"
done
"$DOCKD" --config "$DK_CONF" cameras 2>/dev/null | sed 's/^/  /'
# `custody status` asks dockd through the query service; the service answers
# only users with a role in the agency (deny by default).
me=$(id -un)
"$CUSTODY" --config "$DK_CONF" user add "$me" --role supervisor --agency "$DK_AGENCY" \
	--reason "demo operator" >/dev/null 2>&1 &&
	echo "  $me registered as a supervisor of $DK_AGENCY (for custody status)"

say "Starting dockd (vault $DK_VAULT, storage target $(dk_target_url))"
dk_start || die "dockd did not start"
echo "  dockd pid $DK_PID, log $DK_LOG"

say "Docking the three cameras at once"
for c in $CAMS; do
	dk_dock "$c" --slow "$RATE" --chunk 262144 &
done
# Progress: `custody status` (dockd's live view through the query service);
# the dock's own table (read-only) if the service does not answer.
progress() {
	if "$CUSTODY" --config "$DK_CONF" status >"$DEMO/status.out" 2>/dev/null; then
		grep -v '^$' "$DEMO/status.out" | grep -v '^Dock ' | sed 's/^/  /'
		echo "  --"
		return
	fi
	python3 - "$DK_DB" "$DK_CHUNK" <<'EOF'
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
chunk = int(sys.argv[2])
rows = con.execute("SELECT evidence_id, state, size, durable_chunks FROM dock_recordings "
                   "ORDER BY evidence_id").fetchall()
parts = []
for e, st, size, dur in rows:
    if st == "pulling":
        parts.append("%s %s %d%%" % (e, st, min(100, dur * chunk * 100 // max(size, 1))))
    else:
        parts.append("%s %s" % (e, st))
print("  " + " | ".join(parts) if parts else "  (waiting for cameras)")
EOF
}
i=0
while [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state IN ('storage_verified','released')")" != 6 ]; do
	[ $((i % 2)) = 0 ] && progress
	i=$((i + 1))
	[ $i -lt 1200 ] || die "recordings not stored within 10 minutes"
	dk_alive || die "dockd exited"
	sleep 0.5
done
progress
wait_cams() { for p in $(jobs -p); do wait "$p" 2>/dev/null; done; }
wait_cams
# Recordings stored after a camera's release wait are released when it
# docks next (as at the start of the next shift).
if [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state='released'")" != 6 ]; then
	echo "  docking again to release what was verified after the cameras left"
	for c in $CAMS; do dk_dock "$c"; done
fi
progress
echo "  recordings left on the cameras:"
for c in $CAMS; do
	echo "    $c: $("$CAMSIM" list --dir "$DK/cams/$c" | tail -n +2 | wc -l)"
done

ID=CAM-101/REC-1
say "Custody history of $ID"
"$CUSTODY" --config "$DK_CONF" history "$ID" || die "custody history"

if [ "$STORAGE" = s3 ]; then
	say "Objects in s3://$DK_S3_BUCKET (tests/tools/s3tool head)"
	for c in $CAMS; do
		for r in REC-1 REC-2; do
			k=$(dk_s3_key "$c" "$r")
			dk_s3tool head "$k" >"$DEMO/head.out" 2>&1 || die "no object $k"
			printf '  %-36s %9s bytes  etag %s  %s lock %s until %s\n' "$k" \
				"$(sed -n 's/^size //p' "$DEMO/head.out")" \
				"$(sed -n 's/^etag //p' "$DEMO/head.out")" \
				"$(dk_s3tool tags "$k" 2>/dev/null | tr '\n' ' ')" \
				"$(sed -n 's/^lock-mode //p' "$DEMO/head.out")" \
				"$(date -u -d "@$(sed -n 's/^retain-until //p' "$DEMO/head.out")" +%F 2>/dev/null)"
		done
	done
	say "Fetching $ID back from S3 and decrypting it with the agency key"
	dk_same_s3 CAM-101 REC-1 || die "the S3 copy does not decrypt to the original"
	echo "  s3://$DK_S3_BUCKET/$(dk_s3_key CAM-101 REC-1): decrypts to the camera's original bytes"
fi

say "Decrypting $ID with the agency key and comparing with the camera's original"
rm -f "$DEMO/decrypted-REC-1.bin"
if [ "$HAVE_DECRYPT" = 1 ]; then
	echo "  custody --config $DK_CONF decrypt --key keys/agency-enc.key --reason ... $ID"
	"$CUSTODY" --config "$DK_CONF" decrypt --key "$DK/keys/agency-enc.key" \
		--reason "demo: compare with the camera's original" --vault "$DK_VAULT" \
		--out "$DEMO/decrypted-REC-1.bin" "$ID" >"$DEMO/decrypt.out" 2>&1
	rc=$?
	sed 's/^/  /' "$DEMO/decrypt.out"
	[ $rc = 0 ] || die "custody decrypt failed"
else
	dk_decrypt CAM-101 REC-1 "$DEMO/decrypted-REC-1.bin" || die "decryption failed"
fi
orig=$(sha256sum <"$DEMO/orig/CAM-101/REC-1.bin" | cut -d' ' -f1)
dec=$(sha256sum <"$DEMO/decrypted-REC-1.bin" | cut -d' ' -f1)
echo "  original   sha256 $orig"
echo "  decrypted  sha256 $dec"
cmp -s "$DEMO/orig/CAM-101/REC-1.bin" "$DEMO/decrypted-REC-1.bin" ||
	die "the decrypted recording differs from the original"
echo "  identical"

say "Verifying the ledger"
dk_stop || echo "  (dockd exit status $?)"
# dockd's last checkpoint (before `custody verify` records its run, which
# `custody` checkpoints too, without a witness)
N=$(sqlite3 "$DK_DB" "SELECT max(size) FROM checkpoints")
"$CUSTODY" --config "$DK_CONF" verify || die "custody verify"

say "dockd's newest checkpoint, cosigned by the witness"
sed 's/^/  /' "$DK/anchor/checkpoint.$N.cosigned" || die "no cosigned checkpoint $N"
echo "  an auditor holding only $DK/state/ckpt.vkey and $DEMO/witness/w.vkey checks it:"
out=$("$CUSTODY" audit --state "$DEMO/auditor" --vkey "$DK/state/ckpt.vkey" \
	--note "$DK/anchor/checkpoint.$N.cosigned" --witnesses "$DEMO/witness/w.vkey" \
	--quorum 1) || die "custody audit: $out"
printf '%s\n' "$out" | sed 's/^/  /'
[ "$(sqlite3 "$DK_DB" "SELECT count(*) FROM checkpoint_cosigs WHERE size = $N")" -ge 1 ] ||
	die "the witness did not cosign checkpoint $N"

say "The auditor's check: custody verify --agency (docs/trust.md, \"An auditor's procedure\")"
ev() { sqlite3 "$DK_DB" "SELECT group_concat(seq, ',') FROM events WHERE action = $1"; }
c53=$(ev 53) c54=$(ev 54) c55=$(ev 55)
[ -n "$c53" ] && [ -n "$c54" ] && [ -n "$c55" ] || die "dockd did not record the agency's statements"
echo "  dockd recorded the agency's statements: custody_certified (event $c53), recipient_policy ($c54), witness_policy ($c55)"
echo "  holding only $DEMO/agency.vkey (from the agency, not the dock) and the dock's ledger:"
echo "  custody --db $DK_DB --read-only verify --agency $DEMO/agency.vkey --external $DK/anchor"
"$CUSTODY" --db "$DK_DB" --read-only verify --agency "$DEMO/agency.vkey" \
	--external "$DK/anchor" >"$DEMO/verify-agency.out" 2>&1
rc=$?
sed 's/^/  /' "$DEMO/verify-agency.out"
[ $rc = 0 ] || die "custody verify --agency (exit $rc)"
# The newest checkpoint must be the witnessed one (no grace needed): the
# keys chain to the agency key and the witness of its policy cosigned.
W=$(sed -n 's/.*witnessed through event \([0-9]*\)$/\1/p' "$DEMO/verify-agency.out")
[ "${W:-0}" = "$N" ] || die "custody verify --agency: witnessed through ${W:-?}, newest checkpoint $N"
echo "  every checkpoint key is certified by $(cut -d+ -f1 "$DEMO/agency.vkey"); checkpoint $N is cosigned by the policy's witness"

if [ -n "${DK_KEY:-}" ]; then
	say "Keys in the token"
	found=$(grep -rl "PRIVATE KEY" "$DEMO/state" "$DK_VAULT" "$DK/anchor" 2>/dev/null)
	[ -z "$found" ] || die "private key file(s) on the dock: $found"
	echo "  no private key file under $DEMO/state, the vault or the anchor: the token signed"
	echo "  every AUTH_DOCK, release receipt and checkpoint"
fi

say "Done"
echo "  Try: build/bin/custody --config build/demo/dockd.conf history $ID"
echo "       build/bin/custody --config build/demo/dockd.conf verify"
echo "       build/bin/custody --db build/demo/state/custody.db --read-only verify --agency build/demo/agency.vkey"
echo "       (finds 'unwitnessed' once the newest checkpoint - \`custody verify\` above made one, no"
echo "       witness saw it, the demo's witness is stopped - is older than --witness-grace, 600 s)"
echo "  An auditor is given: build/demo/agency.vkey (the agency's key) and build/demo/witness/w.vkey (the witness's)"
exit 0
