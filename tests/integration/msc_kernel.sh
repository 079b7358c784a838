#!/bin/sh
# USB mass-storage cameras through the kernel's own driver, the
# administrator's choice (issue 14; [dock] volume_driver = kernel,
# dockd/volume/volkern.h, docs/threat-model.md "Camera"). Shows:
# - a bad value is refused at start-up, naming the key and the values;
# - a dockd without CAP_SYS_ADMIN in the initial user namespace (root with
#   the capability dropped, root in a user namespace, the user nobody)
#   refuses to start with a clear message, never falling back to FUSE;
# - with the kernel driver, FAT32 (and exFAT where the kernel has it)
#   recordings are ingested and verified (vault copies decrypt to the
#   files' bytes); while the reader runs, its mount (seen in the reader's
#   /proc/PID/mountinfo) is ro,nosuid,nodev,noexec, and the host's mount
#   table (this shell's and pid 1's mountinfo) never shows it; the image is
#   not written; afterwards no mount, mount point or loop device is left;
#   release by deletion mounts read-write (still nosuid,nodev,noexec) and
#   deletes exactly the stored files, the file system clean afterwards;
# - a kernel without the vfat driver: a clear error, nothing ingested.
# This machine's kernel may have no vfat: the test build (dockd_attack,
# VOLK_TEST_FSTYPE) then mounts an ext4 image in vfat's place, through the
# same code, flags and namespace, so the mechanics are still shown here.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
for c in mkfs.vfat mcopy mmd mdir losetup setpriv unshare sha256sum; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
[ -x "$TBIN/dockd_attack" ] || { echo "1..0 # SKIP no $TBIN/dockd_attack (make tests)"; exit 0; }
[ -c /dev/loop-control ] && losetup -f >/dev/null 2>&1 || { echo "1..0 # SKIP no loop device"; exit 0; }
has_fs() { grep -qw "$1" /proc/filesystems || { modprobe "$1" 2>/dev/null && grep -qw "$1" /proc/filesystems; }; }
STANDIN=
if has_fs vfat; then
	KFS=vfat
elif has_fs ext4 && command -v mke2fs >/dev/null && command -v debugfs >/dev/null; then
	KFS=ext4 STANDIN=ext4
else
	echo "1..0 # SKIP this kernel has no vfat driver (and no ext4 to stand in)"; exit 0
fi
dk_require
mktmp
KD=$(readlink -f "$TBIN/dockd_attack")
DK_RELEASE_WAIT=30
DK_EXTRA_DOCK="volume_driver = kernel"
dk_init "$T/dk" storage || { not_ok "dk_init"; done_testing; }
cat >>"$DK_CONF" <<EOC

[profile keep]
recordings = DCIM/*/*.MP4, DCIM/*/*.MOV
release = keep

[profile del]
recordings = DCIM/*/*.MP4, DCIM/*/*.MOV
release = delete
EOC
SER=KCAM-0001
"$DOCKD" --config "$DK_CONF" enroll --serial $SER --pubkey "$(openssl rand -hex 32)" \
	--officer OFF-9 --model MSC --reason "test enrolment" >/dev/null || not_ok "enroll"
sha() { sha256sum "$1" | cut -d' ' -f1; }
evid_of() { dk_sql "SELECT evidence_id FROM dock_recordings WHERE sha256='$(sha "$1")'"; }
same_vault() { # ORIG EVID
	dk_decrypt_file "$DK_VAULT/$DK_AGENCY/$2.bcde" "$T/dec" && cmp -s "$T/dec" "$1"; }
showlog() { echo "# dockd log:"; tail -15 "$DK_LOG" | sed 's/^/#   /'; }
O=$T/orig
mkdir -p "$O"
dk_randfile "$O/v1.mp4" 6000000 k1
dk_randfile "$O/v2.mov" 70000 k2
echo decoy >"$O/notes"

