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
#   2. three cameras, enrolled, each with two sample recordings; a USB
#      mass-storage camera (FAT32 card image, enrolled by VID:PID:serial)
#      docked through the sandboxed reader with `dockd volume-ingest`,
#      stored, verified and deleted from the card (where the machine has
#      the tools and FUSE; the demo says plainly when it has not)
#   3. dockd started; the three cameras dock at once; progress shown
#   4. the custody history of one recording, printed
#   5. that recording decrypted with the agency's private key and compared
#      with the camera's original; then (after 6 and 7) `custody verify`
#      of the whole ledger and the auditor's check, `custody verify --agency build/demo/agency.vkey`
#      (checkpoint keys certified by the agency, checkpoints cosigned by
#      the witness of the agency's policy)
#   6. local purge, with faked time: [vault] keep = 2d, `dockd purge
#      --dry-run` today and 3 days later, then dockd started under
#      libfaketime (LD_PRELOAD, FAKETIME=+3d) purges the six vault copies
#      (local_purged in the history; the storage copies stay)
#   7. (as root: two supervisors as OS users demo-sgt-diaz and
#      demo-lt-park, created with useradd and removed at exit) a fourth
#      camera's recording in category 'training', kept 0 days in this demo
#      ([retention] training = 0d: due at once, no faked time); a legal
#      hold set (a destruction request refused while it lasts) and
#      released; `custody due`, `destroy plan`, `destroy request` by one
#      supervisor, `destroy approve` refused to the requester and given by
#      the other; dockd deletes the vault and storage copies and records
#      `destroyed`. With DEMO_STORAGE=s3 the bucket's COMPLIANCE Object
#      Lock refuses the delete: the demo shows the failed `destroyed`
#      and that both copies remain.
#   8. a court package of the recording of step 4 (`custody export`, a
#      BagIt tar in build/demo/export/, docs/court-package.md), checked with
#      `custody verify-package --agency build/demo/agency.vkey` and the
#      independent RFC 8493 validator tests/tools/bagit_check.py; a share
#      of it (`custody share`, docs/evidence-format.md §15) to a prosecutor's
#      P-256 key pair made here (build/demo/export/recipient/), which the
#      prosecutor decrypts from the package's evidence file with that key
#      alone (`custody decrypt --share`, no ledger, no agency key) and
#      which is compared byte for byte with the camera's original
#   9. then the checks of step 5 (`custody verify`, the witness's
#      cosignature, `custody verify --agency`) cover all of it (the
#      exported and shared events too)
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
# Exit 0 only when the decrypted recording matches the original, the
# purge, hold and destruction did what the demo shows, the package passes
# both package checks, the recipient's decryption matches the original,
# and both ledger checks pass.
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

# A USB mass-storage camera (one that shows the dock a FAT32 volume and
# signs nothing), docked beside the protocol cameras where this machine
# allows it: a card image read through the sandboxed FUSE reader.
say "Docking a USB mass-storage camera (a FAT32 card image)"
MSC_ID=1209:0002:MSC-201
msc_missing=
for c in mkfs.vfat mmd mcopy fusefat unshare; do
	command -v "$c" >/dev/null 2>&1 || msc_missing="$msc_missing $c"
done
[ -c /dev/fuse ] || msc_missing="$msc_missing /dev/fuse"
if [ -n "$msc_missing" ]; then
	echo "  skipped: this machine cannot read a camera volume (missing:$msc_missing;"
	echo "  packaging/install-deps.sh installs the tools)"
