#!/bin/sh
# `custody share` / `custody decrypt --share` / `custody share revoke`
# (docs/evidence-format.md §15). Real components: dockd ingests two camsim
# recordings into a real vault and ledger; the agency workstation shares
# one of them to a recipient key pair made here with openssl; the
# recipient decrypts with that key alone. An independent Python reader
# written from §15 decrypts the same share.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

check "dock: keys, config, ledger" dk_init "$T/dk"
check "dock: camera CAM-1 with 2 recordings" dk_camera CAM-1 2 70000
check "dock: dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dock: dockd --exit-when-idle exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$DK_LOG" | sed 's/^/#   /'

KEY="$DK/keys/agency-enc.key"
ORIG1="$DK/orig/CAM-1/REC-1.bin"
V1=$(dk_vault_file CAM-1 REC-1)
V2=$(dk_vault_file CAM-1 REC-2)
C() { "$CUSTODY" --config "$DK_CONF" "$@"; }
R="$T/recipient"
mkdir -p "$R"
newkey() { # NAME: a P-256 key pair in $R (NAME.key 0600, NAME.pub)
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$R/$1.key" 2>/dev/null) && openssl pkey -in "$R/$1.key" -pubout -out "$R/$1.pub"
}
check "recipient key pair (openssl genpkey P-256)" newkey da
check "a second, unrelated key pair" newkey other
RD() { "$CUSTODY" decrypt "$@"; }	# the recipient: no config, no ledger
shared() { # EVID: the item's `shared` events, one JSON line each
	dk_py 'import json
for s, a, e, d in events(args[0]):
    if a == "shared":
        o = con.execute("SELECT outcome, case_no FROM events WHERE seq=?", (s,)).fetchone()
        print(json.dumps({"outcome": o[0], "case": o[1], "details": d}, sort_keys=True))' "$1"
}
UNTIL=$(date -u -d '+30 days' +%Y-%m-%d)

# ---- refusals before anything is made -------------------------------------
C share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" --case 24-1234 --until "$UNTIL" \
	--out "$T/x.json" 2>"$T/err"; rc=$?
check "share without --reason: exit 2" sh -c "[ $rc -eq 2 ] && grep -q 'reason' '$T/err'"
C share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" --case 24-1234 --until 2020-01-01 \
	--reason r --out "$T/x.json" 2>"$T/err"; rc=$?
check "share with --until in the past: exit 2" sh -c "[ $rc -eq 2 ] && grep -q 'not in the future' '$T/err'"
C share CAM-1/REC-1 --key "$KEY" --to "$R/da.key" --case 24-1234 --until "$UNTIL" \
	--reason r --out "$T/x.json" 2>/dev/null; rc=$?
check "share --to a PRIVATE key file is refused" [ $rc -eq 2 ]
C share CAM-1/REC-1 --key "$R/other.key" --to "$R/da.pub" --case 24-1234 --until "$UNTIL" \
	--reason r --out "$T/x.json" 2>"$T/err"; rc=$?
check "share with a key that is not the item's agency key: exit 1, says so" sh -c \
	"[ $rc -eq 1 ] && grep -q 'not encrypted to this agency key' '$T/err'"
check "... the attempt is recorded: a shared event with outcome failed" \
	[ "$(shared CAM-1/REC-1 | grep -c '"outcome": 2')" = 1 ]
"$CUSTODY" --config "$DK_CONF" --read-only share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" \
	--case 24-1234 --until "$UNTIL" --reason r --out "$T/x.json" 2>"$T/err"; rc=$?
check "read-only ledger: no share (exit 2)" sh -c "[ $rc -eq 2 ] && grep -q 'read-only ledger' '$T/err'"
check "... and no share file from any refusal" [ ! -e "$T/x.json" ]

# ---- share REC-1 to the recipient -------------------------------------------
check "share CAM-1/REC-1 to the recipient key" \
	C share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" --case 24-1234 --until "$UNTIL" \
	--reason "disclosure to defense expert" --out "$R/rec1.share.json"
