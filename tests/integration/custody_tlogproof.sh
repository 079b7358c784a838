#!/bin/sh
# `custody proof ID --tlog-proof DIR` and `custody check-proof --agency F
# --witnesses F FILE...` (issue 10): C2SP tlog-proof files of an item's
# events against a checkpoint cosigned by a real `custody witness` process
# on loopback, checked offline with only the agency vkey and the witness
# vkey (or the agency-signed witness policy). Refused: a tampered leaf, a
# wrong index, a checkpoint re-signed by an uncertified key, a missing
# cosignature, a cert signed by another agency key, garbage. An
# independent Python verifier written from docs/custody-ledger.md checks
# one file.
. "$(dirname "$0")/../lib.sh"
mktmp
W_PID=
trap 'kill $W_PID 2>/dev/null; rm -rf "$T"' EXIT
C="$BIN/custody"
ORIGIN=dock.example/pd-test
DOCKPUB=$(printf 'ab%.0s' $(seq 32))
mkdir -p "$T/agency" "$T/other" "$T/dock/ext" "$T/aud" "$T/out"

# --- agency (offline key), a second "agency" key of root's own ---
for a in agency other; do
	openssl genpkey -algorithm ed25519 -out "$T/$a/sign.key" 2>/dev/null
	openssl pkey -in "$T/$a/sign.key" -pubout -out "$T/$a/sign.pub"
	"$C" agency-vkey --pub "$T/$a/sign.pub" --agency-id pd-test >"$T/$a/agency.vkey"
done
cp "$T/agency/agency.vkey" "$T/aud/agency.vkey"
"$C" witness keygen --key "$T/w1.key" --vkey "$T/w1.vkey" --name w1.test/witness >/dev/null
cp "$T/w1.vkey" "$T/aud/w1.vkey"
"$C" agency-sign witnesses --key "$T/agency/sign.key" --agency-id pd-test --version 1 \
	--quorum 1 --witness "$T/w1.vkey" --out "$T/aud/witnesses.note" >/dev/null

# --- the dock: certified checkpoint key ---
"$C" keygen --key "$T/dock/ck.key" --vkey "$T/dock/ck.vkey" --name $ORIGIN >/dev/null
"$C" agency-sign custody-cert --key "$T/agency/sign.key" --agency-id pd-test --dock-id dock-1 \
	--origin $ORIGIN --checkpoint-vkey "$T/dock/ck.vkey" --dock-pub "$DOCKPUB" --days 365 \
	--out "$T/dock/custody.cert" >/dev/null
cp "$T/agency/agency.vkey" "$T/dock/agency.vkey"
cat >"$T/dock/c.ini" <<EOC
[ledger]
path = $T/dock/l.db
agency_id = pd-test
checkpoint_key = $T/dock/ck.key
checkpoint_pub = $T/dock/ck.vkey
checkpoint_origin = $ORIGIN
external_checkpoint_dir = $T/dock/ext
custody_cert = $T/dock/custody.cert
agency_vkey = $T/dock/agency.vkey
EOC
CF="--config $T/dock/c.ini"
"$C" $CF init >/dev/null
"$C" $CF demo-fill 7 --per-session 3 >/dev/null
"$C" $CF checkpoint >/dev/null
q() { sqlite3 "$T/dock/l.db" "$@"; }
check "custody_certified (53) recorded" [ "$(q "SELECT count(*) FROM events WHERE action = 53")" = 1 ]
ID=$(q "SELECT min(evidence_id) FROM evidence")
N=$(q "SELECT max(size) FROM checkpoints")

check_fails "no cosigned checkpoint yet: no tlog-proof" "$C" $CF proof $ID --tlog-proof "$T/out" 2>/dev/null

# --- a real witness on loopback cosigns the newest checkpoint ---
"$C" witness --listen 127.0.0.1:0 --state "$T/wstate" --key "$T/w1.key" \
	--name w1.test/witness --log "$ORIGIN $(cat "$T/dock/ck.vkey")" >"$T/w.out" 2>"$T/w.err" &