else
	MSC_IMG=$DEMO/msc-card.img
	mkfs.vfat -C -F 32 "$MSC_IMG" 65536 >/dev/null && mmd -i "$MSC_IMG" ::DCIM ::DCIM/100MEDIA ||
		die "building the card image"
	dk_randfile "$DEMO/msc-vid1.mp4" $((MB * 1048576)) msc1
	mcopy -i "$MSC_IMG" "$DEMO/msc-vid1.mp4" ::DCIM/100MEDIA/VID0001.MP4 || die "filling the card image"
	printf '$GPRMC,123519,A,4807.038,N\r\n' >"$DEMO/msc-vid1.gps"
	mcopy -i "$MSC_IMG" "$DEMO/msc-vid1.gps" ::DCIM/100MEDIA/VID0001.GPS
	"$DOCKD" --config "$DK_CONF" enroll --storage "$MSC_ID" --officer OFFICER-201 \
		--profile generic-dcim --reason "demo: issued" >/dev/null || die "enrolling $MSC_ID"
	echo "  enrolled $MSC_ID (USB VID:PID:serial), officer OFFICER-201, profile generic-dcim"
	echo "  dockd volume-ingest: what the daemon runs when udev reports the camera plugged in"
	if "$DOCKD" --config "$DK_CONF" volume-ingest --camera "$MSC_ID" --fs vfat "$MSC_IMG" \
		>>"$DK_LOG" 2>&1; then
		dk_sql "SELECT evidence_id, state FROM dock_recordings WHERE evidence_id LIKE 'MSC-201/%'" |
			sed 's/^/  /; s/|/  /'
		MSC_E=$(dk_sql "SELECT evidence_id FROM dock_recordings WHERE evidence_id LIKE 'MSC-201/%' AND size=$((MB * 1048576))")
		[ -n "$MSC_E" ] && [ "$(dk_state "$MSC_E")" = released ] &&
			dk_py 'assert any(a == "storage_verified" for _, a, _, _ in events(args[0]))' "$MSC_E" ||
			die "the mass-storage recording was not stored, verified and released"
		echo "  $MSC_E and its GPS sidecar:"
		echo "  unsigned source (no camera signature), read twice past the page cache, encrypted,"
		echo "  stored and verified, then deleted from the card (camera_released {deleted})."
		echo "  What is left on the card:"
		mdir -i "$MSC_IMG" -b -/ ::DCIM 2>/dev/null | sed 's/^/    left on the card: /'
	else
		echo "  this machine could not read the card (the reader needs root or user"
		echo "  namespaces, and FUSE); see $DK_LOG. The protocol cameras go on."
	fi
fi

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
while [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE evidence_id LIKE 'CAM-%' AND state IN ('storage_verified','released')")" != 6 ]; do
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
if [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE evidence_id LIKE 'CAM-%' AND state='released'")" != 6 ]; then
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

# ---- The life of evidence after docking (docs/retention.md, docs/operations.md
# "Vault space and local purge"). The ledger is verified afterwards (below),
# so the checks there cover these events too.
n_ev() { dk_sql "SELECT count(*) FROM events WHERE evidence_id='$1' AND action=$2 AND outcome=${3:-1}"; }
wait_ev() { # EVID ACTION COUNT: poll the ledger, at most 60 s
	i=0
	until [ "$(n_ev "$1" "$2")" -ge "$3" ]; do
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		dk_alive || return 1
		sleep 0.2
	done
}
FT_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
say "Local purge: the vault keeps a copy for a while after the storage copy is verified"
echo "  The dock's own disk (the vault) is not the evidence store: once the storage"
echo "  copy is verified, the vault copy is kept for a window ([vault] keep) and then"
echo "  purged, so the dock never fills up. For the demo the window is 2 days, and"
echo "  the dock's clock is moved 3 days forward with libfaketime (faked time)."
dk_stop || echo "  (dockd exit status $?)"
sed -i -e '/^\[vault\]/a keep = 2d\npurge_interval_s = 1' \
	-e '/^\[retention\]/a training = 0d' "$DK_CONF" || die "configuring [vault] keep"
echo "  $DK_CONF: [vault] keep = 2d"
if [ -z "$FT_LIB" ]; then
	echo "  (skipped: libfaketime is missing; Debian package faketime, packaging/install-deps.sh)"
