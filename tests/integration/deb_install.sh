#!/bin/sh
# The .deb installed into a fresh root, the way an administrator follows
# docs/operations.md (issue 15, "Done when"): an overlay of / in a private
# mount namespace, chroot, `dpkg -i`; then the shipped example
# configuration, unedited but for the keys it names, starts dockd under the
# shipped unit's account, groups, directories and umask, with / read-only
# except the unit's StateDirectory and RuntimeDirectory (ProtectSystem=
# strict). Before the fix postinst made no evidence-clerks group and the
# example's /srv paths were read-only under the unit: dockd never got ready.
# The keys are made by walking docs/operations.md's commands as written
# (read from the doc, sections 2-3), and the clerk's commands of section 8
# run as a clerk account against the started dockd.
# The web console is installed with its account and unit, and starts under
# the unit with the example configuration and a certificate made as
# docs/console.md says (before, dockd refused the [console] section the docs
# put in its file, and postinst made no dock-console account).
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

# The operator's steps, read from docs/operations.md as written (sections
# 2 and 3 up to "Key storage"): the code lines, `\` continuations joined,
# comments, `[optional]` parts and config-file lines (KEY = VALUE)
# dropped, systemctl/journalctl left to the unit emulation below, `<hex>`
# the dock key that `dockd keygen` printed. The agency machine and the dock
# are one root here: a file the doc says to bring (ckpt.vkey) is copied
# from /etc/evidence-dock when a command names it. The outside witness's
# vkey is the witness's own step (docs/witness.md), made first.
# The web console (docs/console.md): binary, unit, man page, examples, its
# own account; the unit parses.
cu=/lib/systemd/system/evidence-console.service
ckey() { sed -n "s/^$1=//p" "$cu" | tail -1; }
for f in /usr/bin/custody-console "$cu" /usr/share/man/man1/custody-console.1.gz \
	/usr/share/doc/evidence-dock/console.md \
	/usr/share/doc/evidence-dock/examples/pam.d-evidence-console; do
	check "console: $f installed" test -s "$f"
done
check "console: custody-console --version runs" sh -c 'custody-console --version >/dev/null'
CU=$(ckey User); CG=$(ckey Group)
check "console: the unit's account $CU:$CG exists" sh -c "id '$CU' >/dev/null && getent group '$CG' >/dev/null"
check "console: the example config names it as [query] console_account" \
	grep -qx "console_account = $CU" "$conf_ex"
check "console: the example config has a [console] section" grep -qx '\[console\]' "$conf_ex"
for g in $(ckey SupplementaryGroups); do
	check "console: supplementary group $g exists" sh -c "getent group '$g' >/dev/null"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$cu" >"$D/cverify.out" 2>&1
	check "console: the unit passes systemd-analyze verify" \
		sh -c "! grep -v 'Documentation\|man:' '$D/cverify.out' | grep -qi 'error\|unknown\|invalid\|failed'" ||
		sed 's/^/#   /' "$D/cverify.out"
else
	skip "console: the unit passes systemd-analyze verify" "systemd-analyze missing"
fi

W=/root/agency
mkdir -p "$W" && cd "$W" || exit 1
custody witness keygen --key da-witness.key --vkey da-witness.vkey --name witness.da.example \
	>/dev/null 2>&1
install -m 0640 -o root -g "$G" "$conf_ex" /etc/evidence-dock/dockd.conf
C=/etc/evidence-dock/dockd.conf
val() { sed -n "s/^$1 *= *//p" "$C" | head -1; }
awk '/^## 2\./ { on = 1 } /^### Key storage/ { on = 0 } on' "$TOP/docs/operations.md" |
	sed -n 's/^    \{1,\}//p' | sed 's/[[:space:]]\{1,\}# .*//; /^#/d' |
	awk '{ if (sub(/\\$/, "")) { acc = acc $0 } else { print acc $0; acc = "" } }' |
	sed 's/ \[[^]]*\]//g; s/  */ /g' |
	grep -Ev '^[a-z_]+ = |^(systemctl|journalctl) ' >"$D/walk.txt"
check "operations.md sections 2-3 give commands ($(wc -l <"$D/walk.txt"))" \
	[ "$(wc -l <"$D/walk.txt")" -ge 10 ]
hex=
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	cmd=$(printf '%s' "$cmd" | sed "s/<hex>/$hex/g")
	for f in $cmd; do
		case "$f" in */* | -*) ;; *.vkey | *.cert) [ -e "$f" ] || [ ! -e "/etc/evidence-dock/$f" ] ||
			cp "/etc/evidence-dock/$f" "$f" ;; esac
	done
	sh -c "$cmd" >"$D/step.out" 2>&1 </dev/null
	rc=$?
	check "operations.md: $cmd" [ $rc -eq 0 ] || sed 's/^/#   /' "$D/step.out" | tail -5
	# and the file it says it writes (--out F, > F) is there
	out=$(printf '%s\n' "$cmd" | sed -n 's/.*--out \([^ ]*\).*/\1/p; s/.*> *\([^ ]*\)$/\1/p' | head -1)
	[ -z "$out" ] || check "... wrote $out" [ -s "$out" ]
	h=$(grep -Eo '\b[0-9a-f]{64}\b' "$D/step.out" | tail -1)
	case "$cmd" in *"dockd --config"*keygen*) hex=$h ;; esac
