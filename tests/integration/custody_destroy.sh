#!/bin/sh
# Issue 12, retention engine and two-person destruction (docs/retention.md
# "Destruction"), file:// storage target, dockd's query socket:
#  - `custody due` lists items past their retention date, not under hold;
#  - refused and recorded: under hold, not yet due, before the statutory
#    minimum (table changed since the date was computed), approval without
#    a request, approval by the requester (same person twice);
#  - `--dry-run` shows what would be deleted where and records nothing but
#    a ledger_read;
#  - a two-person destruction: dockd deletes the vault file and the
#    file:// copy and records `destroyed` with the copies and hashes;
#  - the ledger is the hand-over: a destruction approved through `custody
#    serve` while dockd is down is carried out by dockd at its next start,
#    which refuses it (failed `destroyed`, alert, copies kept) because a
#    hold was set after the approval;
#  - `custody verify` replays it all and passes.
# Against the binaries of 8631943 (before this change) `custody due` /
# `custody destroy` are unknown commands: every check that needs them fails
# (25 of the first 53 checks, measured before the hand-over part was
# added). Needs root and runuser.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1; then
	skip "two-person destruction" "needs root and runuser"
	done_testing
fi
mktmp
chmod 0755 "$T"
CREATED=""
SERVE_PID=""
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	dk_stop >/dev/null 2>&1
	for u in $CREATED; do userdel "$u" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
test_users SUP1:dockt-dsup1:daemon SUP2:dockt-dsup2:bin
# Action numbers are part of the ledger format (custody/event.h).
A_DESTROYED=23; A_REQ=30; A_APPR=31; A_READ=42
C="$BIN/custody"
# "scratch" is due at once (0 days, no minimum): no faked time needed.
DK_EXTRA_RETENTION="scratch = 0d"
check "dock, keys" dk_init "$T/dk"
CONF="$DK_CONF"
sed -i 's|^\[query\]|[query]\nsocket_mode = 0666|' "$CONF"
printf '\n[alert]\ncommand = %s\n' "$DK/alert.sh" >>"$CONF"
chmod 0755 "$DK" "$DK/state"
check "camera: scratch x3, patrol" dk_camera_cats CAM-1 20000 scratch scratch scratch patrol
check "dockd starts" dk_start
check "docking" dk_dock CAM-1
for i in 1 2 3 4; do
	check "CAM-1/REC-$i verified in storage" dk_wait_stored CAM-1/REC-$i