else
	echo "  today:   dockd --config $DK_CONF purge --dry-run"
	"$DOCKD" --config "$DK_CONF" purge --dry-run 2>&1 | sed 's/^/    /'
	echo "  3 days later (FAKETIME=+3d):   dockd purge --dry-run"
	env LD_PRELOAD="$FT_LIB" FAKETIME=+3d "$DOCKD" --config "$DK_CONF" purge --dry-run 2>&1 |
		sed 's/^/    /'
	echo "  dockd started 3 days later (FAKETIME=+3d): its purge worker runs"
	DK_WRAP="env LD_PRELOAD=$FT_LIB FAKETIME=+3d"
	dk_start || die "dockd (faked time) did not start"
	DK_WRAP=
	for c in $CAMS; do
		for r in REC-1 REC-2; do
			wait_ev "$c/$r" 13 1 || die "no local_purged for $c/$r"
		done
	done
	dk_stop || echo "  (dockd exit status $?)"
	echo "  vault files left for the three cameras: $(find "$DK_VAULT" -name '*.bcde' | wc -l)"
	if [ "$STORAGE" = s3 ]; then
		dk_same_s3 CAM-101 REC-1 || die "the S3 copy of $ID does not decrypt to the original"
		echo "  the S3 copy of $ID is still there and decrypts to the camera's original"
	else
		want=$(dk_sql "SELECT json_extract(details, '\$.ct_sha256') FROM events WHERE evidence_id='$ID' AND action=5")
		got=$(sha256sum <"$DK_STORE/$DK_AGENCY/CAM-101/REC-1.bcde" | cut -d' ' -f1)
		[ -n "$want" ] && [ "$got" = "$want" ] || die "the storage copy of $ID differs from the ledger's hash"
		echo "  the storage copy of $ID is still there, with the hash the ledger recorded at ingest"
		echo "    (ct_sha256 $got)"
	fi
	echo "  custody history $ID now also says (dated 3 days ahead: dockd's faked clock):"
	"$CUSTODY" --config "$DK_CONF" history "$ID" >"$DEMO/history2.out" 2>&1 || die "custody history"
	grep -q local_purged "$DEMO/history2.out" || die "no local_purged in the history of $ID"
	grep -E '^(SEQ|[0-9]+ .* local_purged )' "$DEMO/history2.out" | sed 's/^/  /'
fi

