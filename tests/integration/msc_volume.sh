#!/bin/sh
# USB mass-storage camera volumes (issue 14, first slice): camera profiles
# and the sandboxed volume reader (docs/architecture.md, "The volume reader
# worker"; docs/dockd-config.md, "Writing a camera profile"). Builds FAT32
# and exFAT images with mkfs.vfat / mkfs.exfat, fills them without the
# kernel driver (mtools for FAT, exfat-fuse for exFAT), and reads them with
# `dockd volume-scan`, which uses the dock's reader: a FUSE driver in a
# private mount namespace and a landlocked, seccomp'd worker. Shows: the
# profile's recordings and sidecars listed, read twice (second read past
# the page cache) with the same SHA-256 as the source; decoys (names with
# "..", files and trees outside the profile, symlinks, a fifo, a device
# node, a too-deep profile, too many files) refused or ignored with a clear
# line, nothing read outside the profile; the image byte-for-byte
# unchanged; damaged images give a clear error, no crash, no hang; a worker
# killed mid-read stops the scan cleanly; nothing left mounted or running.
. "$(dirname "$0")/../lib.sh"
DOCKD=$BIN/dockd
for c in mkfs.vfat mcopy mmd fusefat mkfs.exfat mount.exfat-fuse losetup unshare; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
mktmp
SCAN_OUT=$T/out ERR=$T/err
scan() { "$DOCKD" "$@" >"$SCAN_OUT" 2>"$ERR"; }
has() { grep -q -- "$1" "$SCAN_OUT"; }
hasnt() { ! grep -q -- "$1" "$SCAN_OUT"; }
errsays() { grep -q -- "$1" "$ERR"; }
show() { echo "# stdout:"; sed 's/^/#   /' "$SCAN_OUT"; echo "# stderr:"; sed 's/^/#   /' "$ERR"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
leftovers() { n=$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l); [ "$n" -eq "$VOL0" ]; }
VOL0=$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l)

head -c 3145728 /dev/urandom >"$T/v1.mp4"
head -c 70000 /dev/urandom >"$T/v2.mov"
printf '$GPRMC,1\n' >"$T/v1.gps"
echo decoy >"$T/decoy"

# --- FAT32 image --------------------------------------------------------
IMG=$T/fat.img
mkfs.vfat -C -F 32 "$IMG" 65536 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA ::DCIM/100MEDIA/DEEP ::DCIM/100MEDIA/DEEP/A ::MISC
mcopy -i "$IMG" "$T/v1.mp4" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG" "$T/v2.mov" ::DCIM/100MEDIA/VID0002.MOV
mcopy -i "$IMG" "$T/v1.gps" ::DCIM/100MEDIA/VID0001.GPS
mcopy -i "$IMG" "$T/decoy" "::DCIM/100MEDIA/A..B.MP4"
mcopy -i "$IMG" "$T/decoy" "::DCIM/100MEDIA/..X.MP4"
mcopy -i "$IMG" "$T/decoy" ::DCIM/100MEDIA/NOTES.TXT
mcopy -i "$IMG" "$T/decoy" ::DCIM/100MEDIA/DEEP/A/X.MP4
mcopy -i "$IMG" "$T/decoy" ::ROOT.MP4
mcopy -i "$IMG" "$T/decoy" ::MISC/DEVICE.MP4
printf 'BC200-0042\r\n' >"$T/id"
mcopy -i "$IMG" "$T/id" ::MISC/DEVICE.ID
before=$(sha "$IMG")

check "FAT32: volume-scan --verify succeeds" scan volume-scan --verify "$IMG" || show
check "FAT32: recording VID0001.MP4 listed with its size" has "file recording DCIM/100MEDIA/VID0001.MP4 size=3145728 "
check "FAT32: recording VID0002.MOV listed" has "file recording DCIM/100MEDIA/VID0002.MOV size=70000 "
check "FAT32: sidecar VID0001.GPS listed" has "file sidecar DCIM/100MEDIA/VID0001.GPS "
check "FAT32: VID0001.MP4 read twice, SHA-256 of the source, re-read equal" \
	has "verify DCIM/100MEDIA/VID0001.MP4 sha256=$(sha "$T/v1.mp4") identity=[0-9a-f]* re-read-equal"
check "FAT32: VID0002.MOV read twice, equal" \
	has "verify DCIM/100MEDIA/VID0002.MOV sha256=$(sha "$T/v2.mov") .*re-read-equal"