# ---- start-up refusals ------------------------------------------------------
conf() { sed "$2" "$DK_CONF" >"$T/$1.conf"; chmod 0644 "$T/$1.conf"; }
refused() { # NAME [WRAP...]: dockd exits 1-127 within 20 s, output in $T/NAME.out
	n=$1; shift
	"$@" timeout 20 "${RD:-$DOCKD}" --config "$T/$n.conf" >"$T/$n.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ]
}
says() { # NAME TEXT...: every TEXT is in the output (fixed strings)
	n=$1; shift
	for s in "$@"; do
		grep -qF -- "$s" "$T/$n.out" || { echo "# missing: $s"; tail -3 "$T/$n.out" | sed 's/^/#   /'; return 1; }
	done
}
conf bad "s|^volume_driver = kernel|volume_driver = kernal|"
check "volume_driver = kernal is refused at start-up" refused bad
check "... naming the line, the key and the values" says bad "$T/bad.conf:" \
	"[dock] volume_driver: must be 'fuse' or 'kernel'"
conf k "s|^camera_socket = .*|camera_socket = $T/k.sock|"
NOCAP="setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin"
MSG="[dock] volume_driver = kernel: mounting a camera's volume with the kernel's vfat/exfat driver needs CAP_SYS_ADMIN in the initial user namespace"
check "root without CAP_SYS_ADMIN: volume_driver = kernel refuses to start" refused k $NOCAP
check "... with the clear message (needs CAP_SYS_ADMIN, no fallback, the fix)" says k "$MSG" \
	"no silent fallback to the userspace driver" "set volume_driver = fuse"
check "... before anything started (no 'ready', no socket)" \
	sh -c "! grep -q ' ready' '$T/k.out' && test ! -e '$T/k.sock'"
if unshare -U -r true 2>/dev/null; then
	check "root in a user namespace (CAP_SYS_ADMIN there only) refuses to start" \
		refused k unshare -U -r
	check "... with the clear message" says k "$MSG"
else
	skip "root in a user namespace refuses" "user namespaces disabled"
	skip "... with the clear message" "user namespaces disabled"
fi
if id nobody >/dev/null 2>&1; then
	# nobody runs a copy of the binary, with a configuration and agency
	# public key it can read
	chmod 0711 "$T"
	cp "$BIN/dockd" "$T/dockd" && chmod 0755 "$T/dockd"
	cp "$DK/keys/agency-enc.pub" "$T/enc.pub" && chmod 0644 "$T/enc.pub"
	conf kn "s|^recipients = .*|recipients = $T/enc.pub|"
	AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	RD=$T/dockd
	check "as nobody: volume_driver = kernel refuses to start" refused kn $AS
	check "... with the clear message, naming its uid" says kn "$MSG" "(uid $(id -u nobody))"
	$AS "$T/dockd" --config "$T/kn.conf" volume-scan --fs dir "$O" >"$T/kn.out" 2>&1
	check "as nobody: volume-scan with that configuration says the same" says kn "$MSG"
	RD=
else
	skip "as nobody: refuses to start" "no user nobody"
	skip "... with the clear message" "no user nobody"
	skip "as nobody: volume-scan" "no user nobody"
fi

