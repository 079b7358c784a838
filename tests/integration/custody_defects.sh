#!/bin/sh
# Regression tests for defects found by outside checks of the ledger
# (issue #10), each of which failed on the code before its fix:
#  - verify decoded the stored canonical bytes only when the columns
#    differed: a row appended around the ledger (unknown action, unsorted
#    details, columns and blob agreeing, frontier recomputed, re-signed)
#    passed;
#  - a comma in a case number broke the case index and verify then
#    reported a false finding;
#  - a conflicting signed copy of a checkpoint that the ledger matches
#    printed an impossible range ("events 69..68").
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
mkconf() { # dir
	mkdir -p "$1/ext"
	cat >"$1/c.ini" <<EOC
[ledger]
path = $1/l.db
agency_id = pd-test
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $1/ext
EOC
}
mkdir -p "$T/p"
mkconf "$T/p"
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
"$C" --config "$T/p/c.ini" init >/dev/null
"$C" --config "$T/p/c.ini" demo-fill 6 --per-session 2 >/dev/null
sqlite3 "$T/p/l.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
case_dir() {
	D="$T/$1"; rm -rf "$D"; mkdir -p "$D"
	cp "$T/p/l.db" "$D/"; cp -r "$T/p/ext" "$D/"; mkconf "$D"
}
vout() { out=$("$C" --config "$D/c.ini" verify 2>&1); rc=$?; }

# --- case numbers with commas ---
case_dir comma
"$C" --config "$D/c.ini" append --action categorized --actor-kind clerk --actor-id clerk1 \
	--evidence EV-00000002 --case "2024,17" --details '{"category":"traffic"}' >/dev/null
"$C" --config "$D/c.ini" append --action viewed --actor-kind clerk --actor-id clerk1 \
	--evidence EV-00000002 --case "2024" >/dev/null
"$C" --config "$D/c.ini" append --action viewed --actor-kind clerk --actor-id clerk1 \
	--evidence EV-00000002 --case "17" >/dev/null
# details exercising the canonical rule (escapes, non-ASCII, nesting)
"$C" --config "$D/c.ini" append --action viewed --actor-kind clerk --actor-id clerk1 \
	--evidence EV-00000002 --details '{"z":"\u00e9\u0001/\t\"","a":[1,{"b":null}],"n":-5}' >/dev/null
