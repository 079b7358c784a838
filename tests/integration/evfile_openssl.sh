#!/bin/sh
# Is docs/evidence-format.md complete enough for an independent program?
#
#  1. An independent decryptor/encryptor written from the spec alone, in
#     Python with the `cryptography` package (Debian python3-cryptography),
#     decrypts files made by the C writer (P-256, P-384, RSA-3072, two
#     recipients, empty), rejects tampered ones, and its own files decrypt
#     with the C reader. It also decrypts the test vector printed in the doc.
#  2. The `openssl` command line alone re-derives the test vector's keys
#     (pkeyutl -derive, kdf HKDF, mac HMAC), checks its header MAC and
#     decrypts its chunk with AES-CTR. `openssl enc` has no GCM, so the CLI
#     cannot check a GCM tag: step 1 is what proves authentication works.
. "$(dirname "$0")/../lib.sh"

mktmp   # sets T
DOC="$TOP/docs/evidence-format.md"
TOOL="$TBIN/test_evfile"

PY=""
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 &&
	   "$p" -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null; then
		PY=$p
		break
	fi
done

cat >"$T/evf.py" <<'EOF'
# Independent implementation of docs/evidence-format.md (version 1).
import hashlib, hmac, os, struct, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"\x89EVF\r\n\x1a\n"
TAG = 16

class Bad(Exception):
    pass

def hkdf(md, ikm, salt, info):
    return HKDF(algorithm=md, length=32, salt=salt, info=info).derive(ikm)

# §5: SPKI DER with, for EC keys, the named curve and the uncompressed
# point, whatever form the key file used (some library versions keep a
# compressed point when re-encoding, so build the DER from the doc's prefix)
SPKI_EC_PREFIX = {
    "secp256r1": bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
    "secp384r1": bytes.fromhex("3076301006072a8648ce3d020106052b81040022036200"),
}
def key_id(pub):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        der = SPKI_EC_PREFIX[pub.curve.name] + pub.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        der = pub.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()

def parse_header(d):
    if len(d) < 16 or d[:8] != MAGIC or d[8] != 1 or not 12 <= d[9] <= 24 \
            or d[10:12] != b"\0\0":
        raise Bad("prefix")
    hl = struct.unpack(">I", d[12:16])[0]
    if hl > 65536 or len(d) < hl:
        raise Bad("header length")
    h = {"len": hl, "log2": d[9], "salt": d[16:48], "stanzas": []}
    p, end = 48, hl - 32
    def take(n):
        nonlocal p
        if p + n > end:
            raise Bad("overrun")
        p += n
        return d[p - n:p]
    h["id"] = take(take(1)[0]).decode("ascii")
    h["serial"] = take(take(1)[0]).decode("ascii")
    h["context"] = take(struct.unpack(">H", take(2))[0])
    n = take(1)[0]
    if not 1 <= n <= 8:
        raise Bad("recipients")
    for _ in range(n):
        t = take(1)[0]
        blen = struct.unpack(">H", take(2))[0]
        kid = take(32)
        h["stanzas"].append((t, kid, take(blen)))
    if p != end:
        raise Bad("trailing")
    return h

CURVES = {1: (ec.SECP256R1(), hashes.SHA256(), 65, b"evfile v1 ecdh-p256 kek"),
          2: (ec.SECP384R1(), hashes.SHA384(), 97, b"evfile v1 ecdh-p384 kek")}
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                    algorithm=hashes.SHA256(), label=None)

def unwrap(priv, h):
    kid = key_id(priv.public_key())
    for t, sid, body in h["stanzas"]:
        if sid != kid:
            continue
        if t == 3:
            return priv.decrypt(body, OAEP)
        curve, md, plen, label = CURVES[t]
        point, wrapped = body[:plen], body[plen:]
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        z = priv.exchange(ec.ECDH(), peer)
        kek = hkdf(md, z, h["salt"], label + point + sid)
        return AESGCM(kek).decrypt(b"\0" * 12, wrapped, None)
    raise Bad("no stanza for this key")

def nonce(i, final):
    return b"\0\0\0" + struct.pack(">Q", i) + (b"\1" if final else b"\0")