# ---- the kernel mount ------------------------------------------------------
mkimg() { # IMAGE: DCIM/100MEDIA/{VID0001.MP4,VID0002.MOV,NOTES.TXT} in a $KFS image
	if [ "$KFS" = vfat ]; then
		mkfs.vfat -C -F 32 "$1" 65536 >/dev/null &&
			mmd -i "$1" ::DCIM ::DCIM/100MEDIA &&
			mcopy -i "$1" "$O/v1.mp4" ::DCIM/100MEDIA/VID0001.MP4 &&
			mcopy -i "$1" "$O/v2.mov" ::DCIM/100MEDIA/VID0002.MOV &&
			mcopy -i "$1" "$O/notes" ::DCIM/100MEDIA/NOTES.TXT
	else
		rm -rf "$T/tree" && mkdir -p "$T/tree/DCIM/100MEDIA" &&
			cp "$O/v1.mp4" "$T/tree/DCIM/100MEDIA/VID0001.MP4" &&
			cp "$O/v2.mov" "$T/tree/DCIM/100MEDIA/VID0002.MOV" &&
			cp "$O/notes" "$T/tree/DCIM/100MEDIA/NOTES.TXT" &&
			mke2fs -q -t ext4 -O ^has_journal -d "$T/tree" "$1" 64M >/dev/null 2>&1
	fi
}
lsimg() { # IMAGE: the names in DCIM/100MEDIA
	if [ "$KFS" = vfat ]; then mdir -i "$1" -b ::DCIM/100MEDIA 2>/dev/null | sed 's|.*/||'
	else debugfs -R "ls /DCIM/100MEDIA" "$1" 2>/dev/null | tr -s ' ' '\n' | grep -E '^[A-Z]'; fi
}
fsck_img() {
	if [ "$KFS" = vfat ]; then fsck.vfat -n "$1" >/dev/null 2>&1; else e2fsck -fn "$1" >/dev/null 2>&1; fi
}
# kingest PROFILE IMAGE FS [slow FILE]: one docking with the kernel driver,
# watching every process's mountinfo while it runs: the reader's mount
# lines go to $T/seen, any sighting in this shell's or pid 1's to $T/host
kingest() {
	: >"$T/seen"; : >"$T/host"
	VOL_ATTACK=${4:+slow} VOL_ATTACK_ARG=${5:-} VOLK_TEST_FSTYPE=$STANDIN timeout 120 "$KD" \
		--config "$DK_CONF" volume-ingest --camera $SER --profile "$1" --fs "$3" "$2" \
		>>"$DK_LOG" 2>&1 &
	kp=$!
	while kill -0 $kp 2>/dev/null; do
		# this dockd's processes only (other tests may be reading volumes too)
		for e in $(readers); do
			grep -h ' /tmp/dockd-vol\.' "${e%/exe}/mountinfo" >>"$T/seen" 2>/dev/null
		done
		grep -h 'dockd-vol' /proc/self/mountinfo /proc/1/mountinfo >>"$T/host" 2>/dev/null
		sleep 0.02
	done
	wait $kp
}
readers() { find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$KD" 2>/dev/null; }
# the per-mount options (field 6) of every mount seen include all of $@
opts_have() {
	[ -s "$T/seen" ] && awk -v want="$*" '{ n = split(want, w, " "); split($6, o, ",")
		for (i = 1; i <= n; i++) { f = 0; for (j in o) if (o[j] == w[i]) f = 1; if (!f) bad = 1 } }
		END { exit bad }' "$T/seen"
}
fstype_is() { [ -s "$T/seen" ] && awk -v t="$1" '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) != t) bad = 1; break } } END { exit bad }' "$T/seen"; }
loops_of() { losetup -j "$1" -n -O NAME 2>/dev/null; }
no_loop() { # IMAGE: autoclear frees the loop device once the mount is gone
	i=0; while [ -n "$(loops_of "$1")" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	[ -z "$(loops_of "$1")" ]
}
nothing_left() { # the mount points seen are gone and mounted nowhere; no reader runs
	for m in $(awk '{ print $5 }' "$T/seen" | sort -u); do
		[ ! -e "$m" ] || return 1
		! grep -q " $m " /proc/[0-9]*/mountinfo 2>/dev/null || return 1
	done
	[ -z "$(readers)" ]
}
what=$KFS
[ -z "$STANDIN" ] || what="ext4 standing in for vfat (this kernel has no vfat)"
IMG=$T/cam.img
mkimg "$IMG" || not_ok "image"
before=$(sha "$IMG")
check "kernel driver ($what): the docking runs" kingest keep "$IMG" vfat slow VID0001 || showlog
E1=$(evid_of "$O/v1.mp4"); E2=$(evid_of "$O/v2.mov")
check "kernel driver: VID0001.MP4 storage_verified" test -n "$E1" -a "$(dk_state "$E1")" = storage_verified
check "kernel driver: VID0002.MOV storage_verified" test -n "$E2" -a "$(dk_state "$E2")" = storage_verified
check "kernel driver: VID0001.MP4's vault copy decrypts to its bytes" same_vault "$O/v1.mp4" "$E1"
check "kernel driver: VID0002.MOV's vault copy decrypts to its bytes" same_vault "$O/v2.mov" "$E2"
check "kernel driver: the decoy NOTES.TXT was not ingested" \
	test "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE evidence_id LIKE '$SER/%'")" = 2
