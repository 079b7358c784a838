#!/bin/sh
# `custody export` and `custody verify-package` (issue 13): BagIt court
# packages (tar and zip, libarchive) of items a real dockd ingested from camsim,
# with tlog-proofs against a checkpoint the agency-certified dock key
# signed and a witness cosigned. The `exported` events are in the ledger
# before the package; a read-only ledger refuses the export. An
# independent validator written from RFC 8493 alone (tests/tools/
# bagit_check.py) accepts the packages; hostile or tampered packages
# (changed payload byte, changed manifest, extra file, missing file,
# `../x`, absolute path, symlink, hard link, duplicate entry, wrong
# agency key, a proof filed under another item) are each refused with a
# clear message; the same for zip packages (stored entries). A stored
# file that is not the one the ledger recorded at ingest (a changed byte,
# a truncated copy) is never packaged.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
CS="$TBIN/tools/cosign"
BAGCHECK="$TOP/tests/tools/bagit_check.py"
check "dock, agency and checkpoint keys" dk_init "$T/dk"
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey"
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
"$CUSTODY" agency-sign custody-cert --key "$A" --agency-id "$DK_AGENCY" \
	--dock-id "$DK_DOCK_ID" --origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$DK/state/ckpt.vkey" \
	--dock-pub "$dk_pub" --days 365 --out "$DK/keys/custody.cert" >/dev/null
sed -i "/^checkpoint_interval_s/a custody_cert = $DK/keys/custody.cert\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
# the auditor's own copies, and another agency's key
mkdir -p "$T/aud" "$T/out"
cp "$DK/keys/agency.vkey" "$T/aud/agency.vkey"
openssl genpkey -algorithm ed25519 -out "$T/aud/other.key" 2>/dev/null
openssl pkey -in "$T/aud/other.key" -pubout -out "$T/aud/other.pub"
"$CUSTODY" agency-vkey --pub "$T/aud/other.pub" --agency-id "$DK_AGENCY" >"$T/aud/other.vkey"

check "camera CAM-1 with 2 recordings" dk_camera CAM-1 2 70000
check "dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd ingested and exited 0" [ $rc -eq 0 ]
N=$(dk_sql "SELECT max(size) FROM checkpoints")
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness));
	INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"
C() { "$CUSTODY" --config "$DK_CONF" "$@"; }
nexp() { dk_sql "SELECT count(*) FROM events WHERE action = 20"; }

# ---- refusals before anything is written --------------------------------
before=$(nexp)
out=$(C --read-only export CAM-1/REC-1 --out "$T/out/ro.tar" --reason court 2>&1); rc=$?
case $out in *"read-only"*"refused"*) r=1;; *) r=0;; esac
check "a read-only ledger refuses the export, saying why (exit $rc)" [ $rc -ne 0 -a $r = 1 ]
check_fails "an unknown item is refused" C export CAM-9/REC-1 --out "$T/out/x.tar" --reason court 2>/dev/null
check_fails "another extension is refused" C export CAM-1/REC-1 --out "$T/out/x.tgz" --reason court 2>/dev/null
check_fails "no --reason: refused" C export CAM-1/REC-1 --out "$T/out/x.tar" 2>/dev/null
check "nothing recorded and no file written by the refusals" \
	sh -c "[ $(nexp) = $before ] && [ -z \"\$(ls -A '$T/out')\" ]"

# ---- one item -------------------------------------------------------------
check "export one item" C export CAM-1/REC-1 --out "$T/out/pkg1.tar" --reason "court order 7" --case CASE-7
check "the package is a POSIX tar with the bag's top directory" \
	sh -c "tar -tf '$T/out/pkg1.tar' | grep -qx 'pkg1/bagit.txt'"
check "no partial file left" [ ! -e "$T/out/pkg1.tar.partial" ]
V1=$(dk_vault_file CAM-1 REC-1)
SHA1=$(sha256sum "$V1" | cut -c1-64)
check "the evidence file in the package is the stored ciphertext, byte for byte" \
	sh -c "tar -xOf '$T/out/pkg1.tar' pkg1/data/items/CAM-1/REC-1/evidence.bcde | cmp -s - '$V1'"
