#!/bin/sh
# The .deb installed into a fresh root, the way an administrator follows
# docs/operations.md (issue 15, "Done when"): an overlay of / in a private
# mount namespace, chroot, `dpkg -i`; then the shipped example
# configuration, unedited but for the keys it names, starts dockd under the
# shipped unit's account, groups, directories and umask, with / read-only
# except the unit's StateDirectory and RuntimeDirectory (ProtectSystem=
# strict). Before the fix postinst made no evidence-clerks group and the
# example's /srv paths were read-only under the unit: dockd never got ready.
# Nothing on the host changes: every write goes to the overlay's upper dir.
. "$(dirname "$0")/../lib.sh"
if [ ! -x "$BIN/dockd" ] || [ ! -x "$BIN/custody" ]; then
	skip "deb install" "dockd or custody not built"; done_testing
fi
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null || ! command -v dpkg-deb >/dev/null; then
	skip "deb install" "needs root, mount namespaces and dpkg"; done_testing
fi
mktmp
mkdir -p "$T/u/deb-test" "$T/w" "$T/r"
sh "$TOP/packaging/deb/build.sh" "$BIN/.." 1.2.3 "$T/u/deb-test/evidence-dock.deb" \
	>"$T/build.log" 2>&1
check "build.sh builds the package" [ -s "$T/u/deb-test/evidence-dock.deb" ] || done_testing
if ! unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=/,upperdir=$0/u,workdir=$0/w" "$0/r"' "$T"; then
	skip "deb install" "no overlayfs of / here"; done_testing
fi

cat >"$T/u/deb-test/inside.sh" <<'EOS'
# Runs as root inside the chroot; continues the caller's TAP numbering.
. "$TOP/tests/lib.sh"
t_n=$T_N
D=/deb-test
dpkg -i "$D/evidence-dock.deb" >"$D/dpkg.log" 2>&1
check "dpkg -i installs the package" [ $? -eq 0 ] || { sed 's/^/#   /' "$D/dpkg.log"; done_testing; }
unit=/lib/systemd/system/evidence-dockd.service
conf_ex=/usr/share/doc/evidence-dock/examples/dockd.conf
key() { sed -n "s/^$1=//p" "$unit" | tail -1; }
U=$(key User); G=$(key Group); SD=$(key StateDirectory); RT=$(key RuntimeDirectory)
check "the unit's account $U exists" sh -c "id '$U' >/dev/null"
for g in $(sed -n 's/^[a-z_]*group *= *\([^ #]*\).*/\1/p' "$conf_ex"); do
	check "group $g named by the example configuration exists" sh -c "getent group '$g' >/dev/null"
	check "$U is in $g" sh -c "id -nG '$U' | tr ' ' '\n' | grep -qx '$g'"
done

# The operator's steps (docs/operations.md sections 2-3): keys only.
cd "$D" || exit 1
openssl genpkey -algorithm ed25519 -out agency-sign.key 2>/dev/null
openssl pkey -in agency-sign.key -pubout -out agency-sign.pub
custody agency-keygen --type p384 --private agency-enc.key --public agency-enc.pub >/dev/null 2>&1
install -m 0640 -o root -g "$G" "$conf_ex" /etc/evidence-dock/dockd.conf
C=/etc/evidence-dock/dockd.conf
val() { sed -n "s/^$1 *= *//p" "$C" | head -1; }
install -m 0644 agency-enc.pub "$(val recipients)"
setpriv --reuid "$U" --regid "$G" --init-groups custody keygen --key "$(val checkpoint_key)" \
	--vkey "/var/lib/$SD/ckpt.vkey" --name "$(val checkpoint_origin)" >keygen.log 2>&1
install -m 0644 "/var/lib/$SD/ckpt.vkey" "$(val checkpoint_pub)"
pub=$(dockd --config "$C" keygen 2>>keygen.log | grep -Eo '[0-9a-f]{64}' | tail -1)
check "dock key and checkpoint key made as operations.md says" [ -n "$pub" ] ||
	sed 's/^/#   /' keygen.log
dockd certify --agency-key agency-sign.key --agency-id "$(val agency_id)" \
	--dock-id "$(val id)" --dock-pub "$pub" --days 30 --out "/var/lib/$SD/dock.cert" >/dev/null
chown "$U:$G" "/var/lib/$SD/dock.cert"

# The unit, emulated from its file: RuntimeDirectory, ProtectSystem=strict
# (/ read-only but the state and runtime directories), User, Group with
# the user's supplementary groups, UMask, ExecStart.
install -d -m "$(key RuntimeDirectoryMode)" -o "$U" -g "$G" "/run/$RT"
mount --bind "/var/lib/$SD" "/var/lib/$SD"
mount -o remount,bind,ro / || mount -o remount,ro /
check "/ is read-only as under ProtectSystem=strict" sh -c '! touch /etc/.rw-probe 2>/dev/null'
(umask "$(key UMask)"; exec setpriv --reuid "$U" --regid "$G" --init-groups $(key ExecStart)) \
	>/tmp/dockd.log 2>&1 &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && ! grep -q ') ready' /tmp/dockd.log && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
check "dockd starts with the example configuration under the unit (ready)" \
	grep -q ') ready' /tmp/dockd.log || sed 's/^/#   /' /tmp/dockd.log | tail -15
sock=$(val socket)
check "the query socket $sock belongs to $(val socket_group), mode 0660" \
	[ "$(stat -c '%G %a' "$sock" 2>/dev/null)" = "$(val socket_group) 660" ]
kill -TERM $pid 2>/dev/null
wait $pid
check "dockd stops cleanly on SIGTERM" [ $? -eq 0 ]
done_testing
EOS
unshare -m sh -c '
	mount --make-rprivate / &&
	mount -t overlay overlay -o "lowerdir=/,upperdir=$0/u,workdir=$0/w" "$0/r" &&
	mount --rbind /dev "$0/r/dev" && mount -t proc proc "$0/r/proc" &&
	mount -t tmpfs tmpfs "$0/r/run" && mount -t tmpfs tmpfs "$0/r/tmp" &&
	exec chroot "$0/r" env T_N="$1" TOP="$2" BUILD="$BUILD" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		sh /deb-test/inside.sh' "$T" "$t_n" "$TOP"