sed -n 1p "$T/seen" | sed 's/^/# reader mountinfo: /'
check "the reader's mount was seen in its own mountinfo, fs type $KFS" fstype_is "$KFS"
check "... mounted ro,nosuid,nodev,noexec (and noatime, nosymfollow)" \
	opts_have ro nosuid nodev noexec noatime nosymfollow
check "the host's mount table (this shell's, pid 1's mountinfo) never showed it" test ! -s "$T/host"
check "the image was not written (read-only all the way)" test "$(sha "$IMG")" = "$before"
check "afterwards: no mount and no mount point left" nothing_left
check "afterwards: no loop device left on the image" no_loop "$IMG"

check "release by deletion: the docking runs (profile release = delete)" \
	kingest del "$IMG" vfat slow VID0001 || showlog
lsimg "$IMG" >"$T/left"
check "release: the stored files were deleted, NOTES.TXT stays" \
	test "$(tr '\n' ' ' <"$T/left")" = "NOTES.TXT " || sed 's/^/#   left: /' "$T/left"
check "release: two camera_released {deleted} events" \
	test "$(dk_sql "SELECT count(*) FROM events WHERE details LIKE '%\"deleted\": true%' OR details LIKE '%\"deleted\":true%'")" = 2
check "release: the file system is clean afterwards" fsck_img "$IMG"
if grep -q ' rw,' "$T/seen"; then
	check "release: its read-write mount still nosuid,nodev,noexec" opts_have nosuid nodev noexec
else
	skip "release: its read-write mount's options" "the short step ended between two looks"
fi
check "release: the host's mount table never showed it" test ! -s "$T/host"
left_clean() { nothing_left && no_loop "$1"; }
check "release: no mount, mount point or loop device left" left_clean "$IMG"

# ---- a kernel without the driver -------------------------------------------
if [ -n "$STANDIN" ]; then
	FIMG=$T/fat.img
	KFS=vfat
	mkimg "$FIMG" || not_ok "FAT32 image"
	n=$(dk_sql "SELECT count(*) FROM dock_recordings")
	STANDIN=
	kingest keep "$FIMG" vfat
	STANDIN=ext4 KFS=ext4
	check "no vfat in the kernel: the log says so clearly" \
		grep -q "the kernel has no vfat driver (modprobe vfat, or \[dock\] volume_driver = fuse)" "$DK_LOG"
	none_more() { test "$(dk_sql "SELECT count(*) FROM dock_recordings")" = "$n" && nothing_left; }
	check "... nothing ingested, no mount left" none_more
fi

# ---- exFAT ------------------------------------------------------------------
if has_fs exfat && command -v mkfs.exfat >/dev/null && command -v mount.exfat-fuse >/dev/null; then
	XIMG=$T/ex.img
	truncate -s 64M "$XIMG" && mkfs.exfat "$XIMG" >/dev/null 2>&1
	dk_randfile "$O/x1.mp4" 300000 kx1
	unshare -m --propagation private sh -c "
		L=\$(losetup -f --show '$XIMG') || exit 1
		mkdir -p '$T/xm' && mount.exfat-fuse \$L '$T/xm' 2>/dev/null || { losetup -d \$L; exit 1; }
		mkdir -p '$T/xm/DCIM/101CAM' && cp '$O/x1.mp4' '$T/xm/DCIM/101CAM/CLIP1.MP4'
		umount '$T/xm'; losetup -d \$L"
	xb=$(sha "$XIMG")
	check "exFAT (kernel driver): the docking runs" kingest keep "$XIMG" exfat || showlog
	X1=$(evid_of "$O/x1.mp4")
	check "exFAT: CLIP1.MP4 ingested and verified" test -n "$X1" -a "$(dk_state "$X1")" = storage_verified
	ex_opts() { fstype_is exfat && opts_have ro nosuid nodev noexec; }
	check "exFAT: mounted ro,nosuid,nodev,noexec by the kernel's exfat" ex_opts
	ex_clean() { test ! -s "$T/host" -a "$(sha "$XIMG")" = "$xb" && left_clean "$XIMG"; }
	check "exFAT: never in the host's mount table; image unchanged; nothing left" ex_clean
else
	skip "exFAT through the kernel driver" "this kernel has no exfat driver"
fi
check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
done_testing
