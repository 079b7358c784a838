#!/bin/sh
# The query-service process's seccomp allow-list (docs/architecture.md,
# "The query-service process"; dockd/query/qsandbox.c). The locked-down
# query process spawns nothing: its alerts go to dockd over the channel
# (QM_ALERT), which runs the alert command itself; the console's court
# package is built through the launcher forked before the lock-down
# (dockd/query/qlaunch.h; the package itself: dockd_query_proc.sh).
# build/tests/dockd_attack is dockd whose query process, once locked down,
# runs the attacker action named by QUERY_ATTACK (dockd/query/qattack.c):
# execve("/bin/sh"), ptrace of dockd, the ledger opened for writing, a
# write into the ledger's -wal through SQLite's read-write descriptor, a
# TCP socket connected out, anonymous memory mapped executable. Only the
# first process attacks (it removes $QUERY_ATTACK_ONCE). Each attempt must
# kill it (SIGSYS: the call never returns); dockd records
# link_worker_killed (action 57) with process "query-service" and signal
# 31, raises a query-service alert, starts a new query process, which
# answers. Without the filter the calls return ("QUERY_ATTACK: done"): the
# test fails. The control: the configuration file opened for reading is
# allowed. The landlock ruleset (qsandbox_landlock): the dock key file,
# the checkpoint key file and a vault file opened for reading answer
# EACCES, the process lives on and answers (without the ruleset the opens
# succeed: the test fails). A uid with no /etc/passwd line (glibc loads
# libnss_systemd) is alerted by the same process, and SIGHUP after the
# configuration file was replaced starts a new query process that reads
# it (the old one's landlock rule names the old file's inode). And an alert of a kind the query service never
# raises ("custodian"), asked of dockd over the channel, is refused,
# logged and alerted as query-service.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
[ -x "$TBIN/dockd_attack" ] || { echo "1..0 # SKIP no $TBIN/dockd_attack (make tests)"; exit 0; }
mktmp
check "setup: keys, config, ledger" dk_init "$T/dk"
# the alert command records who ran it (its parent's pid)
cat >"$DK/alert.sh" <<EOA
#!/bin/sh
echo "\$* ppid=\$PPID" >>"$DK/alerts.log"
EOA
sed -i "/^socket = /a socket_mode = 0666" "$DK_CONF"
chmod 0711 "$T" "$DK"; chmod 0644 "$DK_CONF"
check "setup: the tester is an admin" "$CUSTODY" --config "$DK_CONF" user add "$(id -un)" \
	--role admin --agency "$DK_AGENCY" --reason "dockd test"

