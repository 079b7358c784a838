#!/bin/sh
# USB mass-storage cameras, ingest (issue 14): `dockd volume-ingest` docks
# an enrolled camera's FAT32 or exFAT image through the sandboxed reader
# (docs/dockd.md, "Mass-storage cameras"). Shows: every recording and
# sidecar of the profile read, hashed and encrypted into the vault in one
# pass, read again past the page cache, ingested with "source": "unsigned"
# and the volume's facts, decrypts to the original bytes, stored in the
# file:// target, `custody verify` passes and `custody history` says
# "unsigned source"; decoys are left out and recorded (volume_listed); the
# image is not written; a re-docked camera ingests nothing twice; a file
# that changes between the two reads is quarantined, never ingested, and
# ingested at the next docking; a pull killed mid-file (dockd killed)
# loses nothing and completes at the next docking (from byte 0:
# ingest_restarted); a volume whose id file names another camera and an
# unenrolled camera are refused and alerted; files wiped by the camera's
# own tool are released (camera_released, "absent at next docking").
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
for c in mkfs.vfat fsck.vfat fsck.exfat mcopy mmd mdel mdir fusefat mkfs.exfat mount.exfat-fuse losetup unshare blkid; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
dk_require
mktmp
VOL0=$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l)
DK_RELEASE_WAIT=30
dk_init "$T/dk" storage || { not_ok "dk_init"; done_testing; }
SER=BC200-0042
# the camera's profile: its id file, its clock two hours ahead of UTC
cat >>"$DK_CONF" <<EOC

[profile keep]
recordings = DCIM/*/*.MP4, DCIM/*/*.MOV
sidecars = DCIM/*/*.GPS
id_file = MISC/DEVICE.ID
file_tz = +02:00
release = keep

[profile bc200]
recordings = DCIM/*/*.MP4, DCIM/*/*.MOV
sidecars = DCIM/*/*.GPS
id_file = MISC/DEVICE.ID
file_tz = +02:00
release = delete
EOC
"$DOCKD" --config "$DK_CONF" enroll --serial $SER --pubkey "$(openssl rand -hex 32)" \
	--officer OFF-7 --model MSC --reason "test enrolment" >/dev/null || not_ok "enroll"
O=$T/orig
mkdir -p "$O"
sha() { sha256sum "$1" | cut -d' ' -f1; }
evid_of() { dk_sql "SELECT evidence_id FROM dock_recordings WHERE sha256='$(sha "$1")'"; }
ingest() { # [VAR=... ] IMAGE [FS]: one docking, dockd until idle
	timeout 120 "$DOCKD" --config "$DK_CONF" volume-ingest --camera "${CAM:-$SER}" \
		--profile "${PROF:-keep}" --fs "${2:-auto}" "$1" >>"$DK_LOG" 2>&1
}
n_action() { dk_sql "SELECT count(*) FROM events WHERE action=$1"; }
act() { grep -E "^\s*CUST_A_[A-Z_]+( = [0-9]+)?,\s*/\* $1[: ]" "$TOP/custody/event.h" >/dev/null &&
	dk_py 'print([k for k, v in names.items() if v == args[0]][0])' "$1"; }
A_INGESTED=$(act ingested); A_LISTED=$(act volume_listed); A_RELEASED=$(act camera_released)
A_QUAR=$(act quarantined); A_RESTART=$(act ingest_restarted); A_REJ=$(act device_rejected)
ingest_attack() { # ATTACK ARG IMAGE FS: the test build's reader misbehaves
	VOL_ATTACK=$1 VOL_ATTACK_ARG=$2 timeout 120 "$TBIN/dockd_attack" --config "$DK_CONF" \
		volume-ingest --camera "$SER" --profile "${PROF:-keep}" --fs "$4" "$3" >>"$DK_LOG" 2>&1
}
with_prof() { # PROFILE CMD...: CMD with that profile
	PROF=$1; shift; "$@"; wp_rc=$?; PROF=keep; return $wp_rc
}
ingested_of() { # EVID: the ingested event's details
	dk_sql "SELECT details FROM events WHERE action=$A_INGESTED AND evidence_id='$1'"; }