check "FAT32: a name with '..' is refused, not read" has "skip DCIM/100MEDIA/A..B.MP4: name refused"
check "FAT32: a name starting with '..' is refused" has "skip DCIM/100MEDIA/..X.MP4: name refused"
check "FAT32: files outside the profile are not listed" sh -c "! grep -q -e NOTES -e ROOT.MP4 -e MISC -e DEEP '$SCAN_OUT'"
check "FAT32: totals" has "^files 3 recordings 2 sidecars 1 skipped 2$"
check "FAT32: the image is unchanged (read-only all the way)" test "$(sha "$IMG")" = "$before"
id1=$(sed -n 's/^verify DCIM\/100MEDIA\/VID0001.MP4 .*identity=\([0-9a-f]*\).*/\1/p' "$SCAN_OUT")
scan volume-scan --verify "$IMG"
id2=$(sed -n 's/^verify DCIM\/100MEDIA\/VID0001.MP4 .*identity=\([0-9a-f]*\).*/\1/p' "$SCAN_OUT")
check "FAT32: the file's identity is stable across dockings" test -n "$id1" -a "$id1" = "$id2"
check "FAT32: no mount point left behind" leftovers

# a profile from the config file: another layout, kernel never involved
CONF=$T/dockd.conf
cat >"$CONF" <<EOC
[dock]
id = DOCK-T
agency_id = AG-T
state_dir = $T/state
vault_dir = $T/vault

[encryption]
recipients = $T/agency-enc.pub

[profile misc-cam]
recordings = MISC/*.MP4
id_file = MISC/DEVICE.ID
file_tz = +02:00
max_depth = 2

[profile strict]
recordings = DCIM/MANY/*.MP4
max_files = 100

[profile deep]
recordings = */*/*/*/*.MP4
max_depth = 3
EOC
mkdir -p "$T/state" "$T/vault"
if scan --config "$CONF" volume-scan --profile misc-cam "$IMG"; then
	check "profile misc-cam: lists only MISC/DEVICE.MP4" has "^files 1 recordings 1 sidecars 0"
	check "profile misc-cam: its file" has "file recording MISC/DEVICE.MP4 "
	check "profile misc-cam: the camera's id read from its id_file" has "^camera-id BC200-0042$"
else
	not_ok "profile misc-cam: volume-scan failed"; show
fi
check_fails "an unknown profile is refused" scan --config "$CONF" volume-scan --profile nope "$IMG"
check "... with a clear error" errsays "no profile 'nope'"
sed -n '1,/^recipients/p' "$CONF" >"$T/bad.conf"
printf '[profile bad]\nrecordings = ../*.MP4\n' >>"$T/bad.conf"
check_fails "a profile pattern with '..' is refused by the config" scan --config "$T/bad.conf" volume-scan "$IMG"
check "... naming the key" errsays "\[profile bad\] recordings"

# --- exFAT image (filled through exfat-fuse in a private namespace) -------
EX=$T/ex.img
truncate -s 64M "$EX"
mkfs.exfat "$EX" >/dev/null
mkdir -p "$T/exmnt"
unshare -m --propagation private sh -c "
	L=\$(losetup -f --show '$EX') || exit 1
	mount.exfat-fuse \$L '$T/exmnt' 2>/dev/null || { losetup -d \$L; exit 1; }
	mkdir -p '$T/exmnt/DCIM/100CAM'
	cp '$T/v1.mp4' '$T/exmnt/DCIM/100CAM/CLIP0001.MP4'
	cp '$T/v1.gps' '$T/exmnt/DCIM/100CAM/CLIP0001.GPS'
	cp '$T/decoy' '$T/exmnt/DCIM/100CAM/CLIP0001.TXT'
	umount '$T/exmnt'; losetup -d \$L" || not_ok "exFAT image could not be filled"
exbefore=$(sha "$EX")
check "exFAT: volume-scan --verify succeeds" scan volume-scan --verify "$EX" || show
check "exFAT: recording verified against the source" \
	has "verify DCIM/100CAM/CLIP0001.MP4 sha256=$(sha "$T/v1.mp4") .*re-read-equal"
check "exFAT: totals" has "^files 2 recordings 1 sidecars 1 skipped 0$"
check "exFAT: the image is unchanged" test "$(sha "$EX")" = "$exbefore"