done <"$D/walk.txt"
check "the dock key's hex was printed and used" [ -n "$hex" ]
chown "$U:$G" "/var/lib/$SD/dock.cert" 2>/dev/null
# the agency's public encryption key goes where the config names it
install -m 0644 agency-enc.pub "$(val recipients)"

# The unit, emulated from its file: RuntimeDirectory, ProtectSystem=strict
# (/ read-only but the state and runtime directories), User, Group with
# the user's supplementary groups, UMask, ExecStart.
useradd --no-create-home -G "$(val socket_group)" clerk1 2>/dev/null # (for section 8)
useradd --no-create-home alice 2>/dev/null # (custody-access.md's first admin)
install -d -m "$(key RuntimeDirectoryMode)" -o "$U" -g "$G" "/run/$RT"
(cd /etc/evidence-dock && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-nodes -days 365 -subj /CN=dock1.pd.example -keyout console.key -out console.crt) >/dev/null 2>&1
chown "$CU:$CG" /etc/evidence-dock/console.key && chmod 0600 /etc/evidence-dock/console.key
install -m 0600 -o "$CU" -g "$CG" /dev/null /etc/evidence-dock/console-totp
D=/tmp # / is read-only from here
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
# A clerk, as operations.md section 8 and custody-access.md say: an OS
# account in evidence-clerks with a clerk role; the section's commands run
# as written (no --config, no --socket: the clerk cannot read the config).
sudo -u "$U" custody --config "$C" user add clerk1 --role clerk --agency "$(val agency_id)" \
	--reason "deb install test" >"$D/useradd.out" 2>&1
check "the service account maps clerk1 to a clerk role" [ $? -eq 0 ] ||
	sed 's/^/#   /' "$D/useradd.out"
# custody-access.md's bootstrap (the first admin) as written: the same
# service account and configuration path as operations.md.
awk '/^    +sudo -u / { on = 1 }
	on { l = $0; sub(/^ +/, "", l); c = sub(/\\$/, "", l); acc = acc l; if (!c) { print acc; acc = ""; on = 0 } }' \
	"$TOP/docs/custody-access.md" >"$D/access.txt"
check "custody-access.md gives the first admin's command" [ "$(wc -l <"$D/access.txt")" -eq 1 ]
cmd=$(cat "$D/access.txt")
sh -c "$cmd" >"$D/access.out" 2>&1 </dev/null
check "custody-access.md: $cmd" [ $? -eq 0 ] || sed 's/^/#   /' "$D/access.out"
awk '/^## 8\./ { on = 1; next } on && /^#/ { exit } on' "$TOP/docs/operations.md" |
	sed -n 's/^    \{1,\}\(custody .*\)/\1/p' | head -2 >"$D/clerk.txt"
check "operations.md section 8 gives the clerk's commands" [ "$(wc -l <"$D/clerk.txt")" -eq 2 ]
while IFS= read -r cmd; do
	setpriv --reuid clerk1 --regid "$(id -g clerk1)" --init-groups sh -c "cd /tmp && $cmd" \
		>"$D/clerk.out" 2>&1 </dev/null
	rc=$?
	# an empty ledger: the search finds nothing, the history item is unknown
	# (exit 1), but nothing is refused or malformed (exit 2)
	check "operations.md (clerk): $cmd" [ $rc -le 1 ] || sed 's/^/#   /' "$D/clerk.out"
	check "... answered by the service, not refused" \
		sh -c "! grep -Eqi 'reason is required|Permission denied|usage:|unknown option|No such file' '$D/clerk.out'" ||
		sed 's/^/#   /' "$D/clerk.out"
done <"$D/clerk.txt"
# The console under its unit (account, groups, umask, ExecStart) with the
# example configuration: its certificate as docs/console.md step 3 makes
# it, its key the console account's alone (made before / went read-only).
(umask "$(ckey UMask)"; exec setpriv --reuid "$CU" --regid "$CG" \
	--groups "$(ckey SupplementaryGroups | tr ' ' ',')" $(ckey ExecStart)) >/tmp/console.log 2>&1 &
cpid=$!
i=0
while kill -0 $cpid 2>/dev/null && ! grep -q 'ready on https' /tmp/console.log && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "the console starts under its unit with the example configuration (ready)" \
	grep -q 'ready on https' /tmp/console.log || sed 's/^/#   /' /tmp/console.log | tail -5
kill -TERM $cpid 2>/dev/null
wait $cpid
check "the console stops cleanly on SIGTERM" [ $? -eq 0 ]
kill -TERM $pid 2>/dev/null
wait $pid
check "dockd stops cleanly on SIGTERM" [ $? -eq 0 ]
done_testing
EOS
# a checkout under /tmp (the chroot's /tmp is a fresh tmpfs) is bound back in
unshare -m sh -c '
	mount --make-rprivate / &&
	mount -t overlay overlay -o "lowerdir=/,upperdir=$0/u,workdir=$0/w" "$0/r" &&
	mount --rbind /dev "$0/r/dev" && mount -t proc proc "$0/r/proc" &&
	mount -t tmpfs tmpfs "$0/r/run" && mount -t tmpfs tmpfs "$0/r/tmp" &&
	case "$2" in /tmp/*) mkdir -p "$0/r$2" && mount --bind "$2" "$0/r$2" ;; esac &&
	exec chroot "$0/r" env T_N="$1" TOP="$2" BUILD="$BUILD" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		sh /deb-test/inside.sh' "$T" "$t_n" "$TOP"