def decrypt(priv, d):
    h = parse_header(d)
    hl, c = h["len"], 1 << h["log2"]
    dk = unwrap(priv, h)
    kh = hkdf(hashes.SHA256(), dk, h["salt"], b"evfile v1 header mac key")
    if not hmac.compare_digest(hmac.new(kh, d[:hl - 32], hashlib.sha256).digest(),
                               d[hl - 32:hl]):
        raise Bad("header MAC")
    kp = AESGCM(hkdf(hashes.SHA256(), dk, h["salt"], b"evfile v1 payload key"))
    hh = hashlib.sha256(d[:hl]).digest()
    body, out, i = d[hl:], [], 0
    while True:
        final = len(body) <= c + TAG
        ct, body = body[:c + TAG], body[c + TAG:]
        if final and (len(ct) < TAG or (len(ct) == TAG and i > 0)):
            raise Bad("truncated")
        total = i * c + len(ct) - TAG
        aad = hh + (struct.pack(">Q", total) if final else b"")
        out.append(kp.decrypt(nonce(i, final), ct, aad))
        i += 1
        if final:
            return h, b"".join(out)

def encrypt(pubs, pt, rid, log2=12):
    dk, salt = os.urandom(32), os.urandom(32)
    stanzas = b""
    for pub in pubs:
        kid = key_id(pub)
        if isinstance(pub, rsa.RSAPublicKey):
            t, body = 3, pub.encrypt(dk, OAEP)
        else:
            t = 1 if pub.curve.name == "secp256r1" else 2
            curve, md, plen, label = CURVES[t]
            eph = ec.generate_private_key(curve)
            point = eph.public_key().public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint)
            kek = hkdf(md, eph.exchange(ec.ECDH(), pub), salt, label + point + kid)
            body = point + AESGCM(kek).encrypt(b"\0" * 12, dk, None)
        stanzas += bytes([t]) + struct.pack(">H", len(body)) + kid + body
    var = bytes([len(rid)]) + rid + b"\0" + b"\0\0" + bytes([len(pubs)]) + stanzas
    hl = 48 + len(var) + 32
    pre = MAGIC + bytes([1, log2, 0, 0]) + struct.pack(">I", hl) + salt + var
    kh = hkdf(hashes.SHA256(), dk, salt, b"evfile v1 header mac key")
    hdr = pre + hmac.new(kh, pre, hashlib.sha256).digest()
    kp = AESGCM(hkdf(hashes.SHA256(), dk, salt, b"evfile v1 payload key"))
    hh, c = hashlib.sha256(hdr).digest(), 1 << log2
    chunks = [pt[i:i + c] for i in range(0, len(pt), c)] or [b""]
    out = [hdr]
    for i, ch in enumerate(chunks):
        final = i == len(chunks) - 1
        aad = hh + (struct.pack(">Q", len(pt)) if final else b"")
        out.append(kp.encrypt(nonce(i, final), ch, aad))
    return b"".join(out)

def load_priv(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)

def doc_block(doc, marker):
    # The fenced block that follows the line "<!-- marker -->".
    lines = doc.split("\n")
    i = lines.index("<!-- %s -->" % marker) + 2
    j = lines.index("```", i)
    return "\n".join(lines[i:j])

def main(argv):
    cmd = argv[1]
    try:
        if cmd == "decrypt":            # KEY IN OUT
            h, pt = decrypt(load_priv(argv[2]), open(argv[3], "rb").read())
            open(argv[4], "wb").write(pt)
        elif cmd == "encrypt":          # OUT PT KEY...
            pubs = [load_priv(k).public_key() for k in argv[4:]]
            open(argv[2], "wb").write(
                encrypt(pubs, open(argv[3], "rb").read(), b"PY-0001"))
        elif cmd == "keyid":            # PUBLIC-PEM: §5 key id, hex
            pub = serialization.load_pem_public_key(open(argv[2], "rb").read())
            print(key_id(pub).hex())
        elif cmd == "docvector":        # DOC
            doc = open(argv[2]).read()
            key = serialization.load_pem_private_key(
                doc_block(doc, "evfile-vector-key").encode() + b"\n", password=None)
            d = bytes.fromhex("".join(doc_block(doc, "evfile-vector-file").split()))
            want = doc_block(doc, "evfile-vector-plaintext").encode() + b"\n"
            h, pt = decrypt(key, d)
            if pt != want or h["id"] != "REC-TEST-0001":
                raise Bad("vector plaintext mismatch")
        else:
            raise SystemExit("usage")
    except Exception as e:              # any failure is a rejection
        print("evf.py: %s: %r" % (cmd, e), file=sys.stderr)
        return 1
    return 0

