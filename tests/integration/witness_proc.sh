#!/bin/sh
# The witness client is a process of its own (issue 11; docs/architecture.md
# "The witness client"): with witnesses configured, the dockd process (which
# holds plaintext during ingest, the data keys and the ledger writer) holds
# no INET/INET6 socket at any moment of a run with cosigning, the witness
# client process does; killed, it is alerted and restarted and cosigning
# goes on; a hostile reply from it (a record of another version, an answer
# to another request) is refused with a clear error, the process is
# restarted, dockd does not crash.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
W1_PID= SAMP_PID= TARPIT_PID=
trap 'kill $(jobs -p) $W1_PID $TARPIT_PID $DK_PID 2>/dev/null; rm -rf "$T"' EXIT
C="$BIN/custody"
check "dock, agency and checkpoint keys" dk_init "$T/dk"
ORIGIN=dock.test/$DK_AGENCY
"$C" witness keygen --key "$T/w1.key" --vkey "$T/w1.vkey" --name w1.test/witness >/dev/null
"$C" witness --listen 127.0.0.1:0 --state "$T/w1" --key "$T/w1.key" --name w1.test/witness \
	--log "$ORIGIN $(cat "$DK/state/ckpt.vkey")" >"$T/w1.out" 2>"$T/w1.err" &
W1_PID=$!
i=0
until grep -q '^vkey ' "$T/w1.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.05
done
W1_PORT=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$T/w1.out")
check "a witness listens on loopback" [ -n "$W1_PORT" ]
# A second witness that accepts connections and never answers: whoever
# talks to the witnesses holds a connected TCP socket for timeout_s (2 s)
# in every round, so the sampler below cannot miss it.
"$C" witness keygen --key "$T/w2.key" --vkey "$T/w2.vkey" --name w2.test/witness >/dev/null
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$T/tarpit.port" &
TARPIT_PID=$!
wait_for() { # CMD...: bounded polling (10 s)
	i=0
	until "$@"; do i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1; done
}
check "a witness that never answers listens on loopback" wait_for test -s "$T/tarpit.port"
cat >>"$DK_CONF" <<EOC

[witness]
witness = http://127.0.0.1:$W1_PORT $(cat "$T/w1.vkey")
witness = http://127.0.0.1:$(cat "$T/tarpit.port") $(cat "$T/w2.vkey")
timeout_s = 2
retry_s = 1
EOC

# newest checkpoint cosigned by w1 (bounded wait): its size on stdout
cosigned() {
	i=0
	while [ $i -lt 150 ]; do
		n=$(dk_sql "SELECT max(size) FROM checkpoints")
		[ -n "$n" ] && [ "$n" -gt "${1:-0}" ] &&
			[ "$(dk_sql "SELECT count(*) FROM checkpoint_cosigs WHERE size = $n AND witness = 'w1.test/witness'")" = 1 ] &&
			{ echo "$n"; return 0; }
		i=$((i + 1)); sleep 0.1
	done
	return 1
}
# the witness client process, dockd's child
wpid() { pgrep -P "$DK_PID" -f -- '--witness-client' | head -1; }
# Sampler: every 5 ms, the INET/INET6 sockets (inodes of /proc/PID/net/
# tcp, tcp6, udp, udp6, raw, raw6) among the descriptors of dockd and of
# its witness client process(es), until $T/samp.stop exists.
sampler() {
	python3 - "$1" "$T/samp.stop" >"$T/samp.out" <<'EOP'
import os, sys, time
pid, stop = sys.argv[1], sys.argv[2]
def inet(p):
    s = set()
    for t in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        try:
            for l in open("/proc/%s/net/%s" % (p, t)).read().splitlines()[1:]:
                s.add(l.split()[9])
        except OSError:
            pass
    return s
def socks(p):
    r = set()
    try:
        for f in os.listdir("/proc/%s/fd" % p):
            try:
                l = os.readlink("/proc/%s/fd/%s" % (p, f))
            except OSError:
                continue
            if l.startswith("socket:["):
                r.add(l[8:-1])
    except OSError:
        pass
    return r
def children(p):
    out = []
    for k in os.listdir("/proc"):
        if not k.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % k).read()
            if st[st.rindex(")") + 2:].split()[1] != p:
                continue
            if b"--witness-client" in open("/proc/%s/cmdline" % k, "rb").read():
                out.append(k)
        except (OSError, ValueError, IndexError):
            pass
    return out
n = dk = wk = 0
wpids = set()
kids = []
while not os.path.exists(stop):
    n += 1
    if socks(pid) & inet(pid):
        dk += 1
    if n % 20 == 1 or not kids:
        kids = children(pid)
    for w in kids:
        wpids.add(w)
        if socks(w) & inet(w):
            wk += 1
    time.sleep(0.005)
print("samples=%d dockd_inet=%d witness_inet=%d witness_pids=%d" % (n, dk, wk, len(wpids)))
EOP
}
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/samp.out"; }

# ---- a run with cosigning: the sockets are the witness process's ----------
dk_camera CAM-1 2 50000 || not_ok "camera CAM-1"
dk_camera CAM-2 1 40000 || not_ok "camera CAM-2"
check "dockd starts with a witness" dk_start
sampler "$DK_PID" &
SAMP_PID=$!
W=$(wpid)
check "dockd started its witness client process ($W)" [ -n "$W" ]
dk_dock CAM-1
N1=$(cosigned) || N1=0
check "checkpoint $N1 is cosigned" [ "$N1" -gt 0 ]