W_PID=$!
i=0
until grep -q '^vkey ' "$T/w.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.05
done
WPORT=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$T/w.out")
check "witness listens on loopback (port $WPORT)" [ -n "$WPORT" ]
{ printf 'old 0\n\n'; cat "$T/dock/ext/checkpoint.$N"; } >"$T/req"
st=$(curl -s -o "$T/cosig" -w '%{http_code}' --data-binary @"$T/req" \
	"http://127.0.0.1:$WPORT/add-checkpoint")
check "the witness cosigned checkpoint $N (HTTP $st)" [ "$st" = 200 ]
line=$(grep 'w1.test/witness' "$T/cosig")
q "INSERT INTO checkpoint_cosigs VALUES ($N, 'w1.test/witness', '$line', 0)"
# events after the cosigned checkpoint get no file
"$C" $CF history $ID >/dev/null

nev=$(q "SELECT count(*) FROM events WHERE evidence_id = '$ID' AND seq <= $N")
out=$("$C" $CF proof $ID --tlog-proof "$T/out" 2>&1); rc=$?
check "proof --tlog-proof writes one file per covered event ($nev; exit $rc)" \
	[ $rc -eq 0 ] && [ "$(ls "$T/out" | grep -c '\.tlog-proof$')" -eq "$nev" ]
