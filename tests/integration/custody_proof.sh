#!/bin/sh
# `custody proof ID` and `custody check-proof FILE`: a proof verifies with
# only the public key (the ledger moved away); edited, foreign-key,
# altered-event, truncated and garbage proofs are rejected with a message
# and exit 1 (not proven) or 2 (not a proof file), never a crash. The
# item's events span several checkpoints and the tree size is not a power
# of two; an independent Python verifier written from
# docs/custody-ledger.md checks the same proof.
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
mkconf() { # dir key-prefix
	mkdir -p "$1/ext"
	cat >"$1/c.ini" <<EOC
[ledger]
path = $1/l.db
agency_id = pd-test
checkpoint_key = $2.key
checkpoint_pub = $2.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $1/ext
EOC
}
mkdir -p "$T/a" "$T/b"
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
"$C" keygen --key "$T/other.key" --vkey "$T/other.vkey" --name dock.example/pd-test >/dev/null
mkconf "$T/a" "$T/ck"
mkconf "$T/b" "$T/other"
"$C" --config "$T/a/c.ini" demo-fill 20 --per-session 6 >/dev/null
"$C" --config "$T/b/c.ini" demo-fill 20 --per-session 6 >/dev/null
db="$T/a/l.db"
id=EV-00000002
# the item's events straddle at least one published checkpoint
span=$(sqlite3 "$db" "SELECT count(*) FROM checkpoints WHERE size >= (SELECT min(seq)
	FROM events WHERE evidence_id = '$id') AND size < (SELECT max(seq) FROM events
	WHERE evidence_id = '$id')")
check "events of $id span several checkpoints ($span in between)" [ "$span" -ge 1 ]
nev=$(sqlite3 "$db" "SELECT count(*) FROM events WHERE evidence_id = '$id'")

check "proof written" sh -c "'$C' --config '$T/a/c.ini' proof $id --out '$T/p.json' 2>/dev/null"
check_fails "proof refuses to overwrite a file" "$C" --config "$T/a/c.ini" proof $id --out "$T/p.json" 2>/dev/null
"$C" --config "$T/b/c.ini" proof $id --out "$T/foreign.json" 2>/dev/null
"$C" --config "$T/a/c.ini" proof EV-00000003 --out "$T/p3.json" 2>/dev/null
size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tree_size"])' "$T/p.json" 2>/dev/null ||
	sed -n 's/.*"tree_size": \([0-9]*\).*/\1/p' "$T/p.json")
check "tree size $size is not a power of two" [ $((size & (size - 1))) -ne 0 ]

# the ledger goes away: only the proof and the public key remain
mkdir "$T/gone"; mv "$T/a/l.db"* "$T/gone/"
out=$("$C" check-proof "$T/p.json" --vkey "$T/ck.vkey" 2>&1); rc=$?
check "proof verifies with the public key alone (no database)" [ $rc -eq 0 ]
case $out in *"OK: $nev of $nev event(s) of $id proven"*) ok "all $nev events of $id proven";;
	*) not_ok "check-proof output"; printf '%s\n' "$out" | sed 's/^/# /' | tail -3;; esac
check "ledger really absent" [ ! -e "$T/a/l.db" ]

# reject FILE DESC EXIT PATTERN: check-proof must exit EXIT and print PATTERN
reject() {
	out=$("$C" check-proof "$1" --vkey "${VK:-$T/ck.vkey}" 2>&1); rc=$?
	if [ $rc -eq "$3" ] && printf '%s\n' "$out" | grep -q -- "$4"; then ok "$2"
	else not_ok "$2 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -4; fi
}
VK="$T/other.vkey" reject "$T/p.json" "checkpoint signed by another key: rejected" 1 \
	"not signed by a trusted key\|no trusted signature\|FAILED"
reject "$T/foreign.json" "proof from another dock's ledger: rejected" 1 "FAILED"

