#!/bin/sh
# `custody decrypt`, `custody agency-keygen`, `custody agency-keyid`.
# Real components only: dockd (--exit-when-idle) ingests camsim recordings
# into a real vault and ledger, encrypted to a real agency key; custody then
# decrypts them. A second dock ingests a DIFFERENT recording under the same
# evidence id (CAM-1/REC-1) with the same agency key: its file is a valid
# evidence file whose plaintext differs from the first ledger's record, for
# the SHA-256 mismatch case.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

# ---- agency-keygen / agency-keyid (no ledger) ---------------------------
for t in p256 p384 rsa3072; do
	out=$("$CUSTODY" agency-keygen --type $t --private "$T/$t.key" --public "$T/$t.pub" 2>"$T/kg.err")
	check "agency-keygen $t" [ $? -eq 0 ]
	check "agency-keygen $t: the private key stays off the dock (reminder)" \
		grep -q "off every dock" "$T/kg.err"
	check "agency-keygen $t: private key mode 0600" [ "$(stat -c %a "$T/$t.key")" = 600 ]
	id=$(printf '%s\n' "$out" | sed -n 's/^key id \([0-9a-f]\{64\}\)$/\1/p')
	check "agency-keygen $t: prints the key id = agency-keyid of both files" sh -c \
		"[ -n '$id' ] && [ \"\$('$CUSTODY' agency-keyid '$T/$t.pub')\" = '$id' ] &&
		 [ \"\$('$CUSTODY' agency-keyid '$T/$t.key')\" = '$id' ]"
	check "agency-keygen $t: key id = SHA-256 of the SPKI DER (openssl)" sh -c \
		"[ \"\$(openssl pkey -pubin -in '$T/$t.pub' -outform DER | sha256sum | cut -c1-64)\" = '$id' ]"
done
cp "$T/p256.pub" "$T/p256.pub.orig"
check_fails "agency-keygen refuses to overwrite" \
	"$CUSTODY" agency-keygen --type p256 --private "$T/new.key" --public "$T/p256.pub"
check "... and leaves nothing behind" sh -c "[ ! -e '$T/new.key' ] && cmp -s '$T/p256.pub' '$T/p256.pub.orig'"
check_fails "agency-keygen rejects an unknown type" \
	"$CUSTODY" agency-keygen --type ed25519 --private "$T/e.key" --public "$T/e.pub"
chmod 644 "$T/p256.key"
check_fails "agency-keyid refuses a private key readable by others" \
	"$CUSTODY" agency-keyid "$T/p256.key"
chmod 600 "$T/p256.key"
printf 'not a key\n' >"$T/junk.pem"
"$CUSTODY" agency-keyid "$T/junk.pem" 2>"$T/err"; rc=$?
check "agency-keyid of a non-key file: exit 2, says so" sh -c \
	"[ $rc -eq 2 ] && grep -q 'not a PEM public or unencrypted private key' '$T/err'"

# ---- dock B: CAM-1/REC-1 with other content, same agency key ------------
(
	DK_VAULT=
	dk_init "$T/dkb" >/dev/null 2>&1 || exit 1
	cp "$T/p256.key" "$DK/keys/agency-enc.key" && cp "$T/p256.pub" "$DK/keys/agency-enc.pub" || exit 1
	dk_camera CAM-1 1 50000 >/dev/null 2>&1 || exit 1
	dk_start --exit-when-idle || exit 1
	dk_dock CAM-1
	wait "$DK_PID" || exit 1
	[ -f "$(dk_vault_file CAM-1 REC-1)" ]
)
check "dock B ingested its CAM-1/REC-1" [ $? -eq 0 ]
OTHER="$T/dkb/vault/$DK_AGENCY/CAM-1/REC-1.bcde"

# ---- dock A: the ledger and vault the tests decrypt from ----------------
check "dock A: keys, config, ledger" dk_init "$T/dk"
cp "$T/p256.key" "$DK/keys/agency-enc.key" && cp "$T/p256.pub" "$DK/keys/agency-enc.pub"
check "dock A: camera CAM-1 with 2 recordings" dk_camera CAM-1 2 70000
check "dock A: dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dock A: dockd --exit-when-idle exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$DK_LOG" | sed 's/^/#   /'
check "dock A: CAM-1/REC-1 released" [ "$(dk_state CAM-1/REC-1)" = released ]

KEY="$DK/keys/agency-enc.key"
ORIG1="$DK/orig/CAM-1/REC-1.bin"
ORIG2="$DK/orig/CAM-1/REC-2.bin"
VAULT1=$(dk_vault_file CAM-1 REC-1)
C() { "$CUSTODY" --config "$DK_CONF" "$@"; }
OUT="$T/out"
mkdir -p "$OUT"
# No output and no temp file left in $OUT.
out_empty() { [ -z "$(ls -A "$OUT")" ]; }
exported() { # EVID OUTCOME: number of exported events with that outcome
	dk_py 'print(sum(1 for s, a, e, d in events(args[0]) if a == "exported" and
	    con.execute("SELECT outcome FROM events WHERE seq=?", (s,)).fetchone()[0] ==
	    {"ok": 1, "failed": 2}[args[1]]))' "$1" "$2"
}