check "history.json is what custody history --json gives" sh -c \
	"tar -xOf '$T/out/pkg1.tar' pkg1/data/items/CAM-1/REC-1/history.json | python3 -c 'import json,sys; h=json.load(sys.stdin); assert h[\"evidence_id\"]==\"CAM-1/REC-1\" and h[\"events\"]'"
check "tlog-proof files, agency vkey and witness policy are in it" sh -c \
	"tar -tf '$T/out/pkg1.tar' | grep -q 'pkg1/data/items/CAM-1/REC-1/tlog-proof/.*\.tlog-proof' &&
	 tar -tf '$T/out/pkg1.tar' | grep -qx 'pkg1/data/keys/agency.vkey' &&
	 tar -tf '$T/out/pkg1.tar' | grep -qx 'pkg1/data/keys/witnesses.note' &&
	 tar -tf '$T/out/pkg1.tar' | grep -qx 'pkg1/VERIFY.md'"
got=$(dk_sql "SELECT json_extract(details,'\$.package') || ' ' || json_extract(details,'\$.format') || ' ' ||
	json_extract(details,'\$.case') || ' ' || json_extract(details,'\$.evidence_sha256') FROM events
	WHERE action = 20 AND evidence_id = 'CAM-1/REC-1' AND outcome = 1")
check "the exported event is in the ledger with package, format, case and the file's SHA-256" \
	[ "$got" = "pkg1 bagit-tar CASE-7 $SHA1" ]
check "sha256 of the packaged file = the exported event's" sh -c \
	"grep -q '^$SHA1  data/items/CAM-1/REC-1/evidence.bcde\$' \"\$(mkdir -p '$T/x1' && tar -xf '$T/out/pkg1.tar' -C '$T/x1' && echo '$T/x1/pkg1/manifest-sha256.txt')\""
check "public tools: sha256sum -c of both manifests in the extracted bag" \
	sh -c "cd '$T/x1/pkg1' && sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt"
out=$("$CUSTODY" verify-package "$T/out/pkg1.tar" --agency "$T/aud/agency.vkey" 2>&1); rc=$?
case $out in *"OK: "*"proves: the package is complete and unmodified since export"*"does not prove: that the video content is authentic"*)
	r=1;; *) r=0;; esac
if [ $rc -eq 0 ] && [ $r = 1 ]; then ok "verify-package with the auditor's agency key: OK, says what it proves and not"
else not_ok "verify-package (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -8; fi
check "the independent RFC 8493 validator accepts it" python3 "$BAGCHECK" "$T/out/pkg1.tar"
check_fails "an existing --out is never replaced" C export CAM-1/REC-1 --out "$T/out/pkg1.tar" --reason again 2>/dev/null

# ---- several items --------------------------------------------------------
check "export two items" C export CAM-1/REC-1 CAM-1/REC-2 --out "$T/out/pkg2.tar" --reason "discovery"
check "verify-package of two items" "$CUSTODY" verify-package "$T/out/pkg2.tar" --agency "$T/aud/agency.vkey"
check "the independent validator accepts it" python3 "$BAGCHECK" "$T/out/pkg2.tar"
check "two evidence files" [ "$(tar -tf "$T/out/pkg2.tar" | grep -c '/evidence.bcde$')" = 2 ]
check "an exported event per item (3 in all)" [ "$(dk_sql "SELECT count(*) FROM events WHERE action = 20 AND outcome = 1")" = 3 ]
check "custody verify passes afterwards" dk_verify