if command -v python3 >/dev/null 2>&1; then
	# edit FROM TO PYTHON: copy of the proof with one change
	edit() {
		python3 - "$T/p.json" "$T/$1" "$2" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
e = p["events"]
exec(sys.argv[3])
open(sys.argv[2], "w").write(json.dumps(p, indent=1))
PY
	}
	flip() { echo "('0' if $1[-1] != '0' else '1')"; }
	edit hash.json "h = e[0]['proof'][2]; e[0]['proof'][2] = h[:-1] + $(flip h)"
	reject "$T/hash.json" "byte-edited proof hash: rejected" 1 "FAILED: $((nev - 1)) of $nev"
	edit canon.json "c = e[3]['canonical']; e[3]['canonical'] = c[:-6] + ('30' if c[-6:-4] != '30' else '31') + c[-4:]"
	reject "$T/canon.json" "altered event (one byte of its canonical bytes): rejected" 1 "seq [0-9]*: FAILED"
	edit seq.json "e[1]['seq'] = e[1]['seq'] + 1"
	reject "$T/seq.json" "event claimed at another seq: rejected" 1 "do not belong"
	edit other.json "p['evidence_id'] = 'EV-00000003'"
	reject "$T/other.json" "events claimed for another item: rejected" 1 "do not belong"
	edit root.json "l = p['checkpoint'].split('\n'); l[2] = ('A' if l[2][0] != 'A' else 'B') + l[2][1:]; p['checkpoint'] = '\n'.join(l)"
	reject "$T/root.json" "edited checkpoint root: rejected" 1 "checkpoint: "
	edit size.json "p['tree_size'] = p['tree_size'] - 1"
	reject "$T/size.json" "tree_size differing from the signed size: rejected" 2 "malformed"
	edit short.json "e[0]['proof'].pop()"
	reject "$T/short.json" "proof one hash short: rejected" 1 "FAILED"
	edit long.json "e[0]['proof'].append(e[0]['proof'][0])"
	reject "$T/long.json" "proof one hash too long: rejected" 1 "FAILED"
	edit empty.json "p['events'] = []"
	reject "$T/empty.json" "proof of no event: rejected" 1 "nothing is proven"
	edit types.json "e[0]['proof'] = 'abc'"
	reject "$T/types.json" "wrong JSON types: malformed" 2 "malformed"
	edit hexcase.json "e[0]['canonical'] = e[0]['canonical'] + 'zz'"
	reject "$T/hexcase.json" "non-hex canonical bytes: malformed" 2 "malformed"
	edit neg.json "e[0]['seq'] = -5"
	reject "$T/neg.json" "negative seq: malformed" 2 "malformed"
	# regressions (issue #10): each was accepted before
	edit rev.json "e[0], e[1] = e[1], e[0]"
	reject "$T/rev.json" "reversed events: rejected" 1 "strictly increasing"
	edit dup.json "e.insert(1, e[0]); p['events_total'] += 1"
	reject "$T/dup.json" "duplicated event: rejected" 1 "strictly increasing"
	edit part.json "e.pop(2)"
	reject "$T/part.json" "proof of only some of the item's events: rejected" 1 "incomplete"
	edit nc.json "p['not_covered'] = [e[0]['seq']]"
	reject "$T/nc.json" "not_covered naming a covered seq: rejected" 1 "not_covered: FAILED"
	edit part2.json "e.pop(2); p['events_total'] -= 1"
	reject "$T/part2.json" "some events left out and events_total edited to match: rejected" 1 "completeness: FAILED: events_claim"
	edit noclaim.json "del p['events_claim']"
	reject "$T/noclaim.json" "no signed completeness claim: not called complete" 1 "completeness: FAILED: no events_claim"
	edit otherclaim.json "p['events_claim'] = json.load(open('$T/p3.json'))['events_claim']"
	reject "$T/otherclaim.json" "another item's claim: rejected" 1 "completeness: FAILED: events_claim names another item"
	edit nototal.json "del p['events_total']"
	reject "$T/nototal.json" "no events_total: malformed" 2 "malformed"
	# a note for another log, validly signed by the trusted key
	python3 - "$T/p.json" "$T/ck.key" "$T/origin.json" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import serialization
