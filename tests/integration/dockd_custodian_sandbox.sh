#!/bin/sh
# The custodian's lock-down (docs/architecture.md, "The custodian";
# dockd/custodian/custp_sandbox.c): seccomp allow-list and landlock, with
# the keys in files and again with the keys in a softhsm2 token.
# build/tests/dockd_attack is dockd whose custodian, once locked down, at
# the first release-receipt request runs the attacker action named by
# CUST_ATTACK (dockd/custodian/custp_attack.c): connect to the network,
# execve("/bin/sh"), ptrace dockd, open the ledger for writing, open the
# dock key for writing, map anonymous memory executable. Only the first
# custodian attacks (it removes $CUST_ATTACK_ONCE). Each attempt must kill
# it (SIGSYS: the call never returns); no receipt is signed meanwhile (the
# recording stays on the camera); dockd records link_worker_killed
# (action 57) with process "custodian" and signal 31, raises a custodian
# alert, starts an honest custodian (same keys, under its filter) and the
# next docking releases the recording. Reading a file outside the
# custodian's rules is refused by landlock (EACCES), also with a PKCS#11
# key (only softhsm2's token directory is readable), and that custodian
# signs on. Without the filter the calls return (landlock refuses the
# opens, the connect and the ptrace, the shell runs): the test fails.
# Runtime: ~45 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/p11_lib.sh"
dk_require
[ -x "$TBIN/dockd_attack" ] || { echo "1..0 # SKIP no $TBIN/dockd_attack (make tests)"; exit 0; }
mktmp
DK_IDLE_MS=1500
echo "not for the custodian" >"$T/secret"

died() {
	dk_sql "SELECT count(*) FROM events WHERE action = 57 AND \
json_extract(details,'\$.process') = 'custodian'"
}
last_died() {
	dk_sql "SELECT json_extract(details,'\$.signal') FROM events WHERE action = 57 AND \
json_extract(details,'\$.process') = 'custodian' ORDER BY seq DESC LIMIT 1"
}
cust_alerts() { c=$(grep -c "custodian" "$DK/alerts.log" 2>/dev/null); echo "${c:-0}"; }
cust_pid() { ps -o pid=,args= --ppid "$DK_PID" 2>/dev/null | awk '$3 == "--custodian" {print $1}'; }
# a custodian other than $1 runs, under its seccomp filter
honest() {
	i=0
	while :; do
		cp=$(cust_pid)
		if [ -n "$cp" ] && [ "$cp" != "$1" ] &&
			grep -q '^Seccomp:[[:space:]]*2' /proc/"$cp"/status 2>/dev/null; then
			return 0
		fi
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		sleep 0.1
	done
}
tried() { grep -q "CUST_ATTACK: trying $1" "$DK_LOG"; }
show_log() { tail -n 25 "$DK_LOG" | sed 's/^/#   /'; }

# attack MODE N ACTION ARG: a camera docks into a dockd whose custodian
# runs ACTION at its first receipt request
attack() {
	m=$1 a=$3 arg=$4
	cam=CAM-$m$2
	check "$m $a: camera $cam with a recording" dk_camera "$cam" 1 30000
	k0=$(died); al0=$(cust_alerts); : >"$DK_LOG"; : >"$T/once"
	CUST_ATTACK=$a CUST_ATTACK_ARG=$arg CUST_ATTACK_ONCE=$T/once \
		DOCKD=$TBIN/dockd_attack dk_start
	cp0=$(cust_pid)
	check "$m $a: the custodian runs under its filter" honest ""
	dk_dock "$cam" >/dev/null 2>&1
	check "$m $a: the compromised custodian tried it" tried "$a" || show_log
	if [ "$a" = read ]; then
		check "$m $a: landlock refused the open (EACCES), the custodian lives" \
			grep -q "CUST_ATTACK: done: read open: Permission denied" "$DK_LOG"
		check "$m $a: $cam/REC-1 released by the same custodian" \
			dk_wait_state "$cam/REC-1" released 30
		check "$m $a: no death recorded" [ "$(died)" -eq "$k0" ]
		check "$m $a: the same custodian runs" [ "$(cust_pid)" = "$cp0" ]
		check "$m $a: dockd stops" dk_stop
		return
	fi
	check_fails "$m $a: the system call never returned (seccomp killed it)" \
		grep -q "CUST_ATTACK: done" "$DK_LOG"
	check_fails "$m $a: no shell ran" grep -q "CUST_ATTACK: shell ran" "$DK_LOG"
	check "$m $a: no receipt while it was down: $cam/REC-1 not released" \
		[ "$(dk_state "$cam/REC-1")" != released ]
	check "$m $a: the camera keeps its recording" dk_cam_has "$cam" REC-1
	check "$m $a: dockd logged the death by signal 31" \
		grep -q "custodian (pid $cp0) .*signal 31" "$DK_LOG"
	check "$m $a: link_worker_killed (process custodian) recorded" \
		[ "$(died)" -eq $((k0 + 1)) ]
	check "$m $a: its signal is 31 (SIGSYS)" [ "$(last_died)" = 31 ]
	check "$m $a: a custodian alert was raised" [ "$(cust_alerts)" -gt "$al0" ]
	check_fails "$m $a: dockd is not traced" \
		grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/"$DK_PID"/status
	check "$m $a: dockd restarted an honest custodian under its filter" honest "$cp0"
	dk_dock "$cam" >/dev/null 2>&1
	check "$m $a: $cam/REC-1 released after the restart (same keys)" \
		dk_wait_state "$cam/REC-1" released 30 || show_log
	check "$m $a: dockd stops" dk_stop
}

# ---- keys in files ---------------------------------------------------------
check "file: dock, agency and checkpoint keys" dk_init "$T/f"
KEYSUM=$(sha256sum "$DK/state/dock.key")
n=0
for spec in "net 9" "exec -" "ptrace parent" "ledger $DK_DB" \
	"keyfile $DK/state/dock.key" "jit -" "read $T/secret"; do
	set -- $spec
	n=$((n + 1))
	attack f $n "$1" "$2"
done
check "file: the dock key is unchanged" \
	sh -c '[ "$(sha256sum "$1")" = "$2" ]' _ "$DK/state/dock.key" "$KEYSUM"
check "file: custody verify is clean" dk_verify || sed 's/^/#   /' "$DK/verify.out" | head

# ---- keys in a softhsm2 token ------------------------------------------------
if p11_find && command -v softhsm2-util >/dev/null 2>&1; then
	check "p11: a fresh softhsm2 token" p11_up "$T/hsm" dock
	DK_KEY=$(p11_uri dock-key)
	DK_CKPT_KEY=$(p11_uri ckpt-key)
	check "p11: dock and checkpoint keys in the token" dk_init "$T/p"
	check_fails "p11: no key file" test -e "$DK/state/dock.key"
	n=0
	for spec in "net 9" "ledger $DK_DB" "read $T/secret" \
		"read $T/hsm/pin"; do
		set -- $spec
		n=$((n + 1))
		attack p $n "$1" "$2"
	done
	check "p11: custody verify is clean" dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
else
	skip "p11: the same with the keys in softhsm2" "softhsm2 not installed"
fi
check_fails "the normal dockd contains no attack code" grep -q "CUST_ATTACK" "$BIN/dockd"
done_testing
