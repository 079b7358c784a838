#!/bin/sh
# The volume reader worker's sandbox and the daemon's checks of it
# (docs/architecture.md, "The volume reader worker"). build/tests/
# dockd_attack is dockd whose volume worker, once locked down, tries the
# attack named by VOL_ATTACK (dockd/volume/volw_attack.c). Reading a dock file,
# leaving the volume through "..", writing to the volume: refused by
# landlock (EACCES), the scan goes on and the secret never shows. A
# socket or an exec: seccomp kills the worker. Listing a file outside the
# profile, or sending bytes past the end of a read: the daemon stops the
# worker. Every time: the scan fails or finishes cleanly, the image is
# unchanged, no mount point or driver is left. The normal dockd ignores
# VOL_ATTACK.
. "$(dirname "$0")/../lib.sh"
ATT=$TBIN/dockd_attack
[ -x "$ATT" ] || { echo "1..0 # SKIP no $ATT (make tests)"; exit 0; }
for c in mkfs.vfat mcopy mmd fusefat; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
mktmp
OUT=$T/out ERR=$T/err
VOL0=$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l)
leftovers() { n=$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l); [ "$n" -eq "$VOL0" ]; }
errsays() { grep -q -- "$1" "$ERR"; }
show() { echo "# stdout:"; sed 's/^/#   /' "$OUT"; echo "# stderr:"; sed 's/^/#   /' "$ERR"; }

SECRET=$T/secret
echo "dock-secret-$$" >"$SECRET"
chmod 600 "$SECRET"
head -c 300000 /dev/urandom >"$T/v.mp4"
IMG=$T/fat.img
mkfs.vfat -C -F 32 "$IMG" 65536 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA ::MISC
mcopy -i "$IMG" "$T/v.mp4" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG" "$T/v.mp4" ::MISC/OTHER.MP4
before=$(sha256sum "$IMG" | cut -d' ' -f1)

attack() { VOL_ATTACK=$1 VOL_ATTACK_ARG=$2 "$ATT" volume-scan --verify "$IMG" >"$OUT" 2>"$ERR"; }

for spec in "read $SECRET" "escape -" "write -"; do
	set -- $spec
	attack "$1" "$2"; rc=$?
	check "$1: the worker tried it" errsays "VOL_ATTACK: trying $1" || show
	# write on the FUSE mount: the read-only mount refuses first (EROFS)
	check "$1: refused (landlock EACCES, or EROFS for a write)" \
		errsays "VOL_ATTACK: denied $1 errno \(13\|30\)"
	check "$1: the scan still succeeds (status $rc)" test "$rc" -eq 0
	check "$1: nothing leaked" sh -c "! grep -q dock-secret '$OUT' '$ERR'"
done
# a writable directory (--fs dir): landlock alone refuses the write
mkdir -p "$T/dir/DCIM/100MEDIA"
cp "$T/v.mp4" "$T/dir/DCIM/100MEDIA/V.MP4"
VOL_ATTACK=write "$ATT" volume-scan --fs dir "$T/dir" >"$OUT" 2>"$ERR"; rc=$?
check "write into a writable directory: landlock refused it (EACCES)" \
	errsays "VOL_ATTACK: denied write errno 13"
check "... nothing was created" test ! -e "$T/dir/PLANTED.MP4"
check "... the scan succeeds (status $rc)" test "$rc" -eq 0
for spec in "net -" "exec /bin/sh"; do
	set -- $spec
	attack "$1" "$2"; rc=$?
	check "$1: the worker tried it" errsays "VOL_ATTACK: trying $1"
	check "$1: it never got through" sh -c "! grep -q 'VOL_ATTACK: DONE\|VOL_ATTACK: denied' '$ERR'"
	check "$1: seccomp killed the worker, the scan fails (status $rc)" test "$rc" -eq 1
	check "$1: ... saying the worker stopped" errsays "volume worker closed its channel"
done
attack outside MISC/OTHER.MP4; rc=$?
check "outside: the worker listed a file outside the profile" errsays "VOL_ATTACK: trying outside"
check "outside: the daemon stopped it (status $rc)" test "$rc" -eq 1
check "outside: ... saying why" errsays "listed a file outside the profile or out of order: MISC/OTHER.MP4"
check "outside: the file was never read" sh -c "! grep -q 'verify MISC' '$OUT'"
attack overrun -; rc=$?
check "overrun: the worker sent bytes past the end" errsays "VOL_ATTACK: trying overrun"
check "overrun: the daemon stopped it (status $rc)" test "$rc" -eq 1
check "overrun: ... saying why" errsays "sent data out of order or past the end"
check "the image is unchanged" test "$(sha256sum "$IMG" | cut -d' ' -f1)" = "$before"
check "no mount point or driver left behind" leftovers
VOL_ATTACK=net "$BIN/dockd" volume-scan "$IMG" >"$OUT" 2>"$ERR"; rc=$?
check "the normal dockd ignores VOL_ATTACK (status $rc)" test "$rc" -eq 0
check "... and has no attack code" sh -c "! grep -q 'VOL_ATTACK: trying' '$ERR'"
done_testing
