#!/bin/sh
# No data key on disk (issue #10): a recording's data key lives only in
# dockd's memory while it is pulled. The key is recovered here the way an
# agency would - from the partial file's header with the agency private key,
# by a reader written from docs/evidence-format.md section 5 (Python, not
# our C) - and every file under the state and vault directories is searched
# for it (raw, hex, base64): during an interrupted pull, after kill -9, and
# after the restart. A data key file an older dockd left is removed at
# start. After the restart the pull starts again from byte 0 (no key to
# resume with), recorded as ingest_restarted with its reason, and the
# recording is stored, byte-identical, and verified. Within one dockd life
# a re-docked camera still resumes (key in memory), unless its partial file
# lost recorded durable progress (why durable-progress-missing). Also: `dockd enroll`
# signs a checkpoint over the events it appended (no unprotected tail).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
DK_SYNC_MB=1
DK_RELEASE_WAIT=1
check "setup" dk_init "$T/d" storage
# 10 MB at 500 kB/s: 20 s per pull, time for the checks made during it
check "setup: camera CAM-K, one 10 MB recording" dk_camera CAM-K 1 10000000
# (no unprotected tail: `dockd enroll` signs the events it appended)
check "dockd enroll left its events covered by a checkpoint" test \
	"$(dk_sql "SELECT max(size) FROM checkpoints")" = "$(dk_sql "SELECT count(*) FROM events")" -a \
	-f "$DK/anchor/checkpoint.$(dk_sql "SELECT count(*) FROM events")"
EV=CAM-K/REC-1
PART="$DK_VAULT/.partial/CAM-K/REC-1.part"

# datakey FILE: the data key (hex) of an evidence file, unwrapped with the
# agency P-256 private key (docs/evidence-format.md sections 4 and 5.1).
datakey() {
	python3 - "$DK/keys/agency-enc.key" "$1" <<'EOF'
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
priv = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
h = open(sys.argv[2], "rb").read(65536)
if h[:8] != b"\x89EVF\r\n\x1a\n":
    sys.exit(2)
salt, o = h[16:48], 48
o += 1 + h[o]                                   # recording id
o += 1 + h[o]                                   # camera serial
o += 2 + int.from_bytes(h[o:o + 2], "big")      # context
n, o = h[o], o + 1
for _ in range(n):
    t, bl = h[o], int.from_bytes(h[o + 1:o + 3], "big")
    kid, body, o = h[o + 3:o + 35], h[o + 35:o + 35 + bl], o + 35 + bl
    if t != 1:
        continue
    e, w = body[:65], body[65:]
    z = priv.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), e))
    kek = HKDF(hashes.SHA256(), 32, salt, b"evfile v1 ecdh-p256 kek" + e + kid).derive(z)
    try:
        print(AESGCM(kek).decrypt(b"\0" * 12, w, None).hex())
        sys.exit(0)
    except Exception:
        pass
sys.exit(1)
EOF
}

# no_key_anywhere HEXKEY...: no file under state or vault holds any key, raw,
# as hex (either case) or base64. Prints the offending files.
no_key_anywhere() {
	python3 - "$DK/state" "$DK_VAULT" "$@" <<'EOF'
import base64, os, sys
dirs, keys = sys.argv[1:3], [bytes.fromhex(k) for k in sys.argv[3:]]
if not keys or any(len(k) != 32 for k in keys):
    print("# not a data key: %r" % sys.argv[3:])
    sys.exit(2)
forms = []
for k in keys:
    forms += [k, k.hex().encode(), k.hex().upper().encode(), base64.b64encode(k),
              base64.b64encode(k).rstrip(b"=")]
bad, n = 0, 0
for d in dirs:
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            n += 1
            data = open(p, "rb").read()
            for x in forms:
                if x in data:
                    print("# data key found in %s" % p)
                    bad = 1
                    break
print("# searched %d files" % n)
sys.exit(bad)
EOF
}
started() { dk_sql "SELECT count(*) FROM events WHERE evidence_id = '$EV' AND action = 4"; }
durable() { dk_sql "SELECT durable_chunks FROM dock_recordings WHERE evidence_id='$EV'"; }
wait_durable() {
	i=0
	while [ "$(durable)" -lt "$1" ] 2>/dev/null || [ -z "$(durable)" ]; do
		i=$((i + 1)); [ $i -lt 300 ] || return 1; sleep 0.1
	done
}

# The camera has gone when dk_dock returns, but dockd may still be taking
# in what its camera-link worker read before the unplug: wait until the
# pull is recorded as interrupted, with durable chunks.
wait_unplugged() {
	wait_durable 1 || return 1
	i=0
	until [ "$(dk_sql "SELECT count(*) FROM events WHERE evidence_id='$EV'
		AND action = 24")" -gt 0 ]; do
		i=$((i + 1)); [ $i -lt 300 ] || return 1; sleep 0.1
	done
}

