#!/bin/sh
# The storage uploader's seccomp allow-list (docs/architecture.md, "The
# storage uploader"; dockd/store/storew_sandbox.c), with a real Ceph RGW.
# build/tests/dockd_attack is dockd whose uploader, once locked down and
# ready, runs the attacker action named by STORE_ATTACK (dockd/store/
# storew_attack.c): execve("/bin/sh"), ptrace of a sibling, the ledger
# opened for writing, the dock key opened for writing, anonymous memory
# mapped executable. Only the first
# uploader attacks (it removes $STORE_ATTACK_ONCE). Each attempt must kill
# it (SIGSYS: the system call never returns); dockd records
# link_worker_killed (action 57) with process "storage-uploader" and
# signal 31, raises a storage-uploader alert, starts an honest uploader,
# and the camera's recording is stored (storage_verified, the object
# decrypts byte-identical); the ledger and the key are unchanged by the
# attempts. Without the filter the calls return (landlock refuses the
# opens, the shell runs, ptrace may attach): the test fails. The control:
# a shared library (libnss_files) loads in the locked-down uploader.
# Runtime: ~60 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
[ -x "$TBIN/dockd_attack" ] || { echo "1..0 # SKIP no $TBIN/dockd_attack (make tests)"; exit 0; }
mktmp
s3_up
WAIT=${S3SB_WAIT:-90}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-storesb)
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, config, ledger" dk_init "$T/s" storage
sleep 600 &
SIB=$!
KEYSUM=$(sha256sum "$DK/state/dock.key")

died() {
	dk_sql "SELECT count(*) FROM events WHERE action = 57 AND \
json_extract(details,'\$.process') = 'storage-uploader'"
}
last_died() {
	dk_sql "SELECT json_extract(details,'\$.serial') || '/' || json_extract(details,'\$.signal') \
FROM events WHERE action = 57 AND json_extract(details,'\$.process') = 'storage-uploader' \
ORDER BY seq DESC LIMIT 1"
}
up_alerts() { c=$(grep -c storage-uploader "$DK/alerts.log" 2>/dev/null); echo "${c:-0}"; }
uploader_pid() { pgrep -P "$DK_PID" -f -- "--store-worker" | head -1; }
tried() { # ACTION: the compromised uploader reached its attempt
	i=0
	until grep -q "STORE_ATTACK: trying $1" "$DK_LOG"; do
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		sleep 0.1
	done
}
# an uploader other than the attacker runs under its filter
honest_up() { # ATTACKER_PID_OR_EMPTY
	i=0
	while :; do
		up=$(uploader_pid)
		if [ -n "$up" ] && [ "$up" != "$1" ] &&
			grep -q '^Seccomp:[[:space:]]*2' /proc/"$up"/status 2>/dev/null; then
			return 0
		fi
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		sleep 0.1
	done
}
show_log() { tail -n 30 "$DK_LOG" | sed 's/^/#   /'; }

n=0
for spec in "exec -" "ptrace $SIB" "ledger $DK_DB" "keyfile $DK/state/dock.key" "jit -"; do
	set -- $spec
	a=$1 arg=$2
	n=$((n + 1))
	cam=CAM-S$n
	check "$a: camera $cam with a recording" dk_camera $cam 1 40000
	k0=$(died); al0=$(up_alerts); : >"$DK_LOG"; : >"$T/once"
	STORE_ATTACK=$a STORE_ATTACK_ARG=$arg STORE_ATTACK_ONCE=$T/once \
		DOCKD=$TBIN/dockd_attack dk_start
	check "$a: the compromised uploader tried it" tried "$a" || show_log
	bad=$(sed -n 's/.*dockd\[\([0-9]*\)\].*STORE_ATTACK: trying.*/\1/p' "$DK_LOG" | head -1)
	check "$a: camsim docks (exit 0)" dk_dock $cam
	check "$a: $cam/REC-1 storage_verified through a restarted uploader" \
		dk_wait_stored "$cam/REC-1" "$WAIT" || show_log
	check "$a: the object in the bucket decrypts byte-identical" dk_same_s3 $cam REC-1
	check_fails "$a: the system call never returned (seccomp killed the uploader)" \
		grep -q "STORE_ATTACK: done" "$DK_LOG"
	check_fails "$a: no shell ran" grep -q "STORE_ATTACK: shell ran" "$DK_LOG"
	check "$a: dockd logged the death by signal 31" \
		grep -q "storage uploader (pid [0-9]*) .*signal 31" "$DK_LOG"
	check "$a: link_worker_killed (process storage-uploader) recorded" \
		[ "$(died)" -eq $((k0 + 1)) ]
	check "$a: its details: no camera, signal 31" [ "$(last_died)" = "/31" ]
	check "$a: a storage-uploader alert was raised" [ "$(up_alerts)" -gt "$al0" ]
	check "$a: an honest uploader runs under its filter" honest_up "$bad"
	check "$a: dockd stops with exit 0" dk_stop
done
# The control: a shared library (an NSS module, as glibc loads one at the
# first lookup that needs it) loads in the locked-down uploader.
NSSLIB=$(ls /lib/*/libnss_files.so.2 /usr/lib/*/libnss_files.so.2 2>/dev/null | head -1)
if [ -n "$NSSLIB" ]; then
	k0=$(died); : >"$DK_LOG"; : >"$T/once"
	STORE_ATTACK=dlopen STORE_ATTACK_ARG=$NSSLIB STORE_ATTACK_ONCE=$T/once \
		DOCKD=$TBIN/dockd_attack dk_start
	check "dlopen: the uploader tried it" tried dlopen
	done_dl() {
		i=0
		until grep -q "STORE_ATTACK: done" "$DK_LOG"; do
			i=$((i + 1)); [ $i -lt 300 ] || return 1
			sleep 0.1
		done
	}
	check "dlopen: the call returned (not killed)" done_dl
	check "dlopen: $NSSLIB loaded" grep -q "STORE_ATTACK: loaded $NSSLIB" "$DK_LOG"
	check "dlopen: no death recorded" [ "$(died)" -eq "$k0" ]
	check "dlopen: dockd stops with exit 0" dk_stop
else
	skip "dlopen: an NSS module loads" "no libnss_files.so.2"
fi
check "the sibling was never traced" sh -c '! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$1/status' _ "$SIB"
kill "$SIB" 2>/dev/null
check "the dock key is unchanged" sh -c '[ "$(sha256sum "$1")" = "$2" ]' _ "$DK/state/dock.key" "$KEYSUM"
check "custody verify is clean" dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
check_fails "the normal dockd contains no attack code" grep -q "STORE_ATTACK" "$BIN/dockd"
done_testing