# Two supervisors: real OS users (the query service knows who asks from
# the socket, SO_PEERCRED), removed at the end.
SUP1= SUP2= CREATED_USERS=
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then
	for pair in SUP1:demo-sgt-diaz SUP2:demo-lt-park; do
		var=${pair%%:*}; u=${pair#*:}
		if ! id "$u" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin "$u" >/dev/null 2>&1 ||
				die "useradd $u"
			CREATED_USERS="$CREATED_USERS $u"
		fi
		eval "$var=\$u"
	done
	trap 'kill $(jobs -p) $WPID 2>/dev/null; for u in $CREATED_USERS; do userdel "$u" >/dev/null 2>&1; done' EXIT
fi
if [ -z "$SUP1" ]; then
	say "Legal hold and two-person destruction: skipped"
	echo "  (they need two supervisors as separate OS users: run the demo as root)"
else
	say "A training recording: category 'training', kept 0 days in this demo"
	echo "  So that one item is past its retention date at once (no faked time here:"
	echo "  a 0-day category in [retention], 'training = 0d'). Real categories keep"
	echo "  evidence for months or years (patrol 90d in this demo)."
	dk_camera_cats CAM-104 $((MB * 1048576)) training || die "camera CAM-104"
	chmod 0755 "$DK" "$DK/state" # the supervisors read the configuration
	dk_start || die "dockd did not start"
	dk_dock CAM-104
	T1=CAM-104/REC-1
	dk_wait_stored "$T1" 120 || die "$T1 not stored"
	echo "  $T1 docked, stored and verified in $(dk_target_url)"
	for u in "$SUP1" "$SUP2"; do
		"$CUSTODY" --config "$DK_CONF" user add "$u" --role supervisor --agency "$DK_AGENCY" \
			--reason "demo supervisor" >/dev/null 2>&1 || die "custody user add $u"
	done
	echo "  supervisors of $DK_AGENCY: $SUP1 and $SUP2 (OS users; custody user add, docs/custody-access.md)"
	# as USER custody-args...: show the command as the supervisor types it, run it
	as() {
		u=$1; shift; line=""; skip=0
		for a in "$@"; do
			if [ $skip = 1 ]; then skip=0; continue; fi
			if [ "$a" = --config ]; then skip=1; continue; fi
			case "$a" in *" "*) line="$line '$a'" ;; *) line="$line $a" ;; esac
		done
		echo "$u\$ custody$line"
		runuser -u "$u" -- "$CUSTODY" "$@"
	}
	# the event a command recorded, from its JSON answer
	recorded() { sed -n 's/^ *"event": "\(.*\)",$/  -> recorded: \1/p; s/^ *"seq": \([0-9]*\),$/     (ledger event \1)/p'; }

	say "A legal hold, set and released by a supervisor"
	echo "  A hold (a subpoena, a complaint) stops any destruction, and any local purge,"
	echo "  until a supervisor releases it."
	as "$SUP1" --config "$DK_CONF" hold set "$T1" --reason "subpoena, case 24-113" 2>&1 |
		sed 's/^/    /'
	[ "$(n_ev "$T1" 17)" = 1 ] || die "hold_set not recorded"
	as "$SUP1" --config "$DK_CONF" destroy request "$T1" --reason "retention expired" >"$DEMO/refused.out" 2>&1 &&
		die "a destruction request for a held item was accepted"
	sed 's/^/    /' "$DEMO/refused.out"
	echo "    (refused while held: recorded as a denied destruction_requested and alerted)"
	as "$SUP1" --config "$DK_CONF" hold release "$T1" --reason "case 24-113 closed" 2>&1 |
		sed 's/^/    /'
	[ "$(n_ev "$T1" 18)" = 1 ] || die "hold_cleared not recorded"

	say "Two-person destruction of $T1 (docs/retention.md \"Destruction\")"
	echo "  items past their retention date and not under hold:"
	as "$SUP1" --config "$DK_CONF" due >"$DEMO/due.out" 2>&1
	sed 's/^/    /' "$DEMO/due.out"
	grep -q "\"$T1\"" "$DEMO/due.out" || die "custody due does not list $T1"
	echo "  the plan: what would be deleted where (recorded as a ledger_read only):"
	as "$SUP1" --config "$DK_CONF" destroy plan "$T1" --reason "retention expired" 2>&1 |
		sed 's/^/    /'
	as "$SUP1" --config "$DK_CONF" destroy request "$T1" --reason "retention expired" >"$DEMO/request.out" 2>&1 ||
		{ cat "$DEMO/request.out"; die "destroy request"; }
	head -n 1 "$DEMO/request.out" | sed 's/^/    /'
	recorded <"$DEMO/request.out" | sed 's/^/    /'
	echo "  the requester may not approve it alone:"
	as "$SUP1" --config "$DK_CONF" destroy approve "$T1" --reason "ok" >"$DEMO/refused.out" 2>&1 &&
		die "the requester approved his own request"
	sed 's/^/    /' "$DEMO/refused.out"
	echo "  a second supervisor approves:"
	as "$SUP2" --config "$DK_CONF" destroy approve "$T1" --reason "checked, retention expired" >"$DEMO/approve.out" 2>&1 ||
		{ cat "$DEMO/approve.out"; die "destroy approve"; }
	head -n 1 "$DEMO/approve.out" | sed 's/^/    /'
	recorded <"$DEMO/approve.out" | sed 's/^/    /'
	# destroyed (23), ok or failed: dockd acts within about a second
	i=0
	until [ "$(dk_sql "SELECT count(*) FROM events WHERE evidence_id='$T1' AND action=23")" -ge 1 ]; do
		i=$((i + 1)); [ $i -lt 300 ] || die "dockd did not record destroyed for $T1"
		dk_alive || die "dockd exited"
		sleep 0.2
	done
	if [ "$(n_ev "$T1" 23 2)" -ge 1 ]; then
		err=$(dk_sql "SELECT json_extract(details, '\$.error') FROM events WHERE evidence_id='$T1' AND action=23")
		[ "$STORAGE" = s3 ] || die "destroyed failed: $err"
		# The bucket's COMPLIANCE lock, set at upload, outlives a 0-day
		# category; S3 keeps its own clock, which no faked time moves.
		echo "  dockd found the approval in the ledger, but the S3 bucket refused the delete:"
		echo "    $err"
		echo "  The bucket's Object Lock (COMPLIANCE) keeps the object until its retain-until"
		echo "  date, whoever asks: dockd recorded destroyed (failed), raised an alert and"
		echo "  deleted nothing (the storage copy goes first). A file:// target, the default"
		echo "  \`make demo\`, shows the deletion."
		[ -f "$(dk_vault_file CAM-104 REC-1)" ] || die "the vault copy was deleted after a refusal"
		dk_s3tool head "$(dk_s3_key CAM-104 REC-1)" >/dev/null 2>&1 || die "the S3 copy is gone after a refusal"
		echo "    vault copy and S3 object: both still there"
	else
		echo "  dockd found the approval in the ledger and deleted both copies:"
		V1=$(dk_vault_file CAM-104 REC-1)
		[ ! -e "$V1" ] || die "$V1 still there"
		echo "    vault copy    $V1: gone"
		if [ "$STORAGE" = s3 ]; then
			K1=$(dk_s3_key CAM-104 REC-1)
			dk_s3tool head "$K1" >"$DEMO/head.out" 2>&1 && die "s3 object $K1 still there"
			echo "    storage copy  s3://$DK_S3_BUCKET/$K1: gone ($(head -n 1 "$DEMO/head.out"))"
		else
			S1=$DK_STORE/$DK_AGENCY/CAM-104/REC-1.bcde
			[ ! -e "$S1" ] || die "$S1 still there"
			echo "    storage copy  $S1: gone"
		fi
	fi
	echo "  custody history $T1: every step stays in the ledger, with the recording's hash"
	"$CUSTODY" --config "$DK_CONF" history "$T1" 2>&1 | sed 's/^/  /'