RKID=$("$CUSTODY" agency-keyid "$R/da.pub")
FSHA=$(sha256sum "$R/rec1.share.json" | cut -c1-64)
SID=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["binding"])["share_id"])' \
	"$R/rec1.share.json")
check "the ledger shows the share: case, until, recipient key id, evidence and share file sha256" \
	python3 -c '
import json, sys
ev = [json.loads(l) for l in sys.stdin.read().split("\n") if l]
ok = [e for e in ev if e["outcome"] == 1]
d = ok[0]["details"] if len(ok) == 1 else {}
sys.exit(0 if ok and ok[0]["case"] == "24-1234" and d["recipient_key_id"] == sys.argv[1]
         and d["share_sha256"] == sys.argv[2] and d["share_id"] == sys.argv[3]
         and d["until"] == sys.argv[4] + "T23:59:59Z" and len(d["plaintext_sha256"]) == 64
         and len(d["header_sha256"]) == 64 else 1)' "$RKID" "$FSHA" "$SID" "$UNTIL" <<EOF
$(shared CAM-1/REC-1)
EOF
check "... and its plaintext_sha256 is the item's ledger record (the camera's original)" \
	[ "$(shared CAM-1/REC-1 | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["details"]["plaintext_sha256"])')" = \
	  "$(sha256sum "$ORIG1" | cut -c1-64)" ]
check "the share file holds no agency key material (no PEM, no agency key id)" sh -c \
	"! grep -q 'PRIVATE' '$R/rec1.share.json' &&
	 ! grep -q \"\$('$CUSTODY' agency-keyid '$DK/keys/agency-enc.pub')\" '$R/rec1.share.json'"

# ---- the recipient decrypts exactly REC-1 -----------------------------------
cp "$V1" "$R/rec1.bcde"; cp "$V2" "$R/rec2.bcde"
check "recipient: decrypt --share with their own key" \
	RD --share "$R/rec1.share.json" --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/rec1.mp4"
check "... byte-identical to the camera's original" cmp -s "$R/rec1.mp4" "$ORIG1"
RD --share "$R/rec1.share.json" --key "$R/da.key" --file "$R/rec2.bcde" --out "$R/rec2.mp4" 2>"$T/err"; rc=$?
check "the share does not open the other item (exit 1, another evidence file)" sh -c \
	"[ $rc -eq 1 ] && grep -q 'another evidence file' '$T/err' && [ ! -e '$R/rec2.mp4' ]"
RD --no-ledger --key "$R/da.key" --file "$R/rec2.bcde" --out "$R/rec2.mp4" 2>"$T/err"; rc=$?
check "the recipient key alone opens nothing (REC-2: not encrypted to this key)" sh -c \
	"[ $rc -eq 1 ] && grep -q 'not encrypted to this key' '$T/err' && [ ! -e '$R/rec2.mp4' ]"
RD --no-ledger --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/x.mp4" 2>/dev/null; rc=$?
check "... nor REC-1 without the share" sh -c "[ $rc -eq 1 ] && [ ! -e '$R/x.mp4' ]"

# ---- wrong key, tampered share ----------------------------------------------
RD --share "$R/rec1.share.json" --key "$R/other.key" --file "$R/rec1.bcde" --out "$R/x.mp4" 2>"$T/err"; rc=$?
check "wrong key: exit 1, names the share's key" sh -c \
	"[ $rc -eq 1 ] && grep -q 'the share is for key' '$T/err' && [ ! -e '$R/x.mp4' ]"