same_vault() { # ORIG EVID
	dk_decrypt_file "$DK_VAULT/$DK_AGENCY/$2.bcde" "$T/dec" && cmp -s "$T/dec" "$1"; }
same_store() { # ORIG EVID
	dk_decrypt_file "$DK_STORE/$DK_AGENCY/$2.bcde" "$T/dec" && cmp -s "$T/dec" "$1"; }
showlog() { echo "# dockd log:"; tail -30 "$DK_LOG" | sed 's/^/#   /'; }

dk_randfile "$O/v1.mp4" 3145800 s1
dk_randfile "$O/v2.mov" 70000 s2
dk_randfile "$O/v3.mp4" 1000 s3
printf '$GPRMC,123519,A,4807.038,N\r\n' >"$O/v1.gps"
echo decoy >"$O/decoy"
printf '%s\r\n' $SER >"$O/id"

# --- FAT32 ---------------------------------------------------------------
IMG=$T/fat.img
mkfs.vfat -C -F 32 "$IMG" 65536 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA ::MISC
mcopy -i "$IMG" "$O/v1.mp4" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG" "$O/v2.mov" ::DCIM/100MEDIA/VID0002.MOV
mcopy -i "$IMG" "$O/v3.mp4" ::DCIM/100MEDIA/VID0003.MP4
mcopy -i "$IMG" "$O/v1.gps" ::DCIM/100MEDIA/VID0001.GPS
mcopy -i "$IMG" "$O/decoy" "::DCIM/100MEDIA/A..B.MP4"
mcopy -i "$IMG" "$O/decoy" ::DCIM/100MEDIA/NOTES.TXT
mcopy -i "$IMG" "$O/decoy" ::ROOT.MP4
mcopy -i "$IMG" "$O/id" ::MISC/DEVICE.ID
before=$(sha "$IMG")

check "FAT32: volume-ingest docks the camera and exits when idle" ingest "$IMG" vfat || showlog
E1=$(evid_of "$O/v1.mp4"); E2=$(evid_of "$O/v2.mov"); E3=$(evid_of "$O/v3.mp4")
EG=$(evid_of "$O/v1.gps")
check "FAT32: three recordings and the sidecar have rows named by their identity" \
	sh -c "echo '$E1 $E2 $E3 $EG' | grep -Eq '^($SER/v[0-9a-f]{40} ){3}$SER/v[0-9a-f]{40}$'"