check "the stored details are the documented canonical form (independent Python)" python3 - "$D/l.db" <<'PY'
import json, re, sqlite3, sys
d = sqlite3.connect(sys.argv[1]).execute("SELECT details FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0]
def canon(o):
    s = json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return re.sub(r"\\u00([0-9a-f]{2})", lambda m: "\\u00" + m.group(1).upper(), s)
print("# " + d)
sys.exit(0 if canon(json.loads(d)) == d and "\u00e9" in d and "\\u0001" in d else 1)
PY
"$C" --config "$D/c.ini" checkpoint >/dev/null
vout
check "case numbers with a comma: verify clean (exit $rc)" [ $rc -eq 0 ]
printf '%s\n' "$out" | grep FINDING | sed 's/^/# /'
n=$(sqlite3 "$D/l.db" "SELECT count(*) FROM evidence_cases WHERE evidence_id = 'EV-00000002'
	AND case_no IN ('2024,17', '2024', '17')")
check "case index holds the 3 case numbers, the comma one whole ($n)" [ "$n" -eq 3 ]
check "search --case finds the item by the case number with a comma" sh -c \
	"'$C' --config '$D/c.ini' search --case '2024,17' --json | grep -q EV-00000002"
check "history --json lists the case number whole" sh -c \
	"'$C' --config '$D/c.ini' history EV-00000002 --json | grep -q '\"2024,17\"'"
# a forged index row joining two case numbers is still caught
sqlite3 "$D/l.db" "DELETE FROM evidence_cases WHERE case_no = '2024' AND evidence_id = 'EV-00000002';
	INSERT INTO evidence_cases VALUES ('2024' || char(31) || '2024,17', 'EV-00000002')"
vout
check "index row holding the list separator is a finding" sh -c \
	"[ $rc -eq 1 ] && printf '%s\n' \"\$1\" | grep -q 'FINDING cases'" - "$out"

# --- a conflicting signed copy of a checkpoint: no impossible range ---
case_dir fork
cp -r "$D" "$T/fork2"; mkconf "$T/fork2"
"$C" --config "$D/c.ini" append --action privileged_action --actor-kind system \
	--actor-id a --reason one >/dev/null
"$C" --config "$T/fork2/c.ini" append --action privileged_action --actor-kind system \
	--actor-id a --reason two >/dev/null
"$C" --config "$D/c.ini" checkpoint >/dev/null
"$C" --config "$T/fork2/c.ini" checkpoint >/dev/null
f=$(ls "$D/ext" | sort -t. -k2 -n | tail -1)
check "both forks signed a checkpoint of the same size ($f)" [ -f "$T/fork2/ext/$f" ]
cp "$T/fork2/ext/$f" "$D/ext/$f"
vout
check "forked external copy is a finding" sh -c "[ $rc -eq 1 ] && printf '%s\n' \"\$1\" | grep -q 'FINDING checkpoint-root.*fork'" - "$out"
bad=$(printf '%s\n' "$out" | sed -n 's/.*events \([0-9]*\)\.\.\([0-9]*\).*/\1 \2/p' |
	while read a b; do [ "$a" -gt "$b" ] && echo "$a..$b"; done)
check "no finding names an impossible range of events ($bad)" [ -z "$bad" ]
printf '%s\n' "$out" | grep FINDING | sed 's/^/# /'

# --- an event written around the append path, fully recomputed ---
case_dir forged
python3 - "$D/l.db" <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TRIGGER IF EXISTS events_no_update;")
def s(t): b = (t or "").encode(); return struct.pack(">I", len(b)) + b
n = db.execute("SELECT max(seq) FROM events").fetchone()[0]
t = db.execute("SELECT time_ns FROM events WHERE seq = ?", (n,)).fetchone()[0] + 1
seq, details = n + 1, '{"b":1,"a":2}'          # unsorted keys
row = (seq, t, 2, "pd-test", 4, "intruder", 999, None, 1, "", "", details)
c = (bytes([1]) + struct.pack(">Qq", seq, t) + bytes([2]) + s("pd-test") + bytes([4]) + s("intruder")
     + struct.pack(">H", 999) + s("") + bytes([1]) + s("") + s("") + s(details))
leaf = hashlib.sha256(b"\0" + c).digest()
db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row + (c, leaf))
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
PY
check "attacker row inserted, frontier recomputed" [ $? -eq 0 ]
check "the dock re-signs a checkpoint over it" sh -c "'$C' --config '$D/c.ini' checkpoint >/dev/null"
vout
check "unknown action + unsorted details in agreeing columns and blob: bad-encoding" \
	sh -c "[ $rc -eq 1 ] && printf '%s\n' \"\$1\" | grep -q 'FINDING bad-encoding'" - "$out"
printf '%s\n' "$out" | grep FINDING | sed 's/^/# /'
# --- a checkpoint of another log, validly signed by the trusted key ---
case_dir origin
f=$(ls "$D/ext" | sort -t. -k2 -n | tail -1)
python3 - "$D/ext/$f" "$T/ck.key" "$D/l.db" <<'PY'
import base64, sqlite3, sys
from cryptography.hazmat.primitives import serialization
note = open(sys.argv[1]).read()
k = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
text, sigs = note.split("\n\n", 1)
lines = text.split("\n"); lines[0] = "other.example/another-log"
body = "\n".join(lines) + "\n"
dash, name, sig = sigs.strip().split(" ")
kid = base64.b64decode(sig)[:4]
forged = body + "\n" + dash + " " + name + " " + base64.b64encode(kid + k.sign(body.encode())).decode() + "\n"
open(sys.argv[1], "w").write(forged)
db = sqlite3.connect(sys.argv[3])
db.executescript("DROP TRIGGER IF EXISTS checkpoints_no_update;")
db.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (forged, int(lines[1])))
db.commit()
PY
vout
check "both copies of a checkpoint replaced by another log's note (same root, trusted key): finding" \
	sh -c "[ $rc -eq 1 ] && printf '%s\n' \"\$1\" | grep -q \"FINDING checkpoint-signature.*origin 'other.example/another-log'\"" - "$out"
printf '%s\n' "$out" | grep FINDING | sed 's/^/# /'
done_testing
