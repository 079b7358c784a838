#!/bin/sh
# `custody verify` finding call sites that no other test reached (found by
# `make mutate`, tests/mutate/mutations.txt): each case tampers a fresh copy
# of a demo ledger in one way and verify must exit 1 naming the class.
#   checkpoint-signature  an external checkpoint that cannot be read (larger
#                         than any signed note); a ledger checkpoint row
#                         whose note is larger than any signed note
#   record                an evidence row that disagrees with its events
#   cases                 a case index entry no event justifies: both the
#                         entry and the count are reported
#   frontier              the stored Merkle frontier unreadable, or one of
#                         another tree (another ledger's)
#   checkpoints-inconsistent  two validly signed checkpoints of one size with
#                         different roots (another history signed with the
#                         same key, published in place of ours)
# The untouched copy verifies clean.
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
mkconf() { # dir
	cat >"$1/c.ini" <<EOC
[dock]
dock_id = not-ours
[ledger]
path = $1/l.db
agency_id = pd-test
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $1/ext
EOC
	mkdir -p "$1/ext"
}
mkdir -p "$T/p"
mkconf "$T/p"
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
"$C" --config "$T/p/c.ini" init >/dev/null
"$C" --config "$T/p/c.ini" demo-fill 6 --per-session 2 >/dev/null
sqlite3 "$T/p/l.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
check "pristine ledger verifies clean" sh -c "'$C' --config '$T/p/c.ini' verify >/dev/null"

case_dir() {
	D="$T/$1"; rm -rf "$D"; mkdir -p "$D"
	cp "$T/p/l.db" "$D/"; cp -r "$T/p/ext" "$D/"; mkconf "$D"
}
expect() { # DESC PATTERN: verify fails (exit 1, no crash) and prints PATTERN
	out=$("$C" --config "$D/c.ini" verify 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q -- "$2"; then ok "$1"
	else not_ok "$1 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | head -8; fi
}
sq() { sqlite3 "$D/l.db" "$@" >/dev/null; }

case_dir ext-big
head -c 70000 /dev/zero | tr '\0' 'a' >"$D/ext/checkpoint.998"
expect "external checkpoint larger than any note: unreadable" \
	"FINDING checkpoint-signature: external checkpoint.998: unreadable"

case_dir ledger-big
size=$(sqlite3 "$D/l.db" "SELECT min(size) FROM checkpoints")
sq "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET note = zeroblob(70000) WHERE size = $size"
expect "ledger checkpoint with an oversized note" \
	"FINDING checkpoint-signature: ledger checkpoint $size: oversized note"

case_dir record-disagrees
ev=$(sqlite3 "$D/l.db" "SELECT evidence_id FROM evidence ORDER BY evidence_id LIMIT 1")
col=$(sqlite3 "$D/l.db" "SELECT name FROM pragma_table_info('evidence') WHERE name IN ('state', 'category', 'officer_id') LIMIT 1")
sq "UPDATE evidence SET $col = 'tampered' WHERE evidence_id = '$ev'"
expect "evidence row that disagrees with its events ($col)" \
	"FINDING record .*evidence record $ev disagrees"

case_dir cases
ev=$(sqlite3 "$D/l.db" "SELECT evidence_id FROM evidence ORDER BY evidence_id LIMIT 1")
sq "INSERT INTO evidence_cases VALUES ('CASE-9999', '$ev')"
expect "case index entry no event justifies" \
	"FINDING cases .*case index lists CASE-9999 for $ev, which no event justifies"
expect "case index count differs from the events" \
	"FINDING cases: case index has [0-9]* entries, events justify"

case_dir frontier-bad
sq "UPDATE tree SET frontier = x'00' WHERE id = 1"
expect "unreadable Merkle frontier" "FINDING frontier: stored Merkle frontier is unreadable"

case_dir frontier-other
mkdir -p "$T/other"
mkconf "$T/other"
"$C" --config "$T/other/c.ini" init >/dev/null
"$C" --config "$T/other/c.ini" demo-fill 2 --per-session 2 >/dev/null
sq "ATTACH '$T/other/l.db' AS o; UPDATE main.tree SET frontier = (SELECT frontier FROM o.tree WHERE id = 1) WHERE id = 1"
expect "Merkle frontier of another tree" "FINDING frontier .*stored Merkle frontier (size [0-9]*) does"

case_dir same-size
mkdir -p "$T/twin"
mkconf "$T/twin"
"$C" --config "$T/twin/c.ini" init >/dev/null
"$C" --config "$T/twin/c.ini" demo-fill 6 --per-session 2 >/dev/null
f=$(ls "$D/ext" | head -1)
if [ -f "$T/twin/ext/$f" ] && ! cmp -s "$T/twin/ext/$f" "$D/ext/$f"; then
	cp "$T/twin/ext/$f" "$D/ext/$f"
	expect "two signed checkpoints of one size, different roots" \
		"FINDING checkpoints-inconsistent .*two signed checkpoints of size"
else
	not_ok "setup: a same-key twin ledger with a different $f"
fi
done_testing