fi

# ---- A court package and a share (issue 13; docs/court-package.md,
# docs/evidence-format.md §15). Made while dockd runs, so its last,
# witnessed checkpoint (at stop, below) covers the exported and shared
# events too.
say "A court package of $ID and a share of it to a prosecutor's key"
EXP=$DEMO/export
mkdir -p "$EXP/recipient"
dk_alive || dk_start || die "dockd did not start"
# The stored file: the vault copy, else the file:// storage copy (custody
# finds either); with S3 and the vault copy purged, the S3 object fetched
# into a vault-shaped directory of our own.
VOPT=
if [ "$STORAGE" = s3 ] && [ ! -f "$(dk_vault_file CAM-101 REC-1)" ]; then
	mkdir -p "$EXP/s3copy/$DK_AGENCY/CAM-101"
	dk_s3tool get "$(dk_s3_key CAM-101 REC-1)" "$EXP/s3copy/$DK_AGENCY/CAM-101/REC-1.bcde" \
		>/dev/null 2>&1 || die "fetching $ID from S3"
	VOPT="--vault $EXP/s3copy"
	echo "  (the vault copy is purged: the S3 object, fetched to $EXP/s3copy, is exported)"
fi
PKG=$EXP/court-$(echo "$ID" | tr / -).tar
echo "  custody --config $DK_CONF export $ID --out $PKG --reason ... --case 24-113"
"$CUSTODY" --config "$DK_CONF" export "$ID" $VOPT --out "$PKG" \
	--reason "demo: discovery for the prosecutor" --case 24-113 >"$DEMO/export.out" 2>&1 ||
	{ sed 's/^/  /' "$DEMO/export.out"; die "custody export"; }