for e in "$O/v1.mp4:$E1" "$O/v2.mov:$E2" "$O/v3.mp4:$E3" "$O/v1.gps:$EG"; do
	f=${e%%:*} ev=${e#*:}
	check "FAT32: $(basename "$f") storage_verified" test "$(dk_state "$ev")" = storage_verified
	check "FAT32: $(basename "$f") vault copy decrypts to the file's bytes" same_vault "$f" "$ev"
	check "FAT32: $(basename "$f") file:// copy decrypts to the file's bytes" same_store "$f" "$ev"
done
D1=$(ingested_of "$E1")
check "ingested says source unsigned, with no manifest signature or device key" \
	sh -c "echo '$D1' | grep -q '\"source\": *\"unsigned\"' && ! echo '$D1' | grep -q -e manifest_sig -e device_key"
check "ingested names the file, its size, local and UTC times (file_tz), identity and volume id" \
	dk_py '
import datetime
d = [d for _, a, e, d in events(args[0]) if a == "ingested"][0]
v = d["volume"]
loc = datetime.datetime.strptime(v["mtime_local"], "%Y-%m-%dT%H:%M:%S")
utc = datetime.datetime.strptime(v["mtime_utc"], "%Y-%m-%dT%H:%M:%SZ")
print("# volume facts:", json.dumps(v))
ok = v["path"] == "DCIM/100MEDIA/VID0001.MP4" and v["size"] == 3145800 and d["size"] == 3145800 \
     and v["kind"] == "recording" and (loc - utc).total_seconds() == 7200 and v["file_tz"] == "+02:00" \
     and len(v["identity"]) == 64 and len(v["volume_id"]) > 0 and v["camera_id"] == args[1] \
     and d["sha256"] == args[2] and d["camera"] == args[1] and d["officer"] == "OFF-7"
sys.exit(0 if ok else 1)' "$E1" $SER "$(sha "$O/v1.mp4")"
check "the sidecar is recorded as the sidecar of its recording" dk_py '
d = [d for _, a, e, d in events(args[0]) if a == "ingested"][0]
sys.exit(0 if d["volume"]["kind"] == "sidecar" and d["volume"]["sidecar_of"] == args[1] else 1)' "$EG" "$E1"
check "volume_listed records the refused name and counts" dk_py '
ds = [d for _, a, e, d in events() if a == "volume_listed"]
d = ds[-1]
ok = d["recordings"] == 3 and d["sidecars"] == 1 and any(s["path"] == "DCIM/100MEDIA/A..B.MP4" for s in d["skipped"])
sys.exit(0 if ok else 1)'
check "ingest_started comes before ingested, each once" dk_order "$E1" ingest_started ingested
check "custody verify passes (unsigned events accepted as unsigned)" dk_verify || sed 's/^/#   /' "$DK/verify.out"
dk_status_user
"$CUSTODY" --config "$DK_CONF" history "$E1" >"$T/hist" 2>&1
check "custody history says unsigned source" grep -q "origin: unsigned source" "$T/hist"
check "the image was not written (read-only all the way)" test "$(sha "$IMG")" = "$before"

# --- re-dock: nothing twice ----------------------------------------------
n_ing=$(n_action "$A_INGESTED")
check "re-dock: the docking runs" ingest "$IMG" vfat || showlog
check "re-dock: nothing ingested twice" test "$(n_action "$A_INGESTED")" = "$n_ing"
check "re-dock: a second volume_listed" test "$(n_action "$A_LISTED")" = 2
check "ledger rules: each item ingested and stored once" dk_ledger_rules storage

# --- a file that changes between the two reads ----------------------------
dk_randfile "$O/v4.mp4" 200000 s4
mcopy -i "$IMG" "$O/v4.mp4" ::DCIM/100MEDIA/VID0004.MP4
check "changed file: the docking runs (test build: the second read differs)" \
	ingest_attack flip-uncached VID0004 "$IMG" vfat
R4=$(dk_sql "SELECT evidence_id FROM dock_recordings WHERE state='quarantined'")
check "changed file: quarantined" test -n "$R4"
check "changed file: never ingested" test -n "$R4" -a -z "$(ingested_of "$R4")"
check "changed file: integrity_failed + quarantined, nothing stored" \
	dk_py 'acts = [a for _, a, e, d in events(args[0])] if args[0] else []
sys.exit(0 if "integrity_failed" in acts and "quarantined" in acts and "stored_local" not in acts else 1)' "$R4"
check "changed file: alerted" grep -q "changed between the two reads" "$DK/alerts.log"
check "changed file: ingested at the next docking" ingest "$IMG" vfat
check "changed file: now stored, the right bytes" same_vault "$O/v4.mp4" "$R4"

# --- a pull killed mid-file ------------------------------------------------
dk_randfile "$O/v5.mp4" 12000000 s5
mcopy -i "$IMG" "$O/v5.mp4" ::DCIM/100MEDIA/VID0005.MP4
VOL_ATTACK=slow VOL_ATTACK_ARG=VID0005 "$TBIN/dockd_attack" --config "$DK_CONF" \
	volume-ingest --camera $SER --profile "${PROF:-keep}" --fs vfat "$IMG" >>"$DK_LOG" 2>&1 &
PID=$!
i=0
while [ $i -lt 600 ]; do
	n=$(find "$DK_VAULT" -path '*partial*' -type f -size +2M 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] && break
	i=$((i + 1)); sleep 0.1
done
check "killed pull: dockd was mid-file (a partial file over 2 MiB)" test "$n" -gt 0
kill -KILL $PID 2>/dev/null; wait $PID 2>/dev/null
R5=$(dk_sql "SELECT evidence_id FROM dock_recordings WHERE state='pulling'")
check "killed pull: the row is left pulling" test -n "$R5"
check "killed pull: the next docking completes it" ingest "$IMG" vfat || showlog
check "killed pull: restarted from byte 0 (no key on disk), recorded" \
	test "$(dk_count_action "$R5" ingest_restarted)" = 1
check "killed pull: stored, the right bytes" same_vault "$O/v5.mp4" "$R5"
check "killed pull: storage_verified" test "$(dk_state "$R5")" = storage_verified

# --- wiped by the camera's own tool: released ------------------------------
mdel -i "$IMG" ::DCIM/100MEDIA/VID0002.MOV ::DCIM/100MEDIA/VID0003.MP4
check "wiped files: the docking runs" ingest "$IMG" vfat
check "wiped files: released" test "$(dk_state "$E2")" = released -a "$(dk_state "$E3")" = released
check "files still on the volume stay unreleased" test "$(dk_state "$E1")" = storage_verified
check "wiped files: camera_released says absent at next docking" dk_py '
d = [d for _, a, e, d in events(args[0]) if a == "camera_released"][0]
sys.exit(0 if "absent" in json.dumps(d) else 1)' "$E2"

# --- release by deletion ---------------------------------------------------
# a new file whose second read differs: never stored, so never deleted
dk_randfile "$O/v6.mp4" 90000 s6
mcopy -i "$IMG" "$O/v6.mp4" ::DCIM/100MEDIA/VID0006.MP4
n_rel=$(n_action "$A_RELEASED")
check "delete: the docking runs (profile release = delete)" \
	with_prof bc200 ingest_attack flip-uncached VID0006 "$IMG" vfat
mdir -i "$IMG" -b ::DCIM/100MEDIA >"$T/left" 2>&1
mdir -i "$IMG" -b -/ :: >"$T/all" 2>&1
for f in VID0001.MP4 VID0001.GPS VID0004.MP4 VID0005.MP4; do
	check "delete: stored and verified $f deleted from the image" sh -c "! grep -q '$f' '$T/left'"
done
check "delete: the unverified VID0006.MP4 (quarantined) stays" grep -q VID0006.MP4 "$T/left"
check "delete: files outside the profile stay (NOTES.TXT, ROOT.MP4, A..B.MP4, DEVICE.ID)" \
	sh -c "grep -q NOTES.TXT '$T/all' && grep -q ROOT.MP4 '$T/all' && grep -q 'A..B.MP4' '$T/all' && grep -q DEVICE.ID '$T/all'"
check "delete: the FAT is consistent afterwards (fsck.vfat -n)" fsck.vfat -n "$IMG"
check "delete: one camera_released {deleted} per deleted file (4)" \
	test "$(n_action "$A_RELEASED")" = $((n_rel + 4))
check "delete: each deletion names the file and its identity" dk_py '
d = [d for _, a, e, d in events(args[0]) if a == "camera_released"][0]
sys.exit(0 if d.get("deleted") is True and d["path"] == "DCIM/100MEDIA/VID0001.MP4" and len(d["identity"]) == 64 else 1)' "$E1"
check "delete: released only after storage_verified" dk_order "$E1" storage_verified camera_released
check "delete: VID0001 is released" test "$(dk_state "$E1")" = released

# --- refused volumes ---------------------------------------------------------
IMG2=$T/other.img
mkfs.vfat -C -F 32 "$IMG2" 65536 >/dev/null
mmd -i "$IMG2" ::DCIM ::DCIM/100MEDIA ::MISC
mcopy -i "$IMG2" "$O/v3.mp4" ::DCIM/100MEDIA/VID0009.MP4
printf 'BC200-9999\n' >"$T/id2"
mcopy -i "$IMG2" "$T/id2" ::MISC/DEVICE.ID
n_ing=$(n_action "$A_INGESTED")
ingest "$IMG2" vfat
check "another camera's id file: refused, nothing ingested" test "$(n_action "$A_INGESTED")" = "$n_ing"
check "another camera's id file: volume_listed denied and alerted" \
	grep -q "names another camera" "$DK/alerts.log"
n_rej=$(n_action "$A_REJ"); n_ing=$(n_action "$A_INGESTED")
CAM=NOT-ENROLLED ingest "$IMG" vfat
check "unenrolled camera: device_rejected and nothing ingested" \
	test "$(n_action "$A_REJ")" = $((n_rej + 1)) -a "$(n_action "$A_INGESTED")" = "$n_ing"

# --- exFAT -------------------------------------------------------------------
XIMG=$T/exfat.img
truncate -s 64M "$XIMG"
mkfs.exfat "$XIMG" >/dev/null 2>&1
MNT=$T/mnt
mkdir -p "$MNT"
dk_randfile "$O/x1.mp4" 2100000 x1
dk_randfile "$O/x2.mp4" 5000 x2
printf 'gps x1\n' >"$O/x1.gps"
if unshare -m --propagation private sh -c "
	L=\$(losetup -f --show '$XIMG') || exit 1
	mount.exfat-fuse \$L '$MNT' 2>/dev/null || { losetup -d \$L; exit 1; }
	mkdir -p '$MNT/DCIM/101CAM' '$MNT/MISC' '$MNT/OTHER'
	cp '$O/x1.mp4' '$MNT/DCIM/101CAM/CLIP1.MP4'
	cp '$O/x2.mp4' '$MNT/DCIM/101CAM/CLIP2.MP4'
	cp '$O/x1.gps' '$MNT/DCIM/101CAM/CLIP1.GPS'
	cp '$O/decoy' '$MNT/OTHER/X.MP4'
	cp '$O/id' '$MNT/MISC/DEVICE.ID'
	umount '$MNT'; losetup -d \$L"; then
	xb=$(sha "$XIMG")
	check "exFAT: volume-ingest docks the camera" ingest "$XIMG" exfat || showlog
	for f in x1.mp4 x2.mp4 x1.gps; do
		ev=$(evid_of "$O/$f")
		check "exFAT: $f ingested, verified in storage" test -n "$ev" -a "$(dk_state "$ev")" = storage_verified
		check "exFAT: $f storage copy decrypts to the file's bytes" same_store "$O/$f" "$ev"
	done
	check "exFAT: the image was not written (release = keep)" test "$(sha "$XIMG")" = "$xb"
	check "exFAT: release = delete: the docking runs" with_prof bc200 ingest "$XIMG" exfat
	unshare -m --propagation private sh -c "
		L=\$(losetup -r -f --show '$XIMG') || exit 1
		mount.exfat-fuse -o ro \$L '$MNT' 2>/dev/null || { losetup -d \$L; exit 1; }
		find '$MNT' -type f | sed 's|^$MNT/||' | sort; umount '$MNT'; losetup -d \$L" >"$T/xleft" 2>&1
	check "exFAT: what is left is what the profile does not match" \
		test "$(tr '\n' ' ' <"$T/xleft")" = "MISC/DEVICE.ID OTHER/X.MP4 " || sed 's/^/#   /' "$T/xleft"
	check "exFAT: fsck.exfat finds the volume consistent" fsck.exfat -n "$XIMG"
else
	skip "exFAT" "mount.exfat-fuse cannot mount here"
fi
check "custody verify passes at the end" dk_verify || sed 's/^/#   /' "$DK/verify.out"
check "ledger rules hold at the end" dk_ledger_rules storage
check "no mount point left behind (but the killed dockd's empty directory)" \
	test "$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l)" -le $((VOL0 + 1))
done_testing