done
q() { dk_sql "$1"; }
quiet() { "$@" >/dev/null 2>&1; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
n_ev() { q "SELECT count(*) FROM events WHERE evidence_id='$1' AND action=$2 AND outcome=${3:-1}"; }
check "supervisor 1" quiet "$C" --config "$CONF" user add "$SUP1" --role supervisor --agency "$DK_AGENCY"
check "supervisor 2" quiet "$C" --config "$CONF" user add "$SUP2" --role supervisor --agency "$DK_AGENCY"

# --- due -------------------------------------------------------------------
as "$SUP1" "$C" --config "$CONF" due --json >"$T/due.json" 2>&1
check "custody due answers" [ $? -eq 0 ]
check "... lists the three scratch items" sh -c "grep -c '\"CAM-1/REC-[123]\"' '$T/due.json' | grep -qx 3"
check "... not the 90-day patrol item" sh -c "! grep -q 'CAM-1/REC-4' '$T/due.json'"
check "... recorded as ledger_read" [ "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND actor_id='$SUP1' AND details LIKE '%\"op\":\"due\"%'")" = 1 ]
check "hold on REC-2" quiet as "$SUP1" "$C" --config "$CONF" hold set CAM-1/REC-2 --reason "litigation 9"
as "$SUP1" "$C" --config "$CONF" due --json >"$T/due2.json" 2>&1
check "... a held item is not due" sh -c "! grep -q 'CAM-1/REC-2' '$T/due2.json'"

# --- refusals ----------------------------------------------------------------
A0=$(dk_alerts)
check_fails "destruction of a held item is refused" \
	as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-2 --reason "expired"
check "... recorded (destruction_requested denied)" [ "$(n_ev CAM-1/REC-2 $A_REQ 3)" = 1 ]
check_fails "destruction before the retention date is refused" \
	as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-4 --reason "expired"
check "... recorded" [ "$(n_ev CAM-1/REC-4 $A_REQ 3)" = 1 ]
check "... with the date as the reason" [ "$(q "SELECT count(*) FROM events WHERE action=$A_REQ AND outcome=3 AND details LIKE '%retention runs until%'")" = 1 ]
check_fails "approval without a request is refused" \
	as "$SUP2" "$C" --config "$CONF" destroy approve CAM-1/REC-1 --reason "ok"
check "... recorded (destruction_approved denied)" [ "$(n_ev CAM-1/REC-1 $A_APPR 3)" = 1 ]
check_fails "a request without a reason is refused" \
	as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-1

# --- dry run -----------------------------------------------------------------
VAULT1=$(q "SELECT json_extract(details,'\$.path') FROM events WHERE evidence_id='CAM-1/REC-1' AND action=8")
STORE1=$(q "SELECT json_extract(details,'\$.location') FROM events WHERE evidence_id='CAM-1/REC-1' AND action=10")
STORE1=${STORE1#file://}
check "the vault and file:// copies exist" [ -f "$VAULT1" ] && [ -f "$STORE1" ]
NR=$(q "SELECT count(*) FROM events")
as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-1 --reason "retention expired" --dry-run >"$T/plan.out" 2>&1
check "--dry-run answers" [ $? -eq 0 ]
sed 's/^/#   /' "$T/plan.out"
check "... names the vault file" grep -qF "$VAULT1" "$T/plan.out"
check "... names the file:// copy" grep -qF "$STORE1" "$T/plan.out"
check "... records only a ledger_read" [ "$(q "SELECT group_concat(action) FROM events WHERE seq > $NR")" = $A_READ ] && \
	[ "$(n_ev CAM-1/REC-1 $A_REQ)" = 0 ]

# --- two-person rule -----------------------------------------------------------
check "supervisor 1 requests REC-1's destruction" \
	quiet as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-1 --reason "retention expired"
check "... destruction_requested by supervisor 1 with the plan" \
	[ "$(q "SELECT count(*) FROM events WHERE evidence_id='CAM-1/REC-1' AND action=$A_REQ AND outcome=1 AND actor_id='$SUP1' AND details LIKE '%\"where\":\"vault\"%'")" = 1 ]
check_fails "a second request is refused" \
	as "$SUP2" "$C" --config "$CONF" destroy request CAM-1/REC-1 --reason "again"
check_fails "the requester may not approve (single person)" \
	as "$SUP1" "$C" --config "$CONF" destroy approve CAM-1/REC-1 --reason "mine"
check "... recorded as a denied destruction_approved" [ "$(n_ev CAM-1/REC-1 $A_APPR 3)" = 2 ]
check_fails "... nor approve twice (same person twice)" \
	as "$SUP1" "$C" --config "$CONF" destroy approve CAM-1/REC-1 --reason "mine again"
check "... each attempt recorded" [ "$(n_ev CAM-1/REC-1 $A_APPR 3)" = 3 ]
i=0; while [ "$(dk_alerts)" -lt $((A0 + 5)) ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "policy refusals alerted (hold, not due, no request, same person x2)" [ "$(dk_alerts)" -ge $((A0 + 5)) ]
check "nothing deleted yet" [ -f "$VAULT1" ] && [ -f "$STORE1" ] && [ "$(n_ev CAM-1/REC-1 $A_DESTROYED)" = 0 ]
check "supervisor 2 approves" \
	quiet as "$SUP2" "$C" --config "$CONF" destroy approve CAM-1/REC-1 --reason "checked"
check "... destruction_approved by supervisor 2" \
	[ "$(q "SELECT count(*) FROM events WHERE evidence_id='CAM-1/REC-1' AND action=$A_APPR AND outcome=1 AND actor_id='$SUP2' AND json_extract(details,'\$.requested_by')='$SUP1'")" = 1 ]
i=0; while [ "$(n_ev CAM-1/REC-1 $A_DESTROYED)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "dockd carries it out: destroyed (ok)" [ "$(n_ev CAM-1/REC-1 $A_DESTROYED)" = 1 ]
DET=$(q "SELECT details FROM events WHERE evidence_id='CAM-1/REC-1' AND action=$A_DESTROYED")
echo "# destroyed: $DET"
check "... the vault file is gone" [ ! -e "$VAULT1" ]
check "... the file:// copy is gone" [ ! -e "$STORE1" ]
check "... the other items' copies remain" [ "$(find "$DK/store" -name '*.bcde' | wc -l)" = 3 ] && \
	[ "$(find "$DK_VAULT" -name '*.bcde' | wc -l)" -ge 3 ]
check "... details: both copies deleted, hashes kept" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); c=d["copies"]
assert {x["where"] for x in c}=={"vault","storage"} and all(x["result"]=="deleted" for x in c)
assert len(d["sha256"])==64 and len(d["ct_sha256"])==64 and d["approved_by"]==sys.argv[2] and d["requested_by"]==sys.argv[3]' "$DET" "$SUP2" "$SUP1"
check "... the record says destroyed" [ "$(q "SELECT status || local_copy FROM evidence WHERE evidence_id='CAM-1/REC-1'")" = destroyed0 ]
check "... the ledger keeps its hash" [ "$(q "SELECT length(sha256) FROM evidence WHERE evidence_id='CAM-1/REC-1'")" = 64 ]
check_fails "a destroyed item cannot be requested again" \
	as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-1 --reason "again"

# --- the hand-over: approved through `custody serve`, carried out by dockd ------
# A hold set between the approval and dockd's turn stops the destruction.
VAULT3=$(q "SELECT json_extract(details,'\$.path') FROM events WHERE evidence_id='CAM-1/REC-3' AND action=8")
check "dockd stops" dk_stop
"$C" --config "$CONF" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$DK/query.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "custody serve listening" test -S "$DK/query.sock"
check "REC-3: request and approval through custody serve" \
	quiet as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-3 --reason "expired"
check "... approved by supervisor 2" \
	quiet as "$SUP2" "$C" --config "$CONF" destroy approve CAM-1/REC-3 --reason "ok"
check "... then a hold" quiet as "$SUP1" "$C" --config "$CONF" hold set CAM-1/REC-3 --reason "new complaint"
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""
check "no destruction without dockd" [ "$(q "SELECT count(*) FROM events WHERE evidence_id='CAM-1/REC-3' AND action=$A_DESTROYED")" = 0 ]
check "dockd starts again" dk_start
i=0; while [ "$(n_ev CAM-1/REC-3 $A_DESTROYED 2)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "dockd refuses the held item: destroyed (failed)" [ "$(n_ev CAM-1/REC-3 $A_DESTROYED 2)" = 1 ]
check "... naming the hold" [ "$(q "SELECT count(*) FROM events WHERE evidence_id='CAM-1/REC-3' AND action=$A_DESTROYED AND details LIKE '%legal hold%'")" = 1 ]
check "... alerted (destruction-failed)" grep -q "destruction-failed" "$DK/alerts.log"
check "... REC-3's copies remain" [ -f "$VAULT3" ] && [ "$(find "$DK/store" -name 'REC-3.bcde' | wc -l)" = 1 ]
check "hold released on REC-3 (due again)" quiet as "$SUP1" "$C" --config "$CONF" hold release CAM-1/REC-3 --reason "complaint closed"

# --- statutory minimum: the table changed after the date was computed ------------
sed -i 's/^scratch = 0d$/scratch = 30d\nscratch.min = 30d/' "$CONF"
kill -HUP "$DK_PID"
i=0; until grep -q "config_changed recorded (SIGHUP)" "$DK_LOG" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
check_fails "before the statutory minimum: refused" \
	as "$SUP1" "$C" --config "$CONF" destroy request CAM-1/REC-3 --reason "expired"
check "... recorded with the minimum as the reason" \
	[ "$(q "SELECT count(*) FROM events WHERE evidence_id='CAM-1/REC-3' AND action=$A_REQ AND outcome=3 AND details LIKE '%statutory minimum%'")" = 1 ]
check "REC-3's copies remain" [ "$(find "$DK/store" -name 'REC-3.bcde' | wc -l)" = 1 ]

check "dockd stops" dk_stop
check "custody verify passes (replays 30/31/23)" quiet "$C" --config "$CONF" verify
done_testing
