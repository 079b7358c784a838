#!/bin/sh
# File keys (the default): dockd refuses to start when the dock key or the
# checkpoint key file could be read or replaced by anyone but the account
# dockd runs as (mode more open than 0600, another owner, not a regular
# file), with a message naming the file, the cause and the fix (chmod 600,
# chown, or a PKCS#11 token: docs/operations.md "Key storage"). Nothing is
# recorded by a refused start; with the modes fixed dockd starts.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
check "dock, agency and checkpoint keys" dk_init "$T/dk"
KEY=$DK/state/dock.key
CK=$DK/state/ckpt.key
check "keygen writes both keys mode 0600" \
	[ "$(stat -c %a "$KEY")" = 600 -a "$(stat -c %a "$CK")" = 600 ]
events() { dk_sql "SELECT count(*) FROM events"; }
N0=$(events)
refused() { # DESC PATTERN...
	d=$1; shift
	: >"$DK_LOG"
	timeout 20 "$DOCKD" --config "$DK_CONF" >>"$DK_LOG" 2>&1; rc=$?
	good=1
	for p in "$@"; do grep -qF -- "$p" "$DK_LOG" || good=0; done
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] && [ $good = 1 ]; then ok "$d"
	else not_ok "$d (exit $rc)"; tail -5 "$DK_LOG" | sed 's/^/#   /'; fi
}
chmod 640 "$KEY"
refused "dock key mode 0640: refused, naming file, cause and fix" \
	"$KEY: dock key has mode 0640: group or others may read it" "fix: chmod 600 $KEY" \
	"PKCS#11 token"
chmod 602 "$KEY"
refused "dock key mode 0602 (others may write): refused" "$KEY: dock key has mode 0602: group or others may write it"
chmod 600 "$KEY"
chmod 644 "$CK"
refused "checkpoint key mode 0644: refused" \
	"$CK: checkpoint key has mode 0644: group or others may read it" "fix: chmod 600 $CK"
chmod 600 "$CK"
mv "$KEY" "$KEY.real" && ln -s "$KEY.real" "$KEY"
refused "dock key behind a symlink: refused" "$KEY: dock key is not a regular file"
rm -f "$KEY" && mv "$KEY.real" "$KEY"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$KEY"
	refused "dock key owned by another user: refused, naming both uids and the fix" \
		"$KEY: dock key is owned by uid 65534, not by uid 0 that runs dockd" \
		"fix: chown 0 $KEY && chmod 600 $KEY"
	chown 0 "$KEY"
	chown 65534 "$CK"
	refused "checkpoint key owned by another user: refused" \
		"$CK: checkpoint key is owned by uid 65534, not by uid 0"
	chown 0 "$CK"
else
	skip "dock key owned by another user" "needs root to chown"
	skip "checkpoint key owned by another user" "needs root to chown"
fi
check "the refused starts recorded nothing" [ "$(events)" = "$N0" ]
check "with the modes fixed dockd starts" dk_start
check "... and stops cleanly" dk_stop
done_testing