# --- decoys a FAT volume cannot hold, from a hostile driver: a directory --
D=$T/dir
mkdir -p "$D/DCIM/100MEDIA" "$D/DCIM/MANY" "$D/a/b/c/d"
cp "$T/v2.mov" "$D/DCIM/100MEDIA/OK.MOV"
ln -s /etc/shadow "$D/DCIM/100MEDIA/LINK.MP4"
ln -s /etc "$D/DCIM/200LINK"
mkfifo "$D/DCIM/100MEDIA/FIFO.MP4"
mknod "$D/DCIM/100MEDIA/NULL.MP4" c 1 3
echo x >"$D/a/b/c/d/E.MP4"
mkdir -p "$D/MISC"
printf '../../etc/x\n' >"$D/MISC/device.id"
i=0; while [ $i -lt 150 ]; do : >"$D/DCIM/MANY/F$i.MP4"; i=$((i + 1)); done
check "dir: volume-scan succeeds" scan volume-scan --fs dir --verify "$D" || show
check "dir: the regular recording is listed and verified" has "verify DCIM/100MEDIA/OK.MOV .*re-read-equal"
check "dir: a symlinked recording is refused" has "skip DCIM/100MEDIA/LINK.MP4: symlink"
check "dir: a symlinked directory is refused" has "skip DCIM/200LINK: symlink"
check "dir: a fifo is refused" has "skip DCIM/100MEDIA/FIFO.MP4: not a regular file"
check "dir: a device node is refused" has "skip DCIM/100MEDIA/NULL.MP4: not a regular file"
check "dir: nothing behind a link is listed" hasnt "shadow\|passwd"
check "dir: an id file holding no valid id" scan --config "$CONF" volume-scan --profile misc-cam --fs dir "$D"
check "... is refused, with a clear line" has "^camera-id refused: MISC/device.id does not hold a valid id$"
scan --config "$CONF" volume-scan --profile strict --fs dir "$D"
check "dir: more than max_files entries: refused" test $? -ne 0
check "... with a clear error" errsays "refused: more than max_files=100 entries"
check "dir: a profile deeper than its max_depth: the tree is refused as too deep" \
	scan --config "$CONF" volume-scan --profile deep --fs dir "$D"
check "... with a clear line, E.MP4 not listed" sh -c "grep -q ': too deep' '$SCAN_OUT' && ! grep -q E.MP4 '$SCAN_OUT'"
mkdir -p "$T/many/DCIM/100MEDIA"
(cd "$T/many/DCIM/100MEDIA" && seq 1 100000 | sed 's/$/.MP4/' | xargs touch)
check_fails "dir: 100000 tiny files: refused (default max_files 10000)" \
	scan volume-scan --fs dir "$T/many"
check "... with a clear error" errsays "more than max_files=10000"

# --- damaged images: a clear error, never a crash or a hang -------------
BAD=$T/bad.img
cp "$IMG" "$BAD"
flip_byte "$BAD" 11; flip_byte "$BAD" 12   # bytes per sector
timeout 60 "$DOCKD" volume-scan "$BAD" >"$SCAN_OUT" 2>"$ERR"; rc=$?
# the driver either refuses it or shows an empty volume: never a crash
check "damaged boot sector: no crash, no hang (status $rc)" test "$rc" -le 1
if [ "$rc" -eq 1 ]; then
	check "... a refusal says why" errsays "^dockd volume-scan: "
else
	check "... nothing listed from it" has "^files 0 "
fi
# the FAT itself: first FAT at the reserved sectors (bytes 14-15) * 512
res=$(od -An -tu2 -j14 -N2 "$IMG" | tr -d ' ')
fat=$((res * 512))
n=0 crashed=0 hung=0
for off in 8 12 16 20 24 28 32 36 40 44; do
	cp "$IMG" "$BAD"
	flip_byte "$BAD" $((fat + off)); flip_byte "$BAD" $((fat + off + 1))
	timeout 60 "$DOCKD" volume-scan --verify "$BAD" >"$SCAN_OUT" 2>"$ERR"; rc=$?
	[ $rc -ge 124 ] && { [ $rc -eq 124 ] && hung=$((hung + 1)) || crashed=$((crashed + 1)); }
	n=$((n + 1))
done
check "corrupted FAT ($n damaged chains): no crash" test $crashed -eq 0
check "corrupted FAT: no hang" test $hung -eq 0

# --- the worker killed mid-read -----------------------------------------
head -c 67108864 /dev/urandom >"$T/big"
BIGIMG=$T/big.img
mkfs.vfat -C -F 32 "$BIGIMG" 131072 >/dev/null
mmd -i "$BIGIMG" ::DCIM ::DCIM/100MEDIA
mcopy -i "$BIGIMG" "$T/big" ::DCIM/100MEDIA/BIG.MP4
"$DOCKD" volume-scan --verify "$BIGIMG" >"$SCAN_OUT" 2>"$ERR" &
SP=$!
wp=""
for i in $(seq 1 200); do
	sup=$(ps -o pid= --ppid $SP | tr -d ' ' | head -1)
	[ -n "$sup" ] && for c in $(ps -o pid= --ppid "$sup"); do
		grep -q -- '--volume-worker' /proc/$c/cmdline 2>/dev/null && wp=$c
	done
	# reading: more than 4 MiB through the worker (bounded poll, no fixed sleep)
	[ -n "$wp" ] && [ "$(sed -n 's/^rchar: //p' /proc/$wp/io 2>/dev/null)" -gt 4194304 ] 2>/dev/null && break
	wp=""
	sleep 0.05
done
if [ -n "$wp" ]; then
	kill -9 "$wp"
	wait $SP; rc=$?
	check "killed worker: the scan fails (status $rc)" test "$rc" -eq 1
	check "... saying the worker stopped" errsays "volume worker closed its channel"
else
	not_ok "killed worker: could not find the worker"
	wait $SP
fi
check "killed worker: no driver or mount left" leftovers

done_testing
