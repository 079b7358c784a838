#!/bin/sh
# The storage uploader as its own process (issue 11; docs/architecture.md,
# "The storage uploader"), with a real Ceph RGW:
#   proc   - with an s3:// target dockd runs `dockd --store-worker`, and
#            only that process holds the S3 secret key: it is found in the
#            uploader's memory (/proc/PID/mem) and not in dockd's (the same
#            scan finds the bucket name there, so it can fail); the
#            uploader has no descriptor of the state directory but
#            uploads.db, and confined itself (landlock, no new privileges):
#            made to call open() in it (gdb), reading the dock key,
#            checkpoint key, ledger, configuration file and vault is
#            refused, uploads.db opens (the control); its seccomp filter
#            is on (Seccomp: 2)
#   kill   - the uploader is killed (SIGKILL) after a part of a multipart
#            upload was stored: dockd logs and alerts it, starts a new
#            uploader, which resumes the upload from uploads.db (the part
#            stored before is kept, not sent again), its progress reaches
#            `custody status` (0 < bytes < size), and every recording
#            is storage_verified once, byte-identical in the bucket
#   reuse  - a second camera's 8 recordings (puts, verify HEADs, read-back
#            GETs) go through that same uploader process (no restart)
#            over its kept-alive HTTPS connections: its log's totals show
#            at most one new connection per 4 requests, no more than the
#            connection pool holds (parallel_uploads x (parallel_parts +
#            1) = 4), every connection TLS, and new connections resuming a
#            TLS session from the shared cache (all but the pool's first 4
#            at most: those may start together, before any session exists)
#   stop   - dockd stops with exit 0 and its uploader is gone
# Runtime: ~50 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
MIB=1048576
WAIT=${S3UP_WAIT:-120}

# Does process PID's memory hold STRING? (root reads /proc/PID/mem even of
# a process that is not dumpable). Exit 0 found, 1 not found, 2 unreadable.
mem_has() { # PID STRING
	python3 - "$1" "$2" <<'PY'
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
found, read = False, 0
try:
    maps = open("/proc/%s/maps" % pid).read().splitlines()
    mem = open("/proc/%s/mem" % pid, "rb", 0)
except OSError as e:
    print("# cannot read process %s: %s" % (pid, e)); sys.exit(2)
for line in maps:
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r)", line)
    if not m or "[vvar" in line or "[vsyscall" in line:
        continue
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    try:
        mem.seek(lo)
        while lo < hi:
            n = min(hi - lo, 1 << 24)
            b = mem.read(n)
            if not b:
                break
            read += len(b)
            if needle in b:
                found = True
                break
            lo += len(b)
    except OSError:
        continue
    if found:
        break
if read == 0:
    print("# nothing of process %s was readable" % pid); sys.exit(2)
sys.exit(0 if found else 1)
PY
}

uploader_pid() { pgrep -f -- "--store-worker $DK_CONF " | head -1; }

wait_uploader() { # [NOT_PID]: a running uploader other than NOT_PID
	i=0
	while :; do
		up=$(uploader_pid)
		[ -n "$up" ] && [ "$up" != "${1:-}" ] && return 0
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		sleep 0.1
	done
}

# The uploader's open descriptors: nothing of the state directory but
# uploads.db (and its -wal, -shm), no vault file while idle.
fds_clean() { # PID
	[ -n "$1" ] && [ -d /proc/"$1"/fd ] || return 1
	bad=$(ls -l /proc/"$1"/fd 2>/dev/null | sed -n 's/.* -> //p' |
		grep -E "^($DK/state|$DK_VAULT)/" | grep -vE "/uploads\.db(-wal|-shm)?$")
	[ -z "$bad" ] && return 0
	echo "# uploader holds: $bad"
	return 1
}

show_log() { tail -n 40 "$DK_LOG" | sed 's/^/#   /'; }

# Make process PID call open(PATH, FLAGS) (gdb as root; the uploader is
# not dumpable, root may still attach): prints "fd errno".
open_in() { # PID PATH FLAGS
	timeout 60 gdb -p "$1" -batch -ex "call (int)open(\"$2\", $3)" \
		-ex 'call (int)*(int*)__errno_location()' 2>/dev/null |
		sed -n 's/^\$[0-9]* = //p' | tr '\n' ' '
}
# The uploader cannot open PATH (landlock: -1, EACCES).
denied() { # PID PATH FLAGS
	got=$(open_in "$@")
	[ "$got" = "-1 13 " ] && return 0
	echo "# open($2) in the uploader: $got"
	return 1
}
allowed() { # PID PATH FLAGS: it can (the call itself works); closed again
	got=$(open_in "$@")
	fd=${got%% *}
	[ -n "$fd" ] && [ "$fd" -ge 0 ] 2>/dev/null || { echo "# open($2): $got"; return 1; }
	timeout 60 gdb -p "$1" -batch -ex "call (int)close($fd)" >/dev/null 2>&1
}

