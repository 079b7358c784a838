#!/bin/sh
# `custody console-totp` (docs/console.md "TOTP enrolment"): a new secret
# replaces the user's line in the console's totp_file (0600, other lines
# kept), the enrolment is a key_changed ledger event without the secret;
# an unknown user, a missing reason and a ledger that cannot record leave
# the file unchanged. --revoke removes the line, recorded the same way
# (change "revoked"). (console_browser.sh logs in with a secret enrolled
# this way, and checks that a revoked user's login fails.)
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
mktmp
C="$BIN/custody"
DB="$T/l.db"
F="$T/totp"
A_KEY=48	# key_changed (custody/event.h)
c() { "$C" --db "$DB" "$@" 2>"$T/err"; }
c init >/dev/null
c user add jdoe --role clerk --agency pd-a --reason setup >/dev/null
printf '# console secrets\nother AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\njdoe BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n' >"$F"
chmod 0600 "$F"
check "enrol jdoe" quiet c console-totp jdoe --file "$F" --reason "new phone" || cat "$T/err" >&2
c console-totp jdoe --file "$F" --reason "new phone" >"$T/out" 2>&1
S=$(sed -n 's/^  secret //p' "$T/out")
check "a 160-bit base32 secret is printed once, with its otpauth URI" \
	sh -c "echo '$S' | grep -Eq '^[A-Z2-7]{32}$' && grep -q 'otpauth://totp/Dock:jdoe?secret=$S&issuer=Dock' '$T/out'"
check "jdoe has exactly one line, the new secret" \
	[ "$(grep -c '^jdoe ' "$F")" = 1 -a "$(grep '^jdoe ' "$F")" = "jdoe $S" ]
check "other lines are kept" grep -qx 'other AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' "$F"
check "... and the comment" grep -qx '# console secrets' "$F"
check "the file stays mode 0600" [ "$(stat -c %a "$F")" = 600 ]
check "each enrolment is a key_changed event with user and reason" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE action=$A_KEY AND reason='new phone' AND details LIKE '%\"user\":\"jdoe\"%' AND details LIKE '%console-totp%'")" = 2 ]
check "the secret is not in the ledger" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE details LIKE '%$S%'")" = 0 ]
cp "$F" "$T/before"
check_fails "an unknown user is refused" c console-totp mallory --file "$F" --reason x
check "... naming the fix" grep -q "custody user add mallory" "$T/err"
check_fails "no reason is refused" c console-totp jdoe --file "$F"
check "... and the file is unchanged" cmp -s "$F" "$T/before"
check_fails "with the ledger read-only (no event possible) it is refused" \
	"$C" --db "$DB" --read-only console-totp jdoe --file "$F" --reason x
check "... and the file is unchanged" cmp -s "$F" "$T/before"
# a ledger that cannot record: nothing changes (the event comes first)
chmod 0444 "$DB"
if [ "$(id -u)" = 0 ]; then
	skip "an unrecordable enrolment changes nothing" "root writes a 0444 file"
else
	check_fails "an enrolment that cannot be recorded fails" \
		c console-totp jdoe --file "$F" --reason x
	check "... and the file is unchanged" cmp -s "$F" "$T/before"
fi
check "no temporary file is left" [ "$(ls "$T" | grep -c 'totp.new')" = 0 ]
chmod 0644 "$DB"

# revocation (issue 15): the line goes, recorded as key_changed "revoked"
check_fails "revoking with the ledger read-only is refused" \
	"$C" --db "$DB" --read-only console-totp jdoe --revoke --file "$F" --reason x
check "... and the file is unchanged" cmp -s "$F" "$T/before"
check_fails "revoking without a reason is refused" c console-totp jdoe --revoke --file "$F"
check "revoke jdoe" c console-totp jdoe --revoke --file "$F" --reason "phone lost" || cat "$T/err" >&2
check "jdoe's line is gone" [ "$(grep -c '^jdoe ' "$F")" = 0 ]
check "... other lines and the comment kept, mode 0600" \
	sh -c "grep -qx 'other AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' '$F' && grep -qx '# console secrets' '$F' && [ \$(stat -c %a '$F') = 600 ]"
check "the revocation is a key_changed event: change revoked, user, reason" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE action=$A_KEY AND reason='phone lost' AND details LIKE '%\"user\":\"jdoe\"%' AND details LIKE '%\"change\":\"revoked\"%'")" = 1 ]
check "enrolments say change enrolled" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE action=$A_KEY AND details LIKE '%\"change\":\"enrolled\"%'")" = 2 ]
n=$(sqlite3 "$DB" "SELECT count(*) FROM events")
check_fails "revoking a user with no line is refused" c console-totp jdoe --revoke --file "$F" --reason again
check "... naming the file, nothing recorded" \
	sh -c "grep -q 'has no second factor' '$T/err' && [ \$(sqlite3 '$DB' 'SELECT count(*) FROM events') = $n ]"
check "a name the ledger no longer maps can still be revoked" \
	c console-totp other --revoke --file "$F" --reason "left the agency"
check "... its line is gone" [ "$(grep -c '^other ' "$F")" = 0 ]
done_testing