# ---- zip ------------------------------------------------------------------
check "export two items as zip" C export CAM-1/REC-1 CAM-1/REC-2 --out "$T/out/pkgz.zip" --reason "defense copy"
check "verify-package of the zip" "$CUSTODY" verify-package "$T/out/pkgz.zip" --agency "$T/aud/agency.vkey"
check "the independent validator accepts the zip" python3 "$BAGCHECK" "$T/out/pkgz.zip"
check "the zip's entries are stored (uncompressed) and the evidence is the vault file" python3 -c "
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
assert z.read('pkgz/data/items/CAM-1/REC-1/evidence.bcde') == open(sys.argv[2], 'rb').read()" \
	"$T/out/pkgz.zip" "$V1"
check "its exported events say bagit-zip" [ "$(dk_sql "SELECT count(*) FROM events WHERE action = 20
	AND json_extract(details, '\$.format') = 'bagit-zip'")" = 2 ]
# mkzip NAME PYTHON: a copy of pkgz.zip rewritten (ms: list of (ZipInfo, bytes))
mkzip() {
	python3 - "$T/out/pkgz.zip" "$T/$1.zip" "$2" <<'PY'
import sys, zipfile
src, dst, code = sys.argv[1:4]
z = zipfile.ZipFile(src)
ms = [(i, z.read(i)) for i in z.infolist()]
def find(suffix):
    return [k for k, (i, d) in enumerate(ms) if i.filename.endswith(suffix)][0]
exec(code)
with zipfile.ZipFile(dst, "w") as o:
    for i, d in ms:
        o.writestr(i, d)
PY
}
zrefused() { # NAME DESC PATTERN
	out=$("$CUSTODY" verify-package "$T/$1.zip" --agency "$T/aud/agency.vkey" 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q -- "$3"; then ok "$2"
	else not_ok "$2 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -5; fi
}
mkzip zbyte 'k = find("REC-2/evidence.bcde"); i, d = ms[k]; ms[k] = (i, d[:50] + bytes([d[50] ^ 1]) + d[51:])'
zrefused zbyte "zip: a changed payload byte: SHA-256 mismatch" "evidence.bcde': SHA-256 mismatch"
mkzip zdotdot 'ms.append((zipfile.ZipInfo("pkgz/../x"), b"x"))'
zrefused zdotdot "zip: a ../x entry: path traversal refused" "path traversal"
mkzip zsym 'i = zipfile.ZipInfo("pkgz/data/l"); i.external_attr = 0o120777 << 16; ms.append((i, b"/etc/passwd"))'
zrefused zsym "zip: a symlink entry: refused" "symbolic link"
mkzip zdup 'import copy; k = find("bagit.txt"); ms.append((copy.copy(ms[k][0]), ms[k][1]))' 2>/dev/null
zrefused zdup "zip: a duplicate entry: refused" "duplicate name"

# ---- hostile and tampered packages -----------------------------------------
# mk NAME PYTHON: a copy of pkg1.tar rewritten; `ms` is the member list,
# `data` a dict name -> bytes; helpers add/replace members.
mk() {
	python3 - "$T/out/${SRC:-pkg1}.tar" "$T/$1.tar" "$2" <<'PY'
import hashlib, io, sys, tarfile
src, dst, code = sys.argv[1:4]
t = tarfile.open(src)
ms = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
def find(suffix):
    return [i for i, (m, d) in enumerate(ms) if m.name.endswith(suffix)][0]
def reg(name, data):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def special(name, kind, target):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; return (i, None)
rehash = False
exec(code)
if rehash:  # a consistent bag again: manifests recomputed over the new content
    top = ms[0][0].name.split("/")[0]
    def lines(pred):
        return "".join("%s  %s\n" % (hashlib.sha256(d).hexdigest(), m.name[len(top) + 1:])
                       for m, d in ms if d is not None and pred(m.name[len(top) + 1:])).encode()
    i = find("/manifest-sha256.txt")
    ms[i] = (ms[i][0], lines(lambda n: n.startswith("data/")))
    i = find("/tagmanifest-sha256.txt")
    ms[i] = (ms[i][0], lines(lambda n: not n.startswith("data/") and not n.startswith("tagmanifest-")))
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for m, d in ms:
        if d is not None:
            m.size = len(d)
        o.addfile(m, io.BytesIO(d) if d is not None else None)
PY
}
refused() { # NAME DESC PATTERN [AGENCY]
	out=$("$CUSTODY" verify-package "$T/$1.tar" --agency "${4:-$T/aud/agency.vkey}" \
		${WIT:+--witnesses "$WIT"} 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q -- "$3"; then ok "$2"
	else not_ok "$2 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | tail -5; fi
}
mk byte 'i = find("evidence.bcde"); m, d = ms[i]; ms[i] = (m, d[:100] + bytes([d[100] ^ 1]) + d[101:])'
refused byte "a changed payload byte: SHA-256 mismatch" "evidence.bcde': SHA-256 mismatch"
check_fails "... the independent validator refuses it too" sh -c "python3 '$BAGCHECK' '$T/byte.tar' >/dev/null"
mk manifest 'i = find("/manifest-sha256.txt"); m, d = ms[i]; ms[i] = (m, b"0" * 64 + d[64:])'
refused manifest "a changed manifest: refused" "SHA-256 mismatch"
mk extra 'ms.append(reg("pkg1/data/extra.txt", b"planted\n"))'
refused extra "an extra payload file: not listed" "payload file 'data/extra.txt' is not listed"
mk missing 'del ms[find("history.txt")]'
refused missing "a missing file: listed but missing" "history.txt' is listed in manifest-sha256.txt but missing"
mk dotdot 'ms.append(reg("pkg1/../x", b"x"))'
refused dotdot "a ../x entry: path traversal refused" "path traversal"
mk abs 'ms.append(reg("/etc/x", b"x"))'
refused abs "an absolute path: refused" "absolute path"
mk symlink 'ms.append(special("pkg1/data/link", tarfile.SYMTYPE, "/etc/passwd"))'
refused symlink "a symlink entry: refused" "symbolic link"
mk hardlink 'ms.append(special("pkg1/data/hl", tarfile.LNKTYPE, "pkg1/bagit.txt"))'
refused hardlink "a hard link entry: refused" "hard link"
mk fifo 'ms.append(special("pkg1/data/f", tarfile.FIFOTYPE, ""))'
refused fifo "a FIFO entry: refused" "FIFO"
mk dup 'ms.append(ms[find("bagit.txt")])'
refused dup "a duplicate entry: refused" "duplicate name"
mk twobags 'ms.append(reg("other/bagit.txt", b"x"))'
refused twobags "a second top directory: refused" "outside the bag's top directory"
cp "$T/out/pkg1.tar" "$T/pkg1.tar"
SRC=pkg2 mk moved 'i = [k for k, (m, d) in enumerate(ms) if "/REC-2/tlog-proof/" in m.name][0]
m, d = ms[i]; m.name = m.name.replace("/REC-2/tlog-proof/", "/REC-1/tlog-proof/").replace(".tlog-proof", "0.tlog-proof"); rehash = True'
refused moved "a proof of another item filed under REC-1 (manifests recomputed): refused" \
	"not an event of the item whose directory holds it"
SRC=pkg2 mk rehashed 'rehash = True'
check "... while the same package with recomputed manifests and nothing moved verifies" \
	"$CUSTODY" verify-package "$T/rehashed.tar" --agency "$T/aud/agency.vkey"
refused pkg1 "another agency's key: the package's witness policy is refused" \
	"witness policy signed by the agency key" "$T/aud/other.vkey"
WIT="$DK/keys/w1.vkey" refused pkg1 "another agency's key with the witness vkey: the tlog-proofs do not verify" \
	"tlog-proof does not verify against the agency key" "$T/aud/other.vkey"
check "the right agency key with the auditor's own witness vkey: OK" \
	"$CUSTODY" verify-package "$T/pkg1.tar" --agency "$T/aud/agency.vkey" --witnesses "$DK/keys/w1.vkey"
check_fails "quorum 2 with one witness key: refused" \
	"$CUSTODY" verify-package "$T/pkg1.tar" --agency "$T/aud/agency.vkey" --witnesses "$DK/keys/w1.vkey" --quorum 2
head -c 20000 "$T/out/pkg1.tar" >"$T/trunc.tar"
refused trunc "a truncated package: refused" "REFUSED"
printf 'garbage' >"$T/garbage.tar"
refused garbage "garbage: not a tar archive" "REFUSED"
# ---- a stored file that is not the ledger's: refused ------------------------
# The export records and checks the SHA-256 the ledger holds for the stored
# file (the `ingested` event's ct_sha256 and ct_size), so a damaged or
# replaced vault copy never goes into a package. The copies below are in a
# vault directory of their own (--vault); the real vault is untouched.
V2=$(dk_vault_file CAM-1 REC-2)
mkdir -p "$T/dmg/$DK_AGENCY/CAM-1" "$T/short/$DK_AGENCY/CAM-1"
cp "$V2" "$T/dmg/$DK_AGENCY/CAM-1/REC-2.bcde"
flip_byte "$T/dmg/$DK_AGENCY/CAM-1/REC-2.bcde" 5000
nfail() { dk_sql "SELECT count(*) FROM events WHERE action = 20 AND outcome = 2 AND evidence_id = 'CAM-1/REC-2'"; }
f0=$(nfail)
C export CAM-1/REC-2 --vault "$T/dmg" --out "$T/out/dmg.tar" --reason court 2>"$T/err"; rc=$?
check "a vault copy with one byte changed: refused, names the ledger's ct_sha256 (exit $rc)" \
	sh -c "[ $rc -ne 0 ] && grep -q 'not the file the ledger recorded at ingest' '$T/err'"
check "... no package and no partial file" [ ! -e "$T/out/dmg.tar" -a ! -e "$T/out/dmg.tar.partial" ]
check "... the attempt is in the ledger: an exported event with outcome failed" [ "$(nfail)" = $((f0 + 1)) ]
head -c 3000 "$V2" >"$T/short/$DK_AGENCY/CAM-1/REC-2.bcde"
before=$(nexp)
C export CAM-1/REC-2 --vault "$T/short" --out "$T/out/short.tar" --reason court 2>"$T/err"; rc=$?
check "a truncated vault copy: refused before anything is recorded (exit $rc)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'the ledger.s ingested event says' '$T/err' && [ $(nexp) = $before ] && [ ! -e '$T/out/short.tar' ]"

# ---- bounded memory: a 128 MiB recording ingested by dockd streams through --
check "camera CAM-2 with a 128 MiB recording" dk_camera CAM-2 1 134217728
check "dockd starts again" dk_start --exit-when-idle
dk_dock CAM-2
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd ingested it and exited 0" [ $rc -eq 0 ]
N=$(dk_sql "SELECT max(size) FROM checkpoints")
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"
/usr/bin/time -f %M -o "$T/rss1" "$CUSTODY" --config "$DK_CONF" export CAM-2/REC-1 \
	--out "$T/out/big.tar" --reason "memory test" >/dev/null
check "export of a 128 MiB file stays under 64 MiB RSS ($(tail -1 "$T/rss1") KiB)" [ "$(tail -1 "$T/rss1")" -lt 65536 ]
/usr/bin/time -f %M -o "$T/rss2" "$CUSTODY" verify-package "$T/out/big.tar" --agency "$T/aud/agency.vkey" >/dev/null
rc=$?
check "verify-package of it passes under 64 MiB RSS ($(tail -1 "$T/rss2") KiB)" [ $rc -eq 0 -a "$(tail -1 "$T/rss2")" -lt 65536 ]
check "the independent validator accepts it" python3 "$BAGCHECK" "$T/out/big.tar"
rm -f "$T/out/big.tar"
check "nothing was written next to the hostile packages" \
	[ ! -e "$T/x" -a ! -e "$T/data" -a ! -e /etc/x ]
done_testing
