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
#   record (replay)       a validly encoded event the replay rules refuse:
#                         the item's case list would pass its 1023-byte cap
#                         (append refuses it, so it is written around the
#                         append path, frontier recomputed, checkpoint
#                         re-signed with the test's own key)
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
case_dir record-refused
# 15 distinct 64-byte case numbers make a 974-byte case list; a 16th
# would make it 1039 bytes, past the 1023-byte cap: append refuses it
i=10
while [ $i -lt 25 ]; do
	"$C" --config "$D/c.ini" append --action viewed --actor-kind clerk --actor-id clerk1 \
		--evidence EV-00000002 --case "$(printf "CASE-%02d-%056d" $i 0)" >/dev/null || break
	i=$((i + 1))
done
check "15 events with 64-byte case numbers appended" [ $i -eq 25 ]
err=$("$C" --config "$D/c.ini" append --action viewed --actor-kind clerk --actor-id clerk1 \
	--evidence EV-00000002 --case "$(printf "CASE-%02d-%056d" 99 0)" 2>&1 >/dev/null); rc=$?
check "append refuses the 16th: case list past its cap (exit $rc)" sh -c \
	"[ $rc -ne 0 ] && printf '%s\n' \"\$1\" | grep -q 'append: Argument list too long'" - "$err"
"$C" --config "$D/c.ini" checkpoint >/dev/null
check "grown ledger still verifies clean" sh -c "'$C' --config '$D/c.ini' verify >/dev/null"
fseq=$(python3 - "$D/l.db" <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
def s(t): b = (t or "").encode(); return struct.pack(">I", len(b)) + b
def canon(r): # docs/custody-ledger.md canonical event encoding
    seq, t, clock, ag, ak, aid, act, ev, oc, rs, case, det = r
    return (bytes([1]) + struct.pack(">Qq", seq, t) + bytes([clock]) + s(ag) + bytes([ak])
            + s(aid) + struct.pack(">H", act) + s(ev) + bytes([oc]) + s(rs) + s(case) + s(det))
# the last viewed event of the item (clerk1, case CASE-24-...) as a template
tpl = db.execute("SELECT seq, time_ns, clock, agency_id, actor_kind, actor_id, action,"
    " evidence_id, outcome, reason, case_no, details, canon FROM events"
    " WHERE evidence_id = 'EV-00000002' ORDER BY seq DESC LIMIT 1").fetchone()
assert canon(tpl[:12]) == tpl[12], "encoder disagrees with the ledger"
seq, t = db.execute("SELECT max(seq), max(time_ns) FROM events").fetchone()
row = (seq + 1, t + 1) + tpl[2:10] + ("CASE-99-" + "0" * 56,) + tpl[11:12]
c = canon(row)
db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
           row + (c, hashlib.sha256(b"\0" + c).digest()))
# recompute the frontier (docs/custody-ledger.md) over every leaf
NH = lambda l, r: hashlib.sha256(b"\1" + l + r).digest()
f, size = [], 0
for (h,) in db.execute("SELECT leaf_hash FROM events ORDER BY seq"):
    k = size
    while k & 1:
        h = NH(f.pop(), h); k >>= 1
    f.append(h); size += 1
db.execute("UPDATE tree SET frontier = ? WHERE id = 1", (struct.pack(">Q", size) + b"".join(f),))
db.commit()
print(row[0])
PY
)
check "refused event written around the append path (seq $fseq)" [ -n "$fseq" ]
check "the dock re-signs a checkpoint over it" sh -c "'$C' --config '$D/c.ini' checkpoint >/dev/null"
out=$("$C" --config "$D/c.ini" verify 2>&1); rc=$?
printf '%s\n' "$out" | grep FINDING | sed 's/^/# /'
check "verify exits 1 on the refused event (exit $rc)" [ $rc -eq 1 ]
check "finding record at seq $fseq: event cannot be applied" sh -c "printf '%s\n' \"\$1\" |
	grep -q '^FINDING record seq $fseq: event cannot be applied to EV-00000002: '" - "$out"
n=$(printf '%s\n' "$out" | grep -c '^FINDING')
check "it is the only finding ($n)" [ "$n" -eq 1 ]
done_testing