qpid() { # a running query process other than $1, with its filter on
	i=0
	while [ $i -lt 200 ]; do
		QP=$(pgrep -P "$DK_PID" -f -- "--query-service" | head -1)
		if [ -n "$QP" ] && [ "$QP" != "${1:-}" ] &&
			grep -q '^Seccomp:[[:space:]]*2' "/proc/$QP/status" 2>/dev/null; then
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
status_ok() {
	"$CUSTODY" --config "$DK_CONF" status --socket "$DK/query.sock" --json >"$T/st.json" 2>"$T/st.err" &&
		grep -q "\"dock_id\": *\"$DK_DOCK_ID\"" "$T/st.json"
}
died() {
	dk_sql "SELECT count(*) FROM events WHERE action = 57 AND \
json_extract(details,'\$.process') = 'query-service' AND json_extract(details,'\$.signal') = 31"
}
q_alerts() { c=$(grep -c query-service "$DK/alerts.log" 2>/dev/null); echo "${c:-0}"; }
tried() { # ACTION
	i=0
	until grep -q "QUERY_ATTACK: trying $1" "$DK_LOG"; do
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		sleep 0.1
	done
}
eventually() { i=0; until "$@"; do i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1; done; }

# a recording in the vault: a file the query process must not read
check "setup: camera CAM-1 with a recording" dk_camera CAM-1 1 30000

# --- the honest process: filtered, no children but the launcher ----------
check "dockd starts" dk_start
dock_stored() { dk_dock CAM-1 && dk_wait_stored CAM-1/REC-1; }
check "CAM-1 docks and REC-1 is stored" dock_stored || tail -20 "$DK_LOG" | sed 's/^/# /'
VAULT_FILE=$(dk_vault_file CAM-1 REC-1)
check "... its vault file is there" [ -f "$VAULT_FILE" ]
check "the query process runs under its seccomp filter" qpid
LP=$(pgrep -P "$QP" | head -1)
check "... its one child is the package launcher" [ -n "$LP" ] && [ "$(pgrep -P "$QP" | wc -l)" = 1 ]
check "... which runs with no_new_privs" grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/${LP:-0}/status"
check "... and holds no ledger file, no listening socket" sh -c \
	"ls -l /proc/$LP/fd/ >'$T/lfds' && ! grep -E 'custody.db|query.sock' '$T/lfds' && \
	 [ \$(ls /proc/$LP/fd | wc -l) -le 4 ]"
check "queries are answered under the filter" status_ok || cat "$T/st.err"
# an unmapped account: refused, and alerted by dockd, not the query process
n_unknown() { c=$(grep -c unknown-user "$DK/alerts.log" 2>/dev/null); echo "${c:-0}"; }
more_unknown() { [ "$(n_unknown)" -gt "$1" ]; }
a0=$(n_unknown)
runuser -u nobody -- "$CUSTODY" --config "$DK_CONF" status --socket "$DK/query.sock" >/dev/null 2>&1
check "an unmapped account's request is alerted (unknown-user)" eventually more_unknown "$a0"
check "... by a command dockd ran (QM_ALERT), not the query process" \
	sh -c "grep unknown-user '$DK/alerts.log' | tail -1 | grep -q 'ppid=$DK_PID\$'"
check "... which is still the same one (not killed)" [ -d "/proc/$QP" ]
# a uid with no account: glibc asks nsswitch's next module (loaded from
# /usr/lib through ld.so.cache, which landlock leaves readable)
a0=$(n_unknown)
setpriv --reuid=54321 --regid=54321 --clear-groups "$CUSTODY" --config "$DK_CONF" status \
	--socket "$DK/query.sock" >/dev/null 2>&1
check "a uid with no account: alerted (unknown-user)" eventually more_unknown "$a0"
check "... by the same process (not killed)" [ -d "/proc/$QP" ]
# SIGHUP after the configuration file was replaced (as an editor, sed -i
# or a package upgrade does: a new inode, out of the running process's
# landlock rule): a new query process reads it and answers; the old one
# is gone, and its stop is not recorded as a death
died_any() {
	dk_sql "SELECT count(*) FROM events WHERE action = 57 AND \
json_extract(details,'\$.process') = 'query-service'"
}
d0=$(died_any)
cp "$DK_CONF" "$T/conf.new" && mv "$T/conf.new" "$DK_CONF"
kill -HUP "$DK_PID"
reloaded() { grep -q "custody query service stopped for the reload" "$DK_LOG"; }
check "SIGHUP: the query process is replaced" eventually reloaded ||
	grep "query service" "$DK_LOG" | sed 's/^/# /'
new_answers() {
	np=$(grep -o 'custody query service started as process [0-9]*' "$DK_LOG" | tail -1 |
		awk '{print $NF}')
	[ -n "$np" ] && [ "$np" != "$QP" ] && [ ! -d "/proc/$QP" ] && status_ok
}
check "... by a new process, which answers" eventually new_answers
check "... no death recorded for the reload" [ "$(died_any)" = "$d0" ]
check "dockd stops" dk_stop

# --- the attacks: each kills the process; a new one answers ----------------
attack() { # ACTION ARG
	d0=$(died); a0=$(q_alerts)
	: >"$DK_LOG"
	: >"$T/once"
	QUERY_ATTACK=$1 QUERY_ATTACK_ARG=$2 QUERY_ATTACK_ONCE=$T/once \
		DOCKD=$TBIN/dockd_attack dk_start || return 1
	tried "$1" || return 1
	qpid "$(grep -o 'custody query service started as process [0-9]*' "$DK_LOG" | head -1 | awk '{print $NF}')"
}
for a in exec ptrace ledger walwrite connect jit; do
	case $a in
	ptrace) arg=dockd ;;	# its parent (qattack.c)
	ledger) arg=$DK_DB ;;
	walwrite) arg=$(readlink -f "$DK_DB")-wal ;;
	connect) arg=9 ;;	# discard: nothing need listen
	*) arg= ;;
	esac
	check "$a: the attacker tried, a new query process came back" attack $a "$arg"
	[ $a = walwrite ] && check "... it had found SQLite's read-write -wal descriptor" \
		grep -q "QUERY_ATTACK: found the -wal descriptor" "$DK_LOG"
	check "... the attempt never returned" sh -c "! grep -q 'QUERY_ATTACK: done' '$DK_LOG'" ||
		grep QUERY_ATTACK "$DK_LOG" | sed 's/^/# /'
	check "... dockd logged it (SIGSYS)" grep -q "custody query service stopped.*killed by signal 31" "$DK_LOG"
	check "... recorded: link_worker_killed, process query-service, signal 31" \
		[ "$(died)" = $((d0 + 1)) ]
	check "... alerted (query-service)" [ "$(q_alerts)" -gt "$a0" ]
	check "... the new one answers" status_ok
	check "... dockd_attack stops" dk_stop