tamper() { # OUT PYTHON-EXPR-ON-b (the binding dict) [stanza|mac]
	python3 - "$R/rec1.share.json" "$1" "$2" "$3" <<'EOF'
import json, sys
src, out, expr, what = sys.argv[1:5]
f = json.load(open(src))
b = json.loads(f["binding"])
exec(expr)
f["binding"] = json.dumps(b, sort_keys=True, separators=(",", ":"))
if what == "stanza":
    s = bytearray.fromhex(f["stanza"]); s[-1] ^= 1; f["stanza"] = s.hex()
json.dump(f, open(out, "w"))
EOF
}
OTHER_KID=$("$CUSTODY" agency-keyid "$R/other.pub")
H2=$(python3 -c '
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read(); n = struct.unpack(">I", d[12:16])[0]
print(hashlib.sha256(d[:n]).hexdigest())' "$V2")
tamper "$T/t-until.json" 'b["until"] = "2099-12-31T23:59:59Z"'
tamper "$T/t-item.json" 'b["evidence_id"] = "CAM-1/REC-2"; b["header_sha256"] = "'"$H2"'"'
tamper "$T/t-case.json" 'b["case"] = "99-0000"'
tamper "$T/t-stanza.json" 'pass' stanza
tamper "$T/t-key.json" 'b["recipient_key_id"] = "'"$OTHER_KID"'"'
for t in until case stanza; do
	RD --share "$T/t-$t.json" --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/x.mp4" 2>"$T/err"; rc=$?
	check "tampered share ($t changed): exit 1, authentication failed, no output" sh -c \
		"[ $rc -eq 1 ] && grep -q 'share file was altered' '$T/err' && [ ! -e '$R/x.mp4' ]"
done
RD --share "$T/t-item.json" --key "$R/da.key" --file "$R/rec2.bcde" --out "$R/x.mp4" 2>"$T/err"; rc=$?
check "tampered share (binding moved to the other item): refused on REC-2, no output" sh -c \
	"[ $rc -eq 1 ] && grep -q 'share file was altered' '$T/err' && [ ! -e '$R/x.mp4' ]"
RD --share "$T/t-key.json" --key "$R/other.key" --file "$R/rec1.bcde" --out "$R/x.mp4" 2>"$T/err"; rc=$?
check "tampered share (recipient re-addressed to another key): refused" sh -c \
	"[ $rc -eq 1 ] && grep -q 'not addressed to this key' '$T/err' && [ ! -e '$R/x.mp4' ]"
printf '{"format":"evidence-dock share v1"}' >"$T/t-junk.json"
RD --share "$T/t-junk.json" --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/x.mp4" 2>"$T/err"; rc=$?
check "a share file without its fields: clear error, no output" sh -c \
	"[ $rc -eq 1 ] && grep -q 'not a share file' '$T/err' && [ ! -e '$R/x.mp4' ]"
head -c 100000 /dev/zero >"$T/t-big.json"
check_fails "an oversized share file is refused" \
	RD --share "$T/t-big.json" --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/x.mp4"

# ---- an independent reader written from docs/evidence-format.md §15 --------
check "independent Python reader decrypts the share byte-identically" python3 - \
	"$R/rec1.share.json" "$R/da.key" "$R/rec1.bcde" "$ORIG1" <<'EOF'
import hashlib, hmac, json, struct, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
share, keyf, evf, orig = sys.argv[1:5]
def hkdf(ikm, salt, info, md=hashes.SHA256()):
    return HKDF(md, 32, salt, info).derive(ikm)
f = json.load(open(share))
assert f["format"] == "evidence-dock share v1"
b = json.loads(f["binding"]); st = bytes.fromhex(f["stanza"])
d = open(evf, "rb").read()
hl = struct.unpack(">I", d[12:16])[0]; hdr = d[:hl]; salt = hdr[16:48]
assert hashlib.sha256(hdr).hexdigest() == b["header_sha256"]
priv = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
assert st[0] == 1 and struct.unpack(">H", st[1:3])[0] == 113 and st[3:35].hex() == b["recipient_key_id"]
E, W = st[35:100], st[100:148]
z = priv.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), E))
kek = hkdf(z, salt, b"evfile v1 ecdh-p256 kek" + E + st[3:35])
dk = AESGCM(kek).decrypt(bytes(12), W, b"")
kb = hkdf(dk, salt, b"evfile v1 share binding key")
assert hmac.compare_digest(hmac.new(kb, f["binding"].encode(), "sha256").hexdigest(), f["mac"])
kh = hkdf(dk, salt, b"evfile v1 header mac key")
assert hmac.compare_digest(hmac.new(kh, hdr[:-32], "sha256").digest(), hdr[-32:])
kp = AESGCM(hkdf(dk, salt, b"evfile v1 payload key")); hh = hashlib.sha256(hdr).digest()
cc = (1 << d[9]) + 16; body = d[hl:]; n = max(1, -(-len(body) // cc)); out = b""
for i in range(n):
    c = body[i * cc:(i + 1) * cc]; fin = i == n - 1
    L = len(body) - 16 * n
    out += kp.decrypt(bytes(3) + struct.pack(">Q", i) + bytes([fin]), c,
                      hh + (struct.pack(">Q", L) if fin else b""))
assert out == open(orig, "rb").read()
assert hashlib.sha256(out).hexdigest() == b["plaintext_sha256"]
EOF

# ---- expiry -------------------------------------------------------------------
# Valid for a few seconds (room for a slow machine to make it), then wait
# until the clock is past it: the outcome does not depend on timing.
SOON_S=$(($(date -u +%s) + 10))
SOON=$(date -u -d "@$SOON_S" +%Y-%m-%dT%H:%M:%SZ)
check "a share valid for a few seconds" \
	C share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" --case 24-1234 --until "$SOON" \
	--reason "short" --out "$R/soon.share.json"
check "... which decrypts while valid" \
	RD --share "$R/soon.share.json" --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/soon.mp4"
while [ "$(date -u +%s)" -le "$SOON_S" ]; do sleep 1; done
RD --share "$R/soon.share.json" --key "$R/da.key" --file "$R/rec1.bcde" --out "$R/x.mp4" 2>"$T/err"; rc=$?
check "expired share: exit 1, 'expired', no output" sh -c \
	"[ $rc -eq 1 ] && grep -q 'expired at $SOON' '$T/err' && [ ! -e '$R/x.mp4' ]"

# ---- the record comes before the share file ------------------------------
n_ok=$(shared CAM-1/REC-1 | grep -c '"outcome": 1')
C share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" --case 24-1234 --until "$UNTIL" \
	--reason r --out "$T/no-such-dir/s.json" 2>"$T/err"; rc=$?
check "share file cannot be written: exit 2" [ $rc -eq 2 ]
recorded_first() {
	[ "$(shared CAM-1/REC-1 | grep -c '"outcome": 1')" = $((n_ok + 1)) ] &&
		shared CAM-1/REC-1 | tail -1 | grep -q 'share file could not be written'
}
check "... the share was recorded first, then its failure" recorded_first
check_fails "a share file is never replaced" \
	C share CAM-1/REC-1 --key "$KEY" --to "$R/da.pub" --case 24-1234 --until "$UNTIL" \
	--reason r --out "$R/rec1.share.json"
check "... it is unchanged" [ "$(sha256sum "$R/rec1.share.json" | cut -c1-64)" = "$FSHA" ]

# ---- revocation -----------------------------------------------------------------
check "share revoke SHARE_ID" C share revoke "$SID" --reason "case closed"
revoked() {
	shared CAM-1/REC-1 | tail -1 | python3 -c 'import json, sys
d = json.load(sys.stdin)["details"]
sys.exit(0 if d["revoked"] is True and d["share_id"] == sys.argv[1] and
         d["recipient_key_id"] == sys.argv[2] else 1)' "$SID" "$RKID"
}
check "... the ledger shows a shared event with revoked = true for that share" revoked
C share revoke "$SID" --reason again 2>"$T/err"; rc=$?
check "revoking twice: exit 1, already revoked" sh -c "[ $rc -eq 1 ] && grep -q 'already revoked' '$T/err'"
C share revoke 0123456789abcdef0123456789abcdef --reason r 2>"$T/err"; rc=$?
check "revoking an unknown share id: exit 1" sh -c "[ $rc -eq 1 ] && grep -q 'no share' '$T/err'"
check_fails "revoke without --reason" C share revoke "$SID"

check "custody verify passes after shares, failures and revocation" dk_verify
done_testing