stored_once() { # SERIAL REC
	[ "$(dk_count_action "$1/$2" storage_verified)" = 1 ]
}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-uploader)
DK_S3_EXTRA="part_size_mb = 5
parallel_parts = 1"
# slow enough (about 2 MB/s) that the big recording is still going for
# seconds after its first part is stored
DK_EXTRA_STORAGE="bandwidth_mbit = 16"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, config, ledger" dk_init "$T/u" storage
check "setup: camera CAM-A, 2 small recordings" dk_camera CAM-A 2 70000
add_big() {
	dk_randfile "$DK/orig/CAM-A/BIG.bin" $((16 * MIB + 4321)) CAM-A-big &&
		"$CAMSIM" add --dir "$DK/cams/CAM-A" --id BIG --file "$DK/orig/CAM-A/BIG.bin" \
			--category patrol --start 1700009000 --end 1700009300 >/dev/null
}
check "setup: CAM-A's 16 MiB recording (4 parts)" add_big
check "setup: camera CAM-B, 8 small recordings" dk_camera CAM-B 8 50000
check "setup: a clerk for custody status" dk_status_user
check "setup: the secret key is not in dockd's configuration file" \
	sh -c '! grep -qF "$1" "$2"' _ "$S3_SECRET_KEY" "$DK_CONF"

# ---- proc ----------------------------------------------------------------------
check "proc: dockd starts" dk_start
check "proc: an uploader process runs (dockd --store-worker)" wait_uploader
UP1=$(uploader_pid)
check "proc: the uploader is dockd's child" \
	test "$(ps -o ppid= -p "$UP1" | tr -d ' ')" = "$DK_PID"
# ASan reserves terabytes of shadow and allocator memory: reading it
# through /proc/PID/mem faults it in until the OOM killer stops dockd.
NOSCAN="ASan's reserved memory cannot be scanned"
if [ -n "${SANITIZED:-}" ]; then
	skip "proc: the scan reads dockd's memory (finds the bucket name)" "$NOSCAN"
	skip "proc: the S3 secret key is NOT in dockd's memory" "$NOSCAN"
	skip "proc: the S3 secret key is in the uploader's memory" "$NOSCAN"
else
	check "proc: the scan reads dockd's memory (finds the bucket name)" \
		mem_has "$DK_PID" "$DK_S3_BUCKET"
	mem_has "$DK_PID" "$S3_SECRET_KEY"
	check "proc: the S3 secret key is NOT in dockd's memory" test $? = 1
	check "proc: the S3 secret key is in the uploader's memory" mem_has "$UP1" "$S3_SECRET_KEY"
fi
check "proc: the uploader holds nothing of the state dir but uploads.db" fds_clean "$UP1"
check "proc: the uploader runs with no new privileges" \
	grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"$UP1"/status
check "proc: the uploader runs under its seccomp filter" \
	grep -q '^Seccomp:[[:space:]]*2' /proc/"$UP1"/status
abi=$(sed -n 's/.*storage uploader [0-9]* ready (landlock ABI \([0-9]*\)).*/\1/p' "$DK_LOG" | tail -1)
# the kernel's landlock ABI (landlock_create_ruleset(NULL, 0, VERSION), 444)
kabi=$(python3 -c 'import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))' 2>/dev/null)
if [ "${kabi:--1}" -ge 1 ]; then
	check "proc: the uploader confined itself with landlock (ABI ${abi:-none})" \
		test "${abi:-0}" -ge 1
else
	skip "proc: landlock" "not enabled in this kernel"
fi

if [ "${kabi:--1}" -ge 1 ] && command -v gdb >/dev/null 2>&1; then
	# reads only: an open for writing is not on the uploader's seccomp
	# allow-list and kills it (dockd_store_sandbox.sh)
	check "proc: (control) the uploader can open uploads.db" \
		allowed "$UP1" "$DK/state/uploads.db" 0
	check "proc: the uploader cannot read the dock key" denied "$UP1" "$DK/state/dock.key" 0
	check "proc: the uploader cannot read the checkpoint key" denied "$UP1" "$DK/state/ckpt.key" 0
	check "proc: the uploader cannot read the ledger" denied "$UP1" "$DK_DB" 0
	check "proc: the uploader cannot read dockd's configuration file" denied "$UP1" "$DK_CONF" 0
	check "proc: the uploader cannot read the vault directory" denied "$UP1" "$DK_VAULT" 0
	check "proc: the uploader is the same process after these attempts" \
		test "$(uploader_pid)" = "$UP1"
else
	skip "proc: open attempts in the uploader" "no landlock or no gdb"
fi