# --- an interrupted pull, then kill -9 ------------------------------------
check "dockd starts" dk_start
dk_dock_bg CAM-K --slow 500000
cam=$DK_CAM_PID
check "pull under way with durable chunks" wait_durable 1
K1=$(datakey "$PART")
check "the agency key unwraps the partial file's data key" test ${#K1} -eq 64
check "no key file next to the partial file" sh -c "! ls '$DK_VAULT/.partial/CAM-K/' | grep -q '\.key$'"
check "during the pull: the data key is in no file under state and vault" no_key_anywhere "$K1"
dk_kill9
kill "$cam" 2>/dev/null; wait "$cam" 2>/dev/null
d0=$(durable)
check "after kill -9: progress was recorded ($d0 chunks), still pulling" \
	test "$d0" -gt 0 -a "$(dk_state $EV)" = pulling
check "after kill -9: the data key is in no file" no_key_anywhere "$K1"
check "the camera still holds the recording" dk_cam_has CAM-K REC-1

# As an older dockd would have left it: the key in a file. Removed at start.
printf '%s' "$K1" | python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' \
	>"$DK_VAULT/.partial/CAM-K/REC-1.key"
key_found() { ! no_key_anywhere "$@" >/dev/null; }
check "(planted: the search finds the key in an old key file)" key_found "$K1"

# --- restart: from byte 0, recorded, stored, verified ---------------------
check "dockd starts again" dk_start
check "the old key file was removed at start" test ! -e "$DK_VAULT/.partial/CAM-K/REC-1.key"
check "... and with it the last copy of the key" no_key_anywhere "$K1"
dk_dock_bg CAM-K --slow 500000
cam=$DK_CAM_PID
wait_restarted() {
	i=0
	until [ "$(started)" = 2 ]; do i=$((i + 1)); [ $i -lt 300 ] || return 1; sleep 0.1; done
	wait_durable 1
}
check "restarted pull under way" wait_restarted
K2=$(datakey "$PART")
check "the restarted pull has a new data key" test ${#K2} -eq 64 -a "$K2" != "$K1"
check "during the restarted pull: no key in any file" no_key_anywhere "$K1" "$K2"
wait "$cam"
check "recording stored and verified" dk_wait_stored "$EV" 60
check "ingest_restarted recorded with from_chunk and why no-key" \
	dk_py 'sys.exit(0 if any(a == "ingest_restarted" and int(d.get("from_chunk", 0)) > 0
		and d.get("why") == "no-key" for _, a, _, d in events(args[0])) else 1)' "$EV"
check "its reason says the key is never kept on disk" test -n \
	"$(dk_sql "SELECT reason FROM events WHERE action = 56 AND evidence_id = '$EV' AND reason LIKE '%never kept on disk%'")"
check "then ingest_started from byte 0 (resume_chunk 0), after the restart event" \
	dk_py 'ev = [(a, d) for _, a, _, d in events(args[0])]
i = [k for k, (a, _) in enumerate(ev) if a == "ingest_restarted"]
nxt = [d for a, d in ev[i[-1]:] if a == "ingest_started"] if i else []
sys.exit(0 if nxt and int(nxt[0].get("resume_chunk", -1)) == 0 else 1)' "$EV"
check "exactly one ingested event" test "$(dk_count_action "$EV" ingested)" = 1
check "vault copy decrypts to the original bytes" dk_same CAM-K REC-1
check "stored copy decrypts to the original bytes" dk_same_store CAM-K REC-1
check "no partial file left" test ! -e "$PART"
check "after the restart: no data key in any file" no_key_anywhere "$K1" "$K2"
check "custody verify is clean" dk_verify

# --- within one dockd life a re-docked camera resumes ---------------------
check "setup: camera CAM-R" dk_camera CAM-R 1 3000000
dk_dock CAM-R --disconnect-after 1500000
EV=CAM-R/REC-1
check "unplugged mid-pull: progress recorded" wait_unplugged
dk_dock CAM-R
check "re-docked: resumed from the key in memory (resume_chunk > 0)" \
	dk_py 'st = [d for _, a, _, d in events(args[0]) if a == "ingest_started"]
sys.exit(0 if len(st) == 2 and int(st[1].get("resume_chunk", 0)) > 0 else 1)' "$EV"
check "no ingest_restarted for it" test "$(dk_count_action "$EV" ingest_restarted)" = 0
check "resumed copy stored" dk_wait_stored "$EV" 60
check "resumed copy decrypts to the original bytes" dk_same CAM-R REC-1

# --- recorded durable progress no longer on the disk ----------------------
# (what a lost fdatasync leaves after a power cut; tests/powercut/ makes it
# for real): dockd checks the partial file's length against the recorded
# durable chunks before it resumes, says so, and pulls from 0.
check "setup: camera CAM-L" dk_camera CAM-L 1 3000000
dk_dock CAM-L --disconnect-after 1500000
EV=CAM-L/REC-1
check "unplugged mid-pull: progress recorded" wait_unplugged
truncate -s 1000 "$DK_VAULT/.partial/CAM-L/REC-1.part"
dk_dock CAM-L
check "ingest_restarted with why durable-progress-missing" \
	dk_py 'sys.exit(0 if any(a == "ingest_restarted" and int(d.get("from_chunk", 0)) > 0
		and d.get("why") == "durable-progress-missing" for _, a, _, d in events(args[0])) else 1)' "$EV"
check "the log says recorded durable progress is missing" \
	grep -q "CAM-L/REC-1: recorded durable progress missing" "$DK_LOG"
check "pulled again from 0 and stored" dk_wait_stored "$EV" 60
check "that copy decrypts to the original bytes" dk_same CAM-L REC-1
check "dockd stops cleanly" dk_stop
check "custody verify is clean at the end" dk_verify
done_testing