check_fails "refuses to overwrite existing files" "$C" $CF proof $ID --tlog-proof "$T/out" 2>/dev/null
F=$(ls "$T/out"/*.tlog-proof | head -1)
check "first line is c2sp.org/tlog-proof@v1" [ "$(head -1 "$F")" = "c2sp.org/tlog-proof@v1" ]
check "the checkpoint carries the witness's cosignature" grep -q '^— w1.test/witness ' "$F"

# --- offline: the ledger goes away ---
mkdir "$T/gone"; mv "$T/dock/l.db"* "$T/gone/"
out=$("$C" check-proof --agency "$T/aud/agency.vkey" --witnesses "$T/aud/w1.vkey" "$T/out"/*.tlog-proof 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "^$nev of $nev tlog-proof file(s) verified"; then
	ok "every file verifies with agency.vkey + the witness vkey alone"
else not_ok "offline check (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -8; fi
case $out in *"proves: event seq"*"does not prove: that these are all of the item's events"*)
	ok "says what it proves and what it does not (completeness)";;
	*) not_ok "proves / does not prove lines"; printf '%s\n' "$out" | sed 's/^/# /' | head -12;; esac
check "verifies with the agency-signed witness policy instead of vkeys" \
	"$C" check-proof --agency "$T/aud/agency.vkey" --witnesses "$T/aud/witnesses.note" "$F"
check_fails "a policy signed by another agency key is refused" \
	"$C" check-proof --agency "$T/other/agency.vkey" --witnesses "$T/aud/witnesses.note" "$F"
check_fails "quorum 2 with one witness key: refused" \
	"$C" check-proof --agency "$T/aud/agency.vkey" --witnesses "$T/aud/w1.vkey" --quorum 2 "$F"

# reject FILE DESC PATTERN: exit 1 and PATTERN
reject() {
	out=$("$C" check-proof --agency "${AG:-$T/aud/agency.vkey}" --witnesses "${WK:-$T/aud/w1.vkey}" "$1" 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q -- "$3"; then ok "$2"
	else not_ok "$2 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -5; fi
}
# edit OUT PYTHON: a copy of $F changed by PYTHON on (head, extra, index, hashes, note)
edit() {
	python3 - "$F" "$T/$1" "$2" "$T" <<'PY'
import base64, sys
src, dst, code, T = sys.argv[1:5]
text = open(src, encoding="utf-8").read()
proof, note = text.split("\n\n", 1)
lines = proof.split("\n")
head, extra, index, hashes = lines[0], lines[1], lines[2], lines[3:]
x = base64.b64decode(extra[len("extra "):]).decode()
xl = x.split("\n")
leaf = base64.b64decode(xl[1][len("leaf "):])
cert = base64.b64decode(xl[2][len("custody-cert "):]).decode()
exec(code)
xl[1] = "leaf " + base64.b64encode(leaf).decode()
xl[2] = "custody-cert " + base64.b64encode(cert.encode()).decode()
extra = "extra " + base64.b64encode("\n".join(xl).encode()).decode()
open(dst, "w", encoding="utf-8").write("\n".join([head, extra, index] + hashes) + "\n\n" + note)
PY
}
edit leaf "leaf = leaf[:-3] + bytes([leaf[-3] ^ 1]) + leaf[-2:]"
reject "$T/leaf" "tampered leaf data: refused" "inclusion: FAILED"
edit index "index = 'index %d' % (int(index.split()[1]) + 1)"
reject "$T/index" "wrong index: refused" "inclusion: FAILED\|event: FAILED"
edit nocosig "note = note.replace([l for l in note.split('\n') if 'w1.test/witness' in l][0] + '\n', '')"
reject "$T/nocosig" "cosignature removed: refused" "witnesses: FAILED"
# root re-signs the same checkpoint body with a key of its own
"$C" keygen --key "$T/rk.key" --vkey "$T/rk.vkey" --name $ORIGIN >/dev/null
edit resigned "
from cryptography.hazmat.primitives.serialization import load_pem_private_key
import hashlib, struct
body = note.split('\n\n', 1)[0] + '\n'
k = load_pem_private_key(open(T + '/rk.key', 'rb').read(), None)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
pub = base64.b64decode(open(T + '/rk.vkey').read().strip().split('+', 2)[2])[1:]
kid = hashlib.sha256('$ORIGIN'.encode() + b'\n\x01' + pub).digest()[:4]
sig = k.sign(body.encode())
cos = [l for l in note.split('\n') if 'w1.test/witness' in l]
note = body + '\n\u2014 $ORIGIN ' + base64.b64encode(kid + sig).decode() + '\n' + ''.join(l + '\n' for l in cos)
"
if [ -s "$T/resigned" ]; then
	reject "$T/resigned" "checkpoint re-signed by an uncertified key: refused" "checkpoint: FAILED"
else not_ok "could not build the re-signed file (key format?)"; fi
# a custody-cert for root's key, signed by root's own "agency" key
"$C" agency-sign custody-cert --key "$T/other/sign.key" --agency-id pd-test --dock-id dock-1 \
	--origin $ORIGIN --checkpoint-vkey "$T/dock/ck.vkey" --dock-pub "$DOCKPUB" --days 365 \
	--out "$T/other.cert" >/dev/null
edit othercert "cert = open(T + '/other.cert').read()"
reject "$T/othercert" "custody-cert signed by another agency key: refused" "custody-cert: FAILED"
AG="$T/other/agency.vkey" reject "$F" "the real file against another agency's vkey: refused" "custody-cert: FAILED"
printf 'c2sp.org/tlog-proof@v1\nindex 0\n\n' >"$T/noextra"
reject "$T/noextra" "a file without the extra data: refused as malformed" "not a tlog-proof file"
head -c 300 "$F" >"$T/trunc"
reject "$T/trunc" "a truncated file: refused" "FAILED"
head -c 200000 /dev/urandom >"$T/big"
out=$("$C" check-proof --agency "$T/aud/agency.vkey" --witnesses "$T/aud/w1.vkey" "$T/big" 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s\n' "$out" | grep -q 'larger than any tlog-proof file'; then
	ok "an oversized file: clear error, exit 2"
else not_ok "oversized file (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -3; fi

# --- independent verifier written from docs/custody-ledger.md alone ---
py_verify() { # FILE
	python3 - "$1" "$T/aud/agency.vkey" "$T/aud/w1.vkey" <<'PY'
import base64, hashlib, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
f, agency_vkey, wit_vkey = sys.argv[1:4]
def vkey(path, typ):
    line = [l for l in open(path).read().split("\n") if l and not l.startswith("#")][0]
    name, kid, b = line.split("+", 2)
    raw = base64.b64decode(b)
    assert raw[0] == typ and hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == kid
    return name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(raw[1:])
def split_note(n):
    text, sigs = n.rsplit("\n\n", 1)
    return text + "\n", [l for l in sigs.split("\n") if l]
def sigline(l):
    assert l.startswith("\u2014 ")
    name, b = l[2:].rsplit(" ", 1)
    return name, base64.b64decode(b, validate=True)
def need_sig(note, key):
    text, sigs = split_note(note)
    for l in sigs:
        n, b = sigline(l)
        if n == key[0] and b[:4] == key[1]:
            key[2].verify(b[4:], text.encode()); return text
    sys.exit("no signature by " + key[0])
text = open(f, encoding="utf-8").read()
proof, note = text.split("\n\n", 1)
lines = proof.split("\n")
assert lines[0] == "c2sp.org/tlog-proof@v1"
assert lines[1].startswith("extra ") and lines[2].startswith("index ")
x = base64.b64decode(lines[1][6:], validate=True).decode().split("\n")
assert x[0] == "evidence-dock/tlog-proof-extra/v1" and x[3] == ""
leaf = base64.b64decode(x[1][5:], validate=True)
cert = base64.b64decode(x[2][13:], validate=True).decode()
index = int(lines[2][6:])
path = [base64.b64decode(h, validate=True) for h in lines[3:]]
# 1. custody-cert under the agency key
ag = vkey(agency_vkey, 1)
ctext = need_sig(cert, ag).split("\n")
assert ctext[0] == "evidence-dock/custody-cert/v1"
fields = dict(l.split(" ", 1) for l in ctext[1:] if l)
assert ag[0] == fields["agency"] + "/agency"
ck = vkey_s = fields["checkpoint-key"]
name, kid, b = ck.split("+", 2); raw = base64.b64decode(b)
assert name == fields["origin"] and raw[0] == 1
ckey = (name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(raw[1:]))
# 2. checkpoint under the certified key, origin = certified origin
ctext = need_sig(note, ckey)
origin, size, root = ctext.split("\n")[:3]
assert origin == fields["origin"]
size = int(size); root = base64.b64decode(root)
# 3. the witness cosignature (cosignature/v1, type 0x04)
wn, wkid, wk = vkey(wit_vkey, 4)
ok = 0
for l in split_note(note)[1]:
    n, b = sigline(l)
    if n == wn and b[:4] == wkid:
        ts = struct.unpack(">Q", b[4:12])[0]
        wk.verify(b[12:], ("cosignature/v1\ntime %d\n" % ts).encode() + ctext.encode()); ok += 1
assert ok == 1
# 4. RFC 9162 inclusion of SHA-256(0x00 || leaf) at index
h = hashlib.sha256(b"\x00" + leaf).digest()
fn, sn = index, size - 1
assert index < size
for p in path:
    assert sn != 0
    if fn % 2 == 1 or fn == sn:
        h = hashlib.sha256(b"\x01" + p + h).digest()
        if fn % 2 == 0:
            while fn % 2 == 0 and fn != 0:
                fn >>= 1; sn >>= 1
    else:
        h = hashlib.sha256(b"\x01" + h + p).digest()
    fn >>= 1; sn >>= 1
assert sn == 0 and h == root, "inclusion"
# 5. the leaf is the event of seq index + 1 (canonical: u8 version, u64 seq)
assert leaf[0] == 1 and struct.unpack(">Q", leaf[1:9])[0] == index + 1
print("python: OK seq", index + 1)
PY
}
out=$(py_verify "$F" 2>&1); rc=$?
check "independent Python verifier accepts a real file ($out)" [ $rc -eq 0 ]
for bad in leaf index nocosig resigned othercert; do
	[ -s "$T/$bad" ] || { not_ok "no file '$bad' to refuse"; continue; }
	check_fails "independent Python verifier refuses '$bad'" py_verify "$T/$bad"
done
kill $W_PID 2>/dev/null; wait $W_PID 2>/dev/null; W_PID=
done_testing