# ---- decrypt by evidence id --------------------------------------------
check "decrypt CAM-1/REC-1 by evidence id" \
	C decrypt --key "$KEY" --reason "case 24-1234 disclosure" --out "$OUT/rec1.mp4" CAM-1/REC-1
check "... byte-identical to the camera's original" cmp -s "$OUT/rec1.mp4" "$ORIG1"
check "... output mode 0600" [ "$(stat -c %a "$OUT/rec1.mp4")" = 600 ]
check "... an exported event with the reason and the OS user is in history --json" sh -c \
	"'$CUSTODY' --config '$DK_CONF' history CAM-1/REC-1 --json | python3 -c '
import json, sys
h = json.load(sys.stdin)
ex = [e for e in h[\"events\"] if e[\"action\"] == \"exported\"]
ok = len(ex) == 1 and ex[0][\"reason\"] == \"case 24-1234 disclosure\" and \
     ex[0][\"outcome\"] == \"ok\" and ex[0][\"actor\"][\"id\"] == \"$(id -un)\" and \
     ex[0][\"details\"][\"out\"] == \"$OUT/rec1.mp4\" and \
     ex[0][\"details\"][\"file\"] == \"$VAULT1\" and len(ex[0][\"details\"][\"key_id\"]) == 64
sys.exit(0 if ok else 1)'"
check "... the export did not change the item's status" [ "$(C history CAM-1/REC-1 --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["record"]["status"])')" != exported ]
check_fails "decrypt refuses to overwrite an existing output" \
	C decrypt --key "$KEY" --reason r --out "$OUT/rec1.mp4" CAM-1/REC-1
check "... which is unchanged" cmp -s "$OUT/rec1.mp4" "$ORIG1"
rm -f "$OUT/rec1.mp4"
check "default output is <recording id>.plain in the current directory" sh -c \
	"cd '$OUT' && '$CUSTODY' --config '$DK_CONF' decrypt --key '$KEY' --reason r CAM-1/REC-2 >/dev/null &&
	 cmp -s REC-2.plain '$ORIG2'"
rm -f "$OUT/REC-2.plain"

# ---- refusals before any plaintext --------------------------------------
C decrypt --key "$KEY" --out "$OUT/x" CAM-1/REC-1 2>/dev/null; rc=$?
check "missing --reason: exit 2" [ $rc -eq 2 ]
check "... no output" out_empty
C decrypt --key "$KEY" --reason "$(printf 'two\nlines')" --out "$OUT/x" CAM-1/REC-1 2>"$T/err"; rc=$?
check "a reason the ledger cannot hold (control character): exit 2, nothing decrypted" sh -c \
	"[ $rc -eq 2 ] && grep -q 'cannot record the export' '$T/err'"
check "... no output" out_empty
C decrypt --key "$KEY" --reason r --out "$OUT/x" CAM-9/NOPE 2>"$T/err"; rc=$?
check "unknown evidence id: exit 1, names the problem" sh -c "[ $rc -eq 1 ] && grep -q 'no such evidence item' '$T/err'"
check "... no output" out_empty
C decrypt --key "$KEY" --reason r --out "$OUT/x" ../../etc/passwd 2>/dev/null; rc=$?
check "a path-like evidence id is refused" sh -c "[ $rc -ne 0 ] && [ $rc -lt 128 ]"
C decrypt --key "$T/p384.key" --reason r --out "$OUT/x" CAM-1/REC-1 2>"$T/err"; rc=$?
check "wrong agency key: exit 1, says so" sh -c "[ $rc -eq 1 ] && grep -q 'not encrypted to this key' '$T/err'"
check "... no output" out_empty
check "... no successful export recorded (nothing was decrypted)" [ "$(exported CAM-1/REC-1 ok)" = 1 ]
check "... but the attempt is: an exported event with outcome failed" [ "$(exported CAM-1/REC-1 failed)" = 1 ]
cp "$KEY" "$T/loose.key"; chmod 644 "$T/loose.key"
C decrypt --key "$T/loose.key" --reason r --out "$OUT/x" CAM-1/REC-1 2>"$T/err"; rc=$?
check "a private key readable by others is refused (exit 2)" sh -c "[ $rc -eq 2 ] && grep -q 'chmod 600' '$T/err'"
"$CUSTODY" --config "$DK_CONF" --read-only decrypt --key "$KEY" --reason r --out "$OUT/x" \
	CAM-1/REC-1 2>"$T/err"; rc=$?
check "read-only ledger: the export cannot be recorded -> refused, exit 2" sh -c \
	"[ $rc -eq 2 ] && grep -q 'read-only ledger' '$T/err'"
check "... no output" out_empty

# ---- --file -------------------------------------------------------------
cp "$VAULT1" "$T/copy.bcde"
check "--file of a valid copy decrypts (evidence id from the header)" \
	C decrypt --key "$KEY" --reason r --out "$OUT/copy.bin" --file "$T/copy.bcde"
check "... byte-identical" cmp -s "$OUT/copy.bin" "$ORIG1"
rm -f "$OUT/copy.bin"
n_ok=$(exported CAM-1/REC-1 ok)
n_failed=$(exported CAM-1/REC-1 failed)
size=$(stat -c %s "$T/copy.bcde")
cp "$T/copy.bcde" "$T/tampered.bcde"
python3 -c "
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))" "$T/tampered.bcde" $((size - 100))
C decrypt --key "$KEY" --reason r --out "$OUT/t.bin" --file "$T/tampered.bcde" 2>"$T/err"; rc=$?
check "a copy with one byte flipped in its last chunk: exit 1, authentication failed" sh -c \
	"[ $rc -eq 1 ] && grep -q 'authentication failed' '$T/err'"
check "... no output, no temp file (earlier chunks were decrypted, then removed)" out_empty
check "... the attempt is recorded: exported ok, then exported failed" sh -c \
	"[ $(exported CAM-1/REC-1 ok) -eq $((n_ok + 1)) ] && [ $(exported CAM-1/REC-1 failed) -eq $((n_failed + 1)) ]"
cp "$T/copy.bcde" "$T/hdr.bcde"
flip_byte "$T/hdr.bcde" 20
C decrypt --key "$KEY" --reason r --out "$OUT/t.bin" --file "$T/hdr.bcde" 2>"$T/err"; rc=$?
check "a copy with a header (salt) byte changed: exit 1, authentication failed" sh -c \
	"[ $rc -eq 1 ] && grep -q 'authentication failed' '$T/err'"
check "... no output" out_empty
head -c $((size - 10)) "$T/copy.bcde" >"$T/trunc.bcde"
check_fails "a truncated copy is refused" \
	C decrypt --key "$KEY" --reason r --out "$OUT/t.bin" --file "$T/trunc.bcde"
check "... no output" out_empty
check_fails "a file that is not an evidence file is refused" \
	C decrypt --key "$KEY" --reason r --out "$OUT/t.bin" --file "$ORIG1"
check_fails "a missing file is refused" \
	C decrypt --key "$KEY" --reason r --out "$OUT/t.bin" --file "$T/none.bcde"
mkfifo "$T/fifo"
timeout 30 "$CUSTODY" --config "$DK_CONF" decrypt --key "$KEY" --reason r --out "$OUT/t.bin" \
	--file "$T/fifo" 2>"$T/err"; rc=$?
check "a FIFO as --file is refused at once (no hang)" sh -c \
	"[ $rc -eq 2 ] && grep -q 'not a regular file' '$T/err'"
check_fails "a directory as --file is refused" \
	C decrypt --key "$KEY" --reason r --out "$OUT/t.bin" --file "$T"
check "... no output" out_empty

# ---- SHA-256 mismatch: dock B's valid file for the same evidence id -----
C decrypt --key "$KEY" --reason r --out "$OUT/m.bin" --file "$OTHER" 2>"$T/err"; rc=$?
check "a valid file whose plaintext is not the ledger's recording: exit 1" sh -c \
	"[ $rc -eq 1 ] && grep -q 'differs from the ledger' '$T/err'"
check "... no output" out_empty
check "... recorded as a failed export (sha256 mismatch)" sh -c \
	"'$CUSTODY' --config '$DK_CONF' history CAM-1/REC-1 --json | grep -q 'sha256 mismatch'"

# ---- a vault whose file for REC-1 is REC-2's (swapped) ------------------
mkdir -p "$T/vcopy/$DK_AGENCY/CAM-1"
cp "$(dk_vault_file CAM-1 REC-2)" "$T/vcopy/$DK_AGENCY/CAM-1/REC-1.bcde"
C decrypt --key "$KEY" --reason r --vault "$T/vcopy" --out "$OUT/s.bin" CAM-1/REC-1 2>"$T/err"; rc=$?
check "a swapped vault file (header names another item): exit 1" sh -c \
	"[ $rc -eq 1 ] && grep -q 'holds CAM-1/REC-2, not CAM-1/REC-1' '$T/err'"
check "... no output" out_empty

# ---- vault copy gone: the file:// storage copy is used ------------------
mkdir -p "$T/emptyvault"
check "with no vault copy, the storage target's copy is decrypted" \
	C decrypt --key "$KEY" --reason r --vault "$T/emptyvault" --out "$OUT/st.bin" CAM-1/REC-2
check "... byte-identical" cmp -s "$OUT/st.bin" "$ORIG2"
rm -f "$OUT/st.bin"

# ---- --no-ledger ----------------------------------------------------------
"$CUSTODY" decrypt --no-ledger --key "$KEY" --file "$T/copy.bcde" --out "$OUT/nl.bin" >"$T/nl.out"
check "--no-ledger decrypts a file with the key alone" cmp -s "$OUT/nl.bin" "$ORIG1"
check "... and prints the SHA-256 for comparison" \
	grep -q "sha256 $(sha256sum "$ORIG1" | cut -c1-64)" "$T/nl.out"
check_fails "--no-ledger needs --file" "$CUSTODY" decrypt --no-ledger --key "$KEY" CAM-1/REC-1
rm -f "$OUT/nl.bin"
# It says loudly, first, that nothing is recorded and who it is for.
"$CUSTODY" decrypt --no-ledger --key "$KEY" --file "$T/copy.bcde" --out "$OUT/nl.bin" >"$T/nl.all" 2>&1
banner() { # FILE: the banner opens it and says what it must
	[ "$(sed -n 2p "$1")" = "custody decrypt --no-ledger: NOTHING IS RECORDED." ] &&
		grep -q "exists ONLY for independent verification by someone" "$1" &&
		grep -q "OUTSIDE the agency who holds the evidence file and a key" "$1"
}
check "--no-ledger: a banner before any other output says nothing is recorded, only for outside verification" banner "$T/nl.all"
"$CUSTODY" decrypt --no-ledger --key "$KEY" --file "$T/copy.bcde" --out "$OUT/nl2.bin" 2>"$T/nl.err" >/dev/null
check "... on stderr" grep -q "NOTHING IS RECORDED" "$T/nl.err"
"$CUSTODY" decrypt --no-ledger --key "$KEY" --file "$T/nonexistent.bcde" --out "$OUT/nl3.bin" 2>"$T/nl.err" >/dev/null
check "... also when the decryption then fails" grep -q "NOTHING IS RECORDED" "$T/nl.err"
check "custody decrypt --help (exit 0) says it too" sh -c \
	"'$CUSTODY' decrypt --help >'$T/help.out' && grep -q 'NOTHING IS RECORDED' '$T/help.out' &&
	 grep -q 'ONLY for independent verification' '$T/help.out'"
C decrypt --key "$KEY" --reason "banner check" --out "$OUT/rec.bin" CAM-1/REC-1 >/dev/null 2>"$T/rec.err"
check "a recorded decryption prints no such banner" sh -c "! grep -q 'NOTHING IS RECORDED' '$T/rec.err' && [ -s '$OUT/rec.bin' ]"
rm -f "$OUT/nl.bin" "$OUT/nl2.bin" "$OUT/rec.bin"

# ---- agency-keygen with a ledger: key_changed -----------------------------
check "agency-keygen with --config records key_changed" sh -c \
	"'$CUSTODY' --config '$DK_CONF' agency-keygen --type p256 --private '$T/k2.key' --public '$T/k2.pub' >/dev/null 2>&1"
check "... present in the ledger" [ "$(dk_py 'print(sum(1 for s, a, e, d in events() if a == "key_changed" and d.get("type") == "p256"))')" = 1 ]
check "custody verify is clean after all this" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
done_testing
