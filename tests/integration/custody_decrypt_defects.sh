#!/bin/sh
# Regression tests for `custody decrypt` defects found by outside checks
# (issue #10); each failed on the code before its fix:
#  - the key id of a P-256 key depended on the point encoding of its .pub:
#    a file written to a compressed-point .pub (openssl ec -conv_form
#    compressed) was refused by decrypt with the same key;
#  - decrypt killed by SIGKILL left partial verified plaintext in a hidden
#    temp file in the output directory;
#  - a decrypt attempt of a header-tampered file left no ledger event.
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
TOOL="$TBIN/test_evfile"
OUT="$T/out"; mkdir -p "$OUT"
out_empty() { [ -z "$(ls -A "$OUT")" ]; }

"$C" agency-keygen --type p256 --private "$T/k.key" --public "$T/k.pub" >/dev/null 2>&1
openssl ec -pubin -in "$T/k.pub" -conv_form compressed -pubout -out "$T/kc.pub" 2>/dev/null
dlen=$(openssl pkey -pubin -in "$T/kc.pub" -outform DER | wc -c)
check "the compressed .pub really holds a compressed point (SPKI $dlen bytes)" [ "$dlen" -eq 59 ]
id=$("$C" agency-keyid "$T/k.pub")
idc=$("$C" agency-keyid "$T/kc.pub")
check "key id is the same for the compressed and uncompressed .pub" sh -c "[ -n '$id' ] && [ '$id' = '$idc' ]"
openssl ec -pubin -in "$T/k.pub" -param_enc explicit -conv_form compressed -pubout \
	-out "$T/kx.pub" 2>/dev/null
check "... and for a .pub with explicit curve parameters" [ "$("$C" agency-keyid "$T/kx.pub")" = "$id" ]
check "key id = SHA-256 of the uncompressed SPKI DER" [ "$(openssl pkey -pubin -in "$T/kc.pub" \
	-pubout -outform DER -ec_conv_form uncompressed 2>/dev/null | sha256sum | cut -c1-64)" = "$id" ]
head -c 300000 /dev/urandom >"$T/small"
"$TOOL" --encrypt "$T/kc.pub" "$T/small" "$T/small.bcde"
check "file written to the compressed .pub" [ -s "$T/small.bcde" ]
"$C" decrypt --no-ledger --key "$T/k.key" --file "$T/small.bcde" --out "$OUT/small" >/dev/null 2>"$T/err"
check "decrypt with the same private key accepts it" cmp -s "$OUT/small" "$T/small"
sed 's/^/# /' "$T/err"
rm -f "$OUT/small"

# --- SIGKILL in the middle of a large decrypt: no plaintext left ---
dd if=/dev/zero bs=1M count=384 2>/dev/null | tr '\0' 'e' >"$T/big"
"$TOOL" --encrypt "$T/k.pub" "$T/big" "$T/big.bcde"
rm -f "$T/big"
"$C" decrypt --no-ledger --key "$T/k.key" --file "$T/big.bcde" --out "$OUT/big" >/dev/null 2>&1 &
pid=$!
# wait until plaintext was written to its output file (named or not)
seen=0; i=0
while [ $i -lt 2000 ] && kill -0 $pid 2>/dev/null; do
	for f in /proc/$pid/fd/*; do
		case $(readlink "$f" 2>/dev/null) in "$OUT"/*)
			[ "$(stat -L -c %s "$f" 2>/dev/null || echo 0)" -gt 1048576 ] && seen=1;; esac
	done
	[ $seen -eq 1 ] && break
	i=$((i + 1))
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "decrypt was killed after writing plaintext (> 1 MiB)" [ $seen -eq 1 ]
check "no plaintext file left in the output directory after SIGKILL" out_empty
ls -la "$OUT" | sed 's/^/# /'
rm -f "$OUT"/.decrypt-* "$OUT/big"

# --- a header-tampered file: the attempt is a ledger event ---
mkdir -p "$T/ext"
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
cat >"$T/c.ini" <<EOC
[ledger]
path = $T/l.db
agency_id = pd-test
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $T/ext
EOC
"$C" --config "$T/c.ini" init >/dev/null
cp "$T/small.bcde" "$T/hdr.bcde"
flip_byte "$T/hdr.bcde" 20
n0=$(sqlite3 "$T/l.db" "SELECT count(*) FROM events WHERE action = 20")
"$C" --config "$T/c.ini" decrypt --key "$T/k.key" --reason "review" --out "$OUT/t" \
	--file "$T/hdr.bcde" 2>"$T/err"; rc=$?
check "header-tampered file: refused, exit 1" [ $rc -eq 1 ]
check "... no output" out_empty
n1=$(sqlite3 "$T/l.db" "SELECT count(*) FROM events WHERE action = 20 AND outcome = 2
	AND reason = 'review' AND details LIKE '%header: authentication failed%'")
check "... the attempt is recorded: exported, outcome failed, the error ($n0 -> $n1)" [ "$n1" -eq $((n0 + 1)) ]
sqlite3 "$T/l.db" "SELECT details FROM events WHERE action = 20" | sed 's/^/# /'
"$C" agency-keygen --type p256 --private "$T/w.key" --public "$T/w.pub" >/dev/null 2>&1
"$C" --config "$T/c.ini" decrypt --key "$T/w.key" --reason "review" --out "$OUT/t" \
	--file "$T/small.bcde" 2>/dev/null; rc=$?
check "a file not encrypted to the key: refused (exit 1) and recorded" sh -c "[ $rc -eq 1 ] &&
	[ \$(sqlite3 '$T/l.db' \"SELECT count(*) FROM events WHERE action = 20 AND outcome = 2\") -eq $((n1 + 1)) ]"
"$C" --config "$T/c.ini" checkpoint >/dev/null
check "custody verify is clean" sh -c "'$C' --config '$T/c.ini' verify >/dev/null"
done_testing
