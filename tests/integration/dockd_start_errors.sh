#!/bin/sh
# Start-up refusals name the file, the cause and the fix (issue 15, "Why"):
# each case used to give a bare errno ("Protocol error", "Protocol not
# supported", "Permission denied (run `dockd keygen`)", "No such file or
# directory", "File exists") or, for a missing state_dir or a read-only
# vault, a daemon that said "ready" and failed later.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
CREATED=
trap 'kill $(jobs -p) 2>/dev/null; for u in $CREATED; do userdel "$u" 2>/dev/null; done; rm -rf "$T"' EXIT
check "dock, agency and checkpoint keys" dk_init "$T/dk" || done_testing

# conf NAME SED: a copy of the configuration changed by SED
conf() { sed "$2" "$DK_CONF" >"$T/$1.conf"; }
# refused NAME [WRAP...]: dockd exits non-zero within 20 s (a dockd that
# starts anyway is stopped by timeout: exit 124), output in $T/NAME.out
refused() {
	n=$1; shift
	rm -f "$DK_SOCK"
	"$@" timeout 20 "$DOCKD" --config "$T/$n.conf" >"$T/$n.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ]
}
says() { # NAME TEXT...: every TEXT is in the output (fixed strings)
	n=$1; shift
	for s in "$@"; do
		grep -qF -- "$s" "$T/$n.out" || { echo "# missing: $s"; sed 's/^/#   /' "$T/$n.out" | tail -5; return 1; }
	done
}

conf priv "s|^recipients = .*|recipients = $DK/keys/agency-enc.key|"
check "an agency PRIVATE key as recipient is refused" refused priv
check "... naming the file, the cause and the fix" says priv "$T/priv.conf" \
	"$DK/keys/agency-enc.key is a PRIVATE key" "-pubout" "remove $DK/keys/agency-enc.key"

conf ed "s|^recipients = .*|recipients = $DK/keys/agency-sign.pub|"
check "an Ed25519 key as recipient is refused" refused ed
check "... naming the file, the cause and the fix" says ed \
	"$DK/keys/agency-sign.pub is not an encryption key" "Ed25519" "custody agency-keygen"

conf nostate "s|^state_dir = .*|state_dir = $T/no-such-state|"
check "a missing state_dir is refused (it used to start)" refused nostate
check "... naming state_dir, the cause and the fix" says nostate \
	"[dock] state_dir $T/no-such-state: No such file or directory" "install -d -m 0700"

# dockd keygen (the first command of a new dock) on a missing state_dir:
# it said "custody.db: cannot create: No such file or directory"
conf nostate2 "s|^state_dir = .*|state_dir = $T/no-state2|; s|^path = .*|path = $T/no-state2/custody.db|; s|^key = .*|key = $T/no-state2/dock.key|"
"$DOCKD" --config "$T/nostate2.conf" keygen >"$T/nostate2.out" 2>&1
check "dockd keygen on a missing state_dir fails" [ $? -ne 0 ]
check "... naming state_dir and the fix" says nostate2 \
	"[dock] state_dir $T/no-state2: No such file or directory" "install -d -m 0700"

conf nogroup "s|^socket = .*|socket = $DK/q.sock\nsocket_group = no-such-group-$$|"
check "a missing [query] socket_group is refused" refused nogroup
check "... naming the group, not 'No such file or directory'" says nogroup \
	"socket_group no-such-group-$$: no such group" "groupadd --system no-such-group-$$"

conf nodir "s|^socket = .*|socket = $DK/no-dir/q.sock|"
check "a missing [query] socket directory is refused" refused nodir
check "... naming the directory and the fix" says nodir \
	"directory $DK/no-dir: No such file or directory" "RuntimeDirectory="

# A vault on a read-only mount (e.g. ProtectSystem=strict without
# ReadWritePaths): refused at start, not "ready" then a disk alert loop.
conf rovault "s|^log_level = .*|log_level = info|"
if unshare -m true 2>/dev/null; then
	check "a read-only vault_dir is refused at start" refused rovault \
		unshare -m sh -c 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"' \
		"$DK_VAULT"
	check "... naming vault_dir, the cause and ReadWritePaths" says rovault \
		"[dock] vault_dir $DK_VAULT: dockd cannot write there (Read-only file system)" \
		"ReadWritePaths=$DK_VAULT"
else
	skip "a read-only vault_dir is refused at start" "no mount namespaces here"
fi

# A dock key the service account cannot read (e.g. mode 000): the cause
# and chown/chmod, not "run dockd keygen" (a new key needs a new cert).
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "an unreadable dock key is refused" "needs root and setpriv (dockd as another account)"
else
	test_users U:dockerr:nobody
	chmod 755 "$T"
	cp -a "$DK" "$T/dk2"
	sed "s|$DK/|$T/dk2/|g" "$DK_CONF" >"$T/unread.conf"
	chown -R "$U" "$T/dk2"
	chmod 000 "$T/dk2/state/dock.key"
	check "an unreadable dock key is refused" refused unread setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups
	check "... with the cause and the fix, not 'run dockd keygen'" says unread \
		"$T/dk2/state/dock.key: dock key: uid $(id -u "$U") that runs dockd cannot read it" \
		"chmod 600 $T/dk2/state/dock.key"
	check "... and it does not tell to run keygen" sh -c "! grep -qF '(run \`dockd keygen\`)' '$T/unread.out'"
fi

# custody keygen with an existing vkey: names the file and makes no key.
"$CUSTODY" keygen --key "$T/new.key" --vkey "$DK/state/ckpt.vkey" --name dock.test/x \
	>"$T/vk.out" 2>&1
check "custody keygen refuses an existing --vkey" [ $? -ne 0 ]
check "... naming the vkey file" says vk "$DK/state/ckpt.vkey: the vkey file exists already"
check "... and leaves no key behind" [ ! -e "$T/new.key" ]
done_testing
