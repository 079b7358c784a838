#!/bin/sh
# A defense expert's read-only copy of the ledger: the file and its
# directory are not writable (read-only media), so SQLite cannot create the
# -shm file WAL mode needs. `custody` must still read and verify it (the
# immutable=1 fallback, writing nothing), and must REFUSE - not show a
# shorter ledger - when a non-empty -wal file holds events that immutable
# mode would ignore.
#
# The directory is made 0555. root ignores permissions, so as root the
# commands run as `nobody` via runuser (skipped if that is unavailable).
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
if [ "$(id -u)" -eq 0 ]; then
	if command -v runuser >/dev/null 2>&1 && runuser -u nobody -- true 2>/dev/null; then
		as() { runuser -u nobody -- "$@"; }
	else
		skip "read-only copy tests" "root without runuser/nobody"
		done_testing
	fi
else
	as() { "$@"; }
fi
chmod 0755 "$T"
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
chmod 0644 "$T/ck.vkey"
mkdir -p "$T/live/ext"
cat >"$T/live/c.ini" <<EOC
[ledger]
path = $T/live/l.db
agency_id = pd-test
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $T/live/ext
EOC
"$C" --config "$T/live/c.ini" demo-fill 6 --per-session 3 >/dev/null
n=$(sqlite3 "$T/live/l.db" "SELECT count(*) FROM events")
id=EV-00000002

# ro DIR: make DIR and its files read-only for everyone
ro() { chmod 0444 "$1"/* 2>/dev/null; chmod 0555 "$1"/ext 2>/dev/null; chmod 0555 "$1"; }

# 1. a clean copy (the ledger was closed: no -wal)
mkdir -p "$T/copy"
cp "$T/live/l.db" "$T/copy/"; cp -r "$T/live/ext" "$T/copy/"
check "clean copy has no -wal file" [ ! -e "$T/copy/l.db-wal" ]
ro "$T/copy"
before=$(ls -a "$T/copy" | tr '\n' ' ')
out=$(as "$C" --db "$T/copy/l.db" history $id 2>&1); rc=$?
check "history of a copy in a read-only directory works" [ $rc -eq 0 ]
case $out in *docked*) ok "history shows the item's events";; *) not_ok "history: $out";; esac
out=$(as "$C" --db "$T/copy/l.db" verify --vkey "$T/ck.vkey" --external "$T/copy/ext" 2>&1); rc=$?
check "verify of the read-only copy is clean (exit $rc)" [ $rc -eq 0 ]
case $out in *"OK: $n events"*) ok "verify read all $n events";;
	*) not_ok "verify output"; printf '%s\n' "$out" | sed 's/^/# /' | tail -3;; esac
check "nothing was written next to the copy" [ "$(ls -a "$T/copy" | tr '\n' ' ')" = "$before" ]
out=$(as "$C" --db "$T/copy/l.db" append --action viewed --actor-kind clerk \
	--actor-id x --evidence $id --agency pd-test 2>&1); rc=$?
check "append to the read-only copy refused (exit $rc)" [ $rc -eq 2 ]
case $out in *read-only*) ok "refusal says read-only";; *) not_ok "append: $out";; esac

# 2. a copy taken while the dock had the ledger open: its newest events
#    are only in the -wal file
if command -v python3 >/dev/null 2>&1; then
	mkdir -p "$T/hot"
	python3 - "$C" "$T/live/l.db" "$T/hot" <<'PY'
import shutil, sqlite3, subprocess, sys
c, db, dst = sys.argv[1:]
hold = sqlite3.connect(db)               # keeps the WAL from being folded in
hold.execute("SELECT count(*) FROM events").fetchall()
subprocess.run([c, "--db", db, "append", "--action", "viewed", "--actor-kind", "clerk",
                "--actor-id", "late", "--evidence", "EV-00000002", "--agency", "pd-test"], check=True,
               stdout=subprocess.DEVNULL)
shutil.copy(db, dst + "/l.db")
shutil.copy(db + "-wal", dst + "/l.db-wal")
hold.close()
PY
	check "hot copy has a non-empty -wal file" [ -s "$T/hot/l.db-wal" ]
	ro "$T/hot"
	out=$(as "$C" --db "$T/hot/l.db" history $id 2>&1); rc=$?
	if [ $rc -eq 0 ]; then
		# SQLite managed to read the log: then it must show the late event
		case $out in *late*) ok "hot copy: WAL events shown";; *) not_ok "hot copy lost WAL events";; esac
	else
		check "hot copy without -shm refused (exit $rc, not a shorter ledger)" [ $rc -eq 2 ]
		case $out in *"write-ahead log"*"writable directory"*) ok "refusal explains what to do";;
			*) not_ok "message: $out";; esac
	fi
	# the same files in a writable directory: all events, including the late one
	mkdir -p "$T/fixed"; cp "$T/hot/l.db" "$T/hot/l.db-wal" "$T/fixed/"; chmod 0644 "$T/fixed"/*
	out=$("$C" --read-only --db "$T/fixed/l.db" history $id 2>&1)
	case $out in *late*) ok "copied to a writable directory: WAL events shown";;
		*) not_ok "writable copy: $out";; esac
else
	skip "hot copy" "no python3"
fi
chmod -R u+w "$T" 2>/dev/null
done_testing