sys.exit(main(sys.argv))
EOF

if [ -z "$PY" ]; then
	skip "independent Python implementation" "python3-cryptography missing"
else
	check "C writer makes test files" "$TOOL" --make-vectors "$T"
	for k in p256 p384 rsa; do
		check "python decrypts C file ($k)" "$PY" "$T/evf.py" decrypt "$T/$k.key" "$T/$k.evf" "$T/$k.out"
		check "python plaintext matches ($k)" cmp -s "$T/$k.pt" "$T/$k.out"
	done
	check "python decrypts empty file" "$PY" "$T/evf.py" decrypt "$T/p256.key" "$T/empty.evf" "$T/empty.out"
	check "empty plaintext matches" cmp -s "$T/empty.pt" "$T/empty.out"
	for k in p384 rsa; do
		check "two recipients: $k alone decrypts" "$PY" "$T/evf.py" decrypt "$T/$k.key" "$T/two.evf" "$T/two.$k"
		check "two recipients: $k plaintext" cmp -s "$T/two.pt" "$T/two.$k"
	done
	# tampering must be caught by the independent reader too
	sz=$(wc -c <"$T/p256.evf")
	head -c $((sz - 1)) "$T/p256.evf" >"$T/trunc.evf"
	check_fails "python rejects truncation" "$PY" "$T/evf.py" decrypt "$T/p256.key" "$T/trunc.evf" "$T/x"
	cp "$T/p256.evf" "$T/flip.evf"
	flip_byte "$T/flip.evf" $((sz - 40))
	check_fails "python rejects a flipped byte" "$PY" "$T/evf.py" decrypt "$T/p256.key" "$T/flip.evf" "$T/x"
	check_fails "python rejects the wrong key" "$PY" "$T/evf.py" decrypt "$T/p384.key" "$T/p256.evf" "$T/x"
	# the other direction: python writes, C reads
	head -c 10000 /dev/urandom >"$T/py.pt"
	check "python encrypts to three keys" "$PY" "$T/evf.py" encrypt "$T/py.evf" "$T/py.pt" \
		"$T/p256.key" "$T/p384.key" "$T/rsa.key"
	for k in p256 p384 rsa; do
		check "C decrypts python file ($k)" "$TOOL" --decrypt "$T/$k.key" "$T/py.evf" "$T/py.$k"
		check "C plaintext matches ($k)" cmp -s "$T/py.pt" "$T/py.$k"
	done
	: >"$T/py0.pt"
	"$PY" "$T/evf.py" encrypt "$T/py0.evf" "$T/py0.pt" "$T/p256.key"
	check "C decrypts python empty file" "$TOOL" --decrypt "$T/p256.key" "$T/py0.evf" "$T/py0.out"
	check "and it is empty" cmp -s "$T/py0.pt" "$T/py0.out"
	check "python decrypts the test vector in the doc" "$PY" "$T/evf.py" docvector "$DOC"
	# §5: the key id is defined on the named-curve, uncompressed SPKI,
	# whatever encoding the .pub file uses
	openssl pkey -in "$T/p256.key" -pubout -out "$T/p256.pub" 2>/dev/null
	openssl ec -pubin -in "$T/p256.pub" -conv_form compressed \
		-pubout -out "$T/p256c.pub" 2>/dev/null
	pyc=$("$PY" "$T/evf.py" keyid "$T/p256c.pub")
	pyu=$("$PY" "$T/evf.py" keyid "$T/p256.pub")
	cc=$("$BIN/custody" agency-keyid "$T/p256c.pub")
	check "python key id of a compressed-point .pub = custody agency-keyid ($cc)" [ -n "$cc" -a "$pyc" = "$cc" ]
	check "... = the key id of the same key's usual .pub" [ "$pyu" = "$cc" ]
fi

# ---- openssl CLI only: the doc's test vector ----------------------------
# Pull the vector key and file out of the doc.
awk '/^<!-- evfile-vector-key -->$/ {f=1; next} f && /^```/ {n++; if (n==2) exit; next} f' \
	"$DOC" >"$T/vkey.pem"