# ---- the witness client process killed -----------------------------------
if [ -n "$W" ]; then
	kill -KILL "$W"
	check "dockd logs the death of the witness client process" \
		wait_for grep -q "witness client process (pid $W) died" "$DK_LOG"
	check "and raises an alert" wait_for grep -qs "^witness-client .*pid $W" "$DK/alerts.log"
	check "a new witness client process runs" \
		wait_for sh -c "[ -n \"\$(pgrep -P $DK_PID -f -- --witness-client)\" ]"
	W2=$(wpid)
	check "it is another process ($W2, was $W)" [ -n "$W2" -a "$W2" != "$W" ]
	check "dockd logs the restart" wait_for grep -q "witness client process restarted (pid $W2" "$DK_LOG"
else
	not_ok "no witness client process to kill"
fi
dk_dock CAM-2
N2=$(cosigned "$N1") || N2=0
check "cosigning goes on: checkpoint $N2 > $N1 cosigned" [ "$N2" -gt "$N1" ]
check "dockd is still running" dk_alive
: >"$T/samp.stop"
wait "$SAMP_PID"
S=$(field samples)
check "sampled dockd and the witness process ($(cat "$T/samp.out"))" [ "${S:-0}" -ge 5 ]
check "the witness client process held an INET socket" [ "$(field witness_inet)" -gt 0 ]
check "dockd's own process never held an INET/INET6 socket" [ "$(field dockd_inet)" = 0 ]
check "dockd stops cleanly" dk_stop
check "no witness client process is left" [ -z "$(pgrep -f -- "--witness-client $DK_CONF")" ]

# ---- hostile replies from the witness client process ----------------------
# dockd_attack: its witness client process sends $WITNESS_ATTACK's reply
# instead of its first answer when $T/once exists (witw.h), test build only.
# (without the witness that never answers: each round is quick again)
sed -i "/:$(cat "$T/tarpit.port") /d" "$DK_CONF"
if [ -x "$TBIN/dockd_attack" ]; then
	N=$N2 k=2
	for a in version seq; do
		k=$((k + 1))
		dk_camera "CAM-$k" 1 30000 || not_ok "camera CAM-$k"
		: >"$T/once"
		: >"$DK/alerts.log"
		WITNESS_ATTACK=$a WITNESS_ATTACK_ONCE=$T/once DOCKD=$TBIN/dockd_attack dk_start
		if ! check "attack $a: the witness client process armed itself" \
			wait_for sh -c "[ ! -e '$T/once' ]"; then
			dk_stop
			continue
		fi
		dk_dock "CAM-$k"
		check "attack $a: it sent its hostile reply" \
			wait_for grep -q "WITNESS_ATTACK: $a\$" "$DK_LOG"
		W=$(sed -n "s/.*dockd\[\([0-9]*\)\] warning: WITNESS_ATTACK: $a\$/\1/p" "$DK_LOG")
		check "attack $a: dockd refuses the reply and says so (pid $W)" wait_for \
			grep -q "witness client process (pid $W) broke the channel protocol" "$DK_LOG"
		check "attack $a: alerted" wait_for grep -qs "^witness-client .*pid $W" "$DK/alerts.log"
		M=$(cosigned "$N") || M=0
		check "attack $a: the restarted process gets checkpoint $M cosigned" [ "$M" -gt "$N" ]
		W2=$(wpid)
		check "attack $a: it is another process ($W2)" [ -n "$W2" -a "$W2" != "$W" ]
		check "attack $a: dockd is still running" dk_alive
		check "attack $a: dockd stops cleanly" dk_stop
		N=$M
	done
	# a process taken over turns on dockd: ptrace, its memory, the ledger,
	# a signal (landlock; signals only with landlock ABI >= 6)
	dk_camera CAM-6 1 30000 || not_ok "camera CAM-6"
	: >"$T/once"
	WITNESS_ATTACK=escape WITNESS_ATTACK_ONCE=$T/once WITNESS_ATTACK_ARG=$DK_DB \
		DOCKD=$TBIN/dockd_attack dk_start
	dk_dock CAM-6
	if check "attack escape: the witness client process tried" \
		wait_for grep -q "WITNESS_ATTACK: escape" "$DK_LOG"; then
		L=$(grep "WITNESS_ATTACK: escape" "$DK_LOG")
		ABI=$(sed -n 's/.*witness client [0-9]* ready (landlock ABI \([0-9]*\)).*/\1/p' \
			"$DK_LOG" | tail -1)
		echo "# $L (landlock ABI $ABI)"
		for what in ptrace mem ledger; do
			case $L in *" $what=ALLOWED"*) not_ok "attack escape: $what allowed";;
				*) ok "attack escape: $what denied";; esac
		done
		if [ "${ABI:-0}" -ge 6 ]; then
			case $L in *" signal=ALLOWED"*) not_ok "attack escape: signal to dockd allowed";;
				*) ok "attack escape: signal to dockd denied";; esac
		else
			skip "attack escape: signal to dockd" "landlock ABI ${ABI:-0} < 6"
		fi
	fi
	M=$(cosigned "$N") || M=0
	check "attack escape: cosigning goes on ($M)" [ "$M" -gt "$N" ]
	check "attack escape: dockd stops cleanly" dk_stop
	check "custody verify accepts the ledger after the attacks" dk_verify
else
	skip "hostile replies" "no $TBIN/dockd_attack (make tests)"
fi
kill "$W1_PID" "$TARPIT_PID"; wait "$W1_PID" "$TARPIT_PID" 2>/dev/null; W1_PID= TARPIT_PID=
done_testing