done

# the control: reading a file is allowed, the process lives on
: >"$DK_LOG"; : >"$T/once"
d0=$(died)
QUERY_ATTACK=read QUERY_ATTACK_ARG=$DK_CONF QUERY_ATTACK_ONCE=$T/once DOCKD=$TBIN/dockd_attack dk_start
check "control: a read-only open in the locked-down process" \
	eventually grep -q "QUERY_ATTACK: opened $DK_CONF" "$DK_LOG"
check "... returns, and the process lives on" eventually grep -q "QUERY_ATTACK: done" "$DK_LOG"
check "... no death recorded" [ "$(died)" = "$d0" ]
check "... it answers" status_ok
check "dockd_attack stops" dk_stop
# landlock: the uid is dockd's, yet the keys and the vault are out of reach
# (EACCES); the process lives on and answers
lived_on() { grep -q "QUERY_ATTACK: done" "$DK_LOG" && [ "$(died)" = "$1" ]; }
for f in "$DK/state/dock.key" "$DK/state/ckpt.key" "$VAULT_FILE"; do
	: >"$DK_LOG"; : >"$T/once"
	d0=$(died)
	QUERY_ATTACK=read QUERY_ATTACK_ARG=$f QUERY_ATTACK_ONCE=$T/once DOCKD=$TBIN/dockd_attack dk_start
	check "landlock: reading ${f#"$DK"/} is refused (EACCES)" \
		eventually grep -q "QUERY_ATTACK: not opened: $f: Permission denied" "$DK_LOG" ||
		grep QUERY_ATTACK "$DK_LOG" | sed 's/^/# /'
	check "... the process lives on (no death recorded)" lived_on "$d0"
	check "... it answers" status_ok
	check "dockd_attack stops" dk_stop
done
# an alert of a kind the query service never raises: refused by dockd
: >"$DK_LOG"; : >"$T/once"
a0=$(q_alerts)
QUERY_ATTACK=alertkind QUERY_ATTACK_ONCE=$T/once DOCKD=$TBIN/dockd_attack dk_start
check "a forged 'custodian' alert over the channel is refused" \
	eventually grep -q "QUERY_ATTACK: alert refused custodian" "$DK_LOG"
check "... no custodian alert was raised" sh -c "! grep -q '^custodian ' '$DK/alerts.log'"
check "... dockd logged and alerted the attempt (query-service)" sh -c \
	"grep -q 'asked to raise an alert of kind custodian' '$DK_LOG' && [ \$(grep -c query-service '$DK/alerts.log') -gt $a0 ]"
check "... the service still answers" status_ok
check "dockd_attack stops" dk_stop
check "the ledger verifies after every attempt" dk_verify || cat "$DK/verify.out"
done_testing