p = json.load(open(sys.argv[1]))
k = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
text, sigs = p["checkpoint"].split("\n\n", 1)
lines = text.split("\n"); lines[0] = "other.example/another-log"
body = "\n".join(lines) + "\n"
dash, name, sig = sigs.strip().split(" ")
kid = base64.b64decode(sig)[:4]
p["checkpoint"] = body + "\n" + dash + " " + name + " " + base64.b64encode(kid + k.sign(body.encode())).decode() + "\n"
open(sys.argv[3], "w").write(json.dumps(p))
PY
	reject "$T/origin.json" "checkpoint of another log signed by the trusted key: rejected" 1 "origin 'other.example/another-log' is not the log of key"
	edit fmt.json "p['format'] = 'something else'"
	reject "$T/fmt.json" "unknown format: malformed" 2 "malformed"

	# independent verifier following docs/custody-ledger.md only: the
	# checkpoint's Ed25519 signature (python3-cryptography) and every
	# inclusion proof; exit 1 on any missing or bad part.
	cat >"$T/indep.py" <<'PY'
import base64, hashlib, json, struct, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
def fail(why):
    print("independent: REJECTED: " + why); sys.exit(1)
p = json.load(open(sys.argv[1]))
name, kid, key = open(sys.argv[2]).read().strip().split("+", 2)
key = base64.b64decode(key)
assert key[0] == 1 and len(key) == 33
assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == kid
note = p["checkpoint"].encode()
if b"\n\n" not in note: fail("no signature block")
text, sigs = note.rsplit(b"\n\n", 1)
text += b"\n"
origin, size, root = text.decode().split("\n")[:3]
size, root = int(size), base64.b64decode(root)
if size != p["tree_size"]: fail("tree_size is not the signed size")
pub = Ed25519PublicKey.from_public_bytes(key[1:])
sigok = False
for line in sigs.decode().splitlines():
    f = line.split(" ")
    if len(f) != 3 or f[0] != "\u2014" or f[1] != name: continue
    try: sig = base64.b64decode(f[2], validate=True)
    except ValueError: continue
    if len(sig) != 68 or sig[:4].hex() != kid: continue
    try:
        pub.verify(sig[4:], text); sigok = True
    except InvalidSignature:
        fail("bad signature by " + name)
if not sigok: fail("no signature by " + name)
NH = lambda l, r: hashlib.sha256(b"\x01" + l + r).digest()
def inclusion(i, n, h, proof):
    fn, sn, r = i, n - 1, h
    for q in proof:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = NH(q, r)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = NH(r, q)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root
def field(b, o):
    n = struct.unpack(">I", b[o:o + 4])[0]
    return b[o + 4:o + 4 + n].decode(), o + 4 + n
if origin != name: fail("checkpoint of another log")
if not p["events"]: fail("no event")
seqs = [e["seq"] for e in p["events"]]
if seqs != sorted(set(seqs)) or len(seqs) != p["events_total"]: fail("order or completeness")
if not all(s > size for s in p["not_covered"]) or p["not_covered"] != sorted(set(p["not_covered"])): fail("not_covered")
# completeness claim: a note by the same key, origin + " item-events", the
# tree size, root = SHA-256 of the listed events' leaf hashes, 3 extensions
ctext, csigs = p["events_claim"].encode().rsplit(b"\n\n", 1)
ctext += b"\n"
cl = ctext.decode().split("\n")
leaves = b"".join(hashlib.sha256(b"\x00" + bytes.fromhex(e["canonical"])).digest() for e in p["events"])
if cl[0] != origin + " item-events" or int(cl[1]) != size: fail("claim header %r" % cl[:2])
if base64.b64decode(cl[2]) != hashlib.sha256(leaves).digest(): fail("claim digest")
if cl[3:6] != ["evidence-dock/item-events/v1", p["evidence_id"], "events %d" % len(p["events"])]: fail("claim %r" % cl)
dash, kname, csig = csigs.decode().strip().split(" ")
csig = base64.b64decode(csig)
if kname != name or csig[:4].hex() != kid: fail("claim key")
try:
    pub.verify(csig[4:], ctext)
except InvalidSignature:
    fail("bad claim signature")