sed 's/^/  /' "$DEMO/export.out"
echo "  in it (BagIt, RFC 8493; VERIFY.md tells a defense expert how to check it):"
tar -tf "$PKG" | sed 's/^/    /'
echo "  custody verify-package $PKG --agency $DEMO/agency.vkey"
"$CUSTODY" verify-package "$PKG" --agency "$DEMO/agency.vkey" >"$DEMO/vpkg.out" 2>&1
rc=$?
sed 's/^/    /' "$DEMO/vpkg.out"
[ $rc = 0 ] || die "custody verify-package (exit $rc)"
echo "  an independent BagIt validator written from RFC 8493 alone (tests/tools/bagit_check.py):"
python3 "$top/tests/tools/bagit_check.py" "$PKG" >"$DEMO/bagit.out" 2>&1
rc=$?
sed 's/^/    /' "$DEMO/bagit.out"
[ $rc = 0 ] || die "tests/tools/bagit_check.py (exit $rc)"

R=$EXP/recipient
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$R/prosecutor.key" 2>/dev/null) &&
	openssl pkey -in "$R/prosecutor.key" -pubout -out "$R/prosecutor.pub" ||
	die "the recipient's key pair"
echo "  the prosecutor's key pair (made by the prosecutor; only the .pub is sent to the agency):"
echo "    $R/prosecutor.key, $R/prosecutor.pub"
UNTIL=$(date -u -d '+30 days' +%Y-%m-%d)
SHARE=$EXP/$(echo "$ID" | tr / -).share.json
echo "  custody --config $DK_CONF share $ID --key keys/agency-enc.key --to prosecutor.pub --case 24-113 --until $UNTIL ..."
"$CUSTODY" --config "$DK_CONF" share "$ID" --key "$DK/keys/agency-enc.key" $VOPT \
	--to "$R/prosecutor.pub" --case 24-113 --until "$UNTIL" \
	--reason "demo: disclosure to the prosecutor" --out "$SHARE" >"$DEMO/share.out" 2>&1 ||
	{ sed 's/^/  /' "$DEMO/share.out"; die "custody share"; }
sed 's/^/    /' "$DEMO/share.out"
echo "  the ledger records both (before the package and the share file existed):"
dk_sql "SELECT seq, CASE action WHEN 20 THEN 'exported' WHEN 21 THEN 'shared' END,
	coalesce(json_extract(details, '\$.package'), 'to key ' || substr(json_extract(details, '\$.recipient_key_id'), 1, 16)),
	coalesce(json_extract(details, '\$.until'), json_extract(details, '\$.format'))
	FROM events WHERE evidence_id = '$ID' AND outcome = 1 AND
	(action = 20 AND json_extract(details, '\$.command') = 'export' OR action = 21)" | sed 's/|/  /g; s/^/    /'
echo "  the prosecutor, with the package, the share file and their own key (no ledger, no agency key):"
B1=$(tar -tf "$PKG" | grep "/data/items/$ID/evidence.bcde\$") || die "no evidence file in $PKG"
tar -xOf "$PKG" "$B1" >"$R/evidence.bcde" || die "extracting $B1"
echo "    custody decrypt --share $(basename "$SHARE") --key prosecutor.key --file evidence.bcde --out REC-1.mp4"
"$CUSTODY" decrypt --share "$SHARE" --key "$R/prosecutor.key" --file "$R/evidence.bcde" \
	--out "$R/REC-1.mp4" >"$DEMO/rdecrypt.out" 2>&1
rc=$?
sed 's/^/    /' "$DEMO/rdecrypt.out"
[ $rc = 0 ] || die "the recipient's custody decrypt --share (exit $rc)"
cmp -s "$DEMO/orig/CAM-101/REC-1.bin" "$R/REC-1.mp4" ||
	die "the recipient's decrypted recording differs from the camera's original"
echo "    identical to the camera's original, byte for byte"
echo "    (sha256 $(sha256sum <"$R/REC-1.mp4" | cut -d' ' -f1))"

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