awk '/^<!-- evfile-vector-file -->$/ {f=1; next} f && /^```/ {n++; if (n==2) exit; next} f' \
	"$DOC" | tr -d ' \n' >"$T/vector.hex"
hex() { xxd -p "$@" | tr -d '\n'; }            # bytes -> hex
sub() { cut -c $(($2 * 2 + 1))-$((($2 + $3) * 2)) "$1"; } # FILE OFF LEN -> hex
xxd -r -p "$T/vector.hex" >"$T/vector.evf"
hl=$((0x$(sub "$T/vector.hex" 12 4)))
rl=$((0x$(sub "$T/vector.hex" 48 1)))
sl=$((0x$(sub "$T/vector.hex" $((49 + rl)) 1)))
cl=$((0x$(sub "$T/vector.hex" $((50 + rl + sl)) 2)))
st=$((53 + rl + sl + cl))          # first stanza (the vector has one)
salt=$(sub "$T/vector.hex" 16 32)
kid=$(sub "$T/vector.hex" $((st + 3)) 32)
point=$(sub "$T/vector.hex" $((st + 35)) 65)
wrapped=$(sub "$T/vector.hex" $((st + 100)) 32)
check "vector stanza is ECDH-P256" test "$(sub "$T/vector.hex" "$st" 1)" = 01
# key id = SHA-256 of the recipient's SubjectPublicKeyInfo DER
openssl pkey -in "$T/vkey.pem" -pubout -outform DER -out "$T/vpub.der" 2>/dev/null
check "vector key id is SHA-256(SPKI)" test "$(openssl dgst -sha256 -r "$T/vpub.der" | cut -c1-64)" = "$kid"
# ephemeral point -> SPKI DER (fixed P-256 prefix) for pkeyutl -derive
printf '3059301306072a8648ce3d020106082a8648ce3d030107034200%s' "$point" | xxd -r -p >"$T/eph.der"
openssl pkeyutl -derive -inkey "$T/vkey.pem" -peerkey "$T/eph.der" -peerform DER \
	-out "$T/z.bin" 2>/dev/null
kdf() { # IKM-hex SALT-hex INFO-hex DIGEST -> 32-byte key hex
	openssl kdf -keylen 32 -kdfopt "digest:$4" -kdfopt "hexkey:$1" \
		-kdfopt "hexsalt:$2" -kdfopt "hexinfo:$3" HKDF 2>/dev/null | tr -d ':\n' |
		tr 'A-F' 'a-f'
}
info=$(printf 'evfile v1 ecdh-p256 kek' | hex)$point$kid
kek=$(kdf "$(hex "$T/z.bin")" "$salt" "$info" SHA256)
# GCM encryption = CTR from counter block nonce || 00000002 (no tag check)
ctr() { # KEY-hex NONCE-hex < in > out
	openssl enc -d -aes-256-ctr -K "$1" -iv "${2}00000002" -nopad 2>/dev/null
}
printf '%s' "$wrapped" | xxd -r -p | ctr "$kek" 000000000000000000000000 >"$T/dk.bin"
dk=$(hex "$T/dk.bin")
kh=$(kdf "$dk" "$salt" "$(printf 'evfile v1 header mac key' | hex)" SHA256)
head -c $((hl - 32)) "$T/vector.evf" >"$T/hdr-body.bin"
mac=$(openssl mac -digest SHA256 -macopt "hexkey:$kh" -in "$T/hdr-body.bin" HMAC 2>/dev/null |
	tr 'A-F' 'a-f')
check "openssl CLI: header MAC verifies with the unwrapped data key" \
	test -n "$kek" -a "$mac" = "$(sub "$T/vector.hex" $((hl - 32)) 32)"
kp=$(kdf "$dk" "$salt" "$(printf 'evfile v1 payload key' | hex)" SHA256)
size=$(wc -c <"$T/vector.evf")
tail -c $((size - hl)) "$T/vector.evf" | head -c $((size - hl - 16)) |
	ctr "$kp" 000000000000000000000001 >"$T/vector.out"
awk '/^<!-- evfile-vector-plaintext -->$/ {f=1; next} f && /^```/ {n++; if (n==2) exit; next} f' \
	"$DOC" >"$T/vector.want"
check "openssl CLI: chunk 0 (final) decrypts to the doc's plaintext" cmp -s "$T/vector.want" "$T/vector.out"

done_testing