# ---- kill ----------------------------------------------------------------------
mark=$(wc -l <"$DK_LOG")
BIGKEY=$(dk_s3_key CAM-A BIG)
part_stored() { tail -n +$((mark + 1)) "$DK_LOG" | grep -qF "upload of $BIGKEY: part 1/4 stored"; }
wait_part() {
	i=0
	until part_stored; do
		i=$((i + 1)); [ $i -lt $((WAIT * 10)) ] || return 1
		sleep 0.1
	done
}
dk_dock_bg CAM-A
check "kill: the big recording's first part is stored" wait_part
check "kill: the uploader is killed (SIGKILL) mid-upload" kill -KILL "$UP1"
check "kill: dockd starts a new uploader" wait_uploader "$UP1"
UP2=$(uploader_pid)
# While the new uploader sends the rest, `custody status` shows the bytes it
# reports (SM_PROGRESS -> the status table's upload row).
saw_progress() {
	i=0
	until case "$(dk_state CAM-A/BIG)" in storage_verified|released) true ;; *) false ;; esac; do
		i=$((i + 1)); [ $i -lt $((WAIT * 10)) ] || return 1
		dk_status_json >"$DK/st.json" 2>&1; python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if any(u.get("object_key") == sys.argv[1] and 0 < u.get("bytes", 0) < u.get("size", 0)
                  for u in s.get("uploads", [])) else 1)' "$BIGKEY" <"$DK/st.json" && seen=1
		sleep 0.05
	done
	[ "${seen:-0}" = 1 ]
}
check "kill: custody status showed the big upload's progress from the new uploader" saw_progress
for r in REC-1 REC-2 BIG; do
	check "kill: CAM-A/$r storage_verified" dk_wait_stored "CAM-A/$r" "$WAIT" ||
		show_log
done
wait "$DK_CAM_PID"
check "kill: camsim exits 0" test $? = 0
check "kill: dockd is still the same process" dk_alive
check "kill: dockd logged the uploader's death" \
	grep -q "storage uploader (pid $UP1) died during an operation: killed by signal 9" "$DK_LOG"
check "kill: an alert (storage-uploader) was raised" grep -q "storage-uploader" "$DK/alerts.log"
check "kill: the new uploader resumed the upload from uploads.db" \
	grep -qF "resuming upload of $BIGKEY: 1 of 4 parts already stored" "$DK_LOG"
check "kill: part 1 (stored before the kill) was sent once only" \
	test "$(grep -cF "upload of $BIGKEY: part 1/4: sending" "$DK_LOG")" = 1
for r in REC-1 REC-2 BIG; do
	check "kill: CAM-A/$r storage_verified exactly once" stored_once CAM-A "$r"
	check "kill: CAM-A/$r in the bucket decrypts byte-identical" dk_same_s3 CAM-A "$r"
done
check "kill: no multipart upload left in uploads.db" \
	test "$(sqlite3 "$DK/state/uploads.db" 'SELECT count(*) FROM uploads')" = 0
if [ -n "${SANITIZED:-}" ]; then
	skip "kill: the S3 secret key is still not in dockd's memory" "$NOSCAN"
else
	mem_has "$DK_PID" "$S3_SECRET_KEY"
	check "kill: the S3 secret key is still not in dockd's memory" test $? = 1
fi

# ---- reuse ---------------------------------------------------------------------
check "reuse: docking CAM-B: camsim exits 0" dk_dock CAM-B
for i in 1 2 3 4 5 6 7 8; do
	check "reuse: CAM-B/REC-$i storage_verified" dk_wait_stored "CAM-B/REC-$i" "$WAIT" || show_log
done
check "reuse: the same uploader process ($UP2) served CAM-B" test "$(uploader_pid)" = "$UP2"
# the uploader's totals since it started, after its last put:
# "R requests over C new connections so far (TLS: H handshakes, K resumed a session)"
totals=$(grep -F "dockd[$UP2] " "$DK_LOG" | grep 'requests over' | tail -1 |
	sed -n 's/.*; \([0-9]*\) requests over \([0-9]*\) new connections so far (TLS: \([0-9]*\) handshakes, \([0-9]*\) resumed a session).*/\1 \2 \3 \4/p')
echo "# reuse: uploader $UP2: requests, connections, TLS handshakes, resumed: ${totals:-none logged}"
# shellcheck disable=SC2086
set -- ${totals:-0 999 0 0}
reqs=$1 conns=$2 tlsn=$3 tlsr=$4
check "reuse: $conns connections for $reqs requests: at most one per 4 requests" \
	test $((conns * 4)) -le "$reqs"
check "reuse: $conns connections: no more than the pool's 4 clients" test "$conns" -le 4
check "reuse: every connection is TLS ($tlsn handshakes)" test "$tlsn" = "$conns"
check "reuse: new connections resumed a TLS session ($tlsr of $tlsn; the first ones cannot)" \
	test "$tlsr" -ge 1 -a $((tlsr + 4)) -ge "$tlsn"

# ---- stop ----------------------------------------------------------------------
check "stop: dockd stops with exit 0" dk_stop
check "stop: the uploader is gone" sh -c '! kill -0 "$1" 2>/dev/null' _ "$UP2"
check "stop: the ledger verifies" dk_verify
done_testing