for e in p["events"]:
    c = bytes.fromhex(e["canonical"])
    if c[0] != 1 or struct.unpack(">Q", c[1:9])[0] != e["seq"]: fail("seq %d" % e["seq"])
    o = 18; agency, o = field(c, o); o += 1; actor, o = field(c, o); o += 2
    evid, o = field(c, o)
    if evid != p["evidence_id"]: fail("event of " + evid)
    h = hashlib.sha256(b"\x00" + c).digest()
    if not inclusion(e["seq"] - 1, size, h, [bytes.fromhex(x) for x in e["proof"]]):
        fail("seq %d not included" % e["seq"])
print("independent: %d events included in %s@%d, signature valid" % (len(p["events"]), origin, size))
PY
	indep() { python3 "$T/indep.py" "$1" "$T/ck.vkey" >"$T/indep.out" 2>&1; }
	indep "$T/p.json"; rc=$?
	check "independent Python verifier (from the docs) accepts the proof" [ $rc -eq 0 ]
	sed 's/^/# /' "$T/indep.out"
	edit nosig.json "p['checkpoint'] = p['checkpoint'].split('\n\n')[0] + '\n\n'"
	edit badsig.json "import base64
t, s = p['checkpoint'].rsplit('\n\n', 1)
d, n, b = s.split('\n')[0].split(' ')
b = bytearray(base64.b64decode(b)); b[10] ^= 1
p['checkpoint'] = t + '\n\n' + ' '.join([d, n, base64.b64encode(bytes(b)).decode()]) + '\n'"
	for f in nosig badsig root foreign hash; do
		indep "$T/$f.json"; rc=$?
		check "independent verifier rejects $f.json (exit 1): $(cat "$T/indep.out")" [ $rc -eq 1 ]
	done
	reject "$T/badsig.json" "custody check-proof rejects a bad signature" 1 "FAILED\|signature"
	reject "$T/nosig.json" "custody check-proof rejects a missing signature" 1 "FAILED\|signature"
else
	skip "edited proofs" "no python3"
fi

# truncated and garbage files: "not a proof file", exit 2, no crash
head -c $(( $(wc -c <"$T/p.json") / 2 )) "$T/p.json" >"$T/trunc.json"
reject "$T/trunc.json" "truncated proof file: rejected" 2 "not a proof file"
head -c 3000 /dev/urandom >"$T/garbage.json"
reject "$T/garbage.json" "garbage file: rejected" 2 "not a proof file"
: >"$T/empty-file.json"
reject "$T/empty-file.json" "empty file: rejected" 2 "not a proof file"
echo '[1, 2, 3]' >"$T/array.json"
reject "$T/array.json" "JSON that is not a proof object: rejected" 2 "malformed"
reject "$T/does-not-exist.json" "missing file: rejected" 2 "not a proof file"
check_fails "missing vkey file: error" "$C" check-proof "$T/p.json" --vkey "$T/nope.vkey" 2>/dev/null
check_fails "no vkey at all: error" "$C" check-proof "$T/p.json" 2>/dev/null
# reads carry the clerk's reason into their audit event
"$C" --config "$T/b/c.ini" history $id --reason "case 42 review" >/dev/null
"$C" --config "$T/b/c.ini" search --camera CAM-000 --reason "weekly audit" >/dev/null
check "history --reason recorded in its ledger_read event" [ "$(sqlite3 "$T/b/l.db" \
	"SELECT count(*) FROM events WHERE action = 42 AND reason = 'case 42 review' AND evidence_id = '$id'")" -eq 1 ]
check "search --reason recorded in its ledger_read event" [ "$(sqlite3 "$T/b/l.db" \
	"SELECT count(*) FROM events WHERE action = 42 AND reason = 'weekly audit'")" -eq 1 ]
check_fails "a reason with control characters is refused" "$C" --config "$T/b/c.ini" \
	history $id --reason "$(printf 'a\033b')" 2>/dev/null
check_fails "proof of an unknown item: error" "$C" --config "$T/b/c.ini" proof EV-99999999 2>/dev/null
done_testing
