#!/bin/sh
# Issue 12, metadata edits as events by role (docs/retention.md):
#  A. dockd: a camera's "Homicide" is the table's "homicide" (was: 60-day
#     fallback); an unknown "dui" is recorded as unknown with its raw name
#     and alerted (was: silently 60 days).
#  B. the query service and `custody categorize|case|hold|annotate`: each
#     edit an event by the person, retention recomputed (retention_set /
#     retention_extended), role and reason checks recorded, `custody
#     verify` replays the edits and finds a derived record changed
#     without an event. Needs root and runuser (real OS users, SO_PEERCRED).
# Against main 492890f's binaries these fail: the Homicide and dui checks,
# "supervisor recategorizes ... through 'custody remote'" (the service said
# 'unknown key "category"'), "supervisor sets a legal hold" (`custody
# hold`: unknown command), and every case / annotate / release check.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1; then
	skip "metadata edits by role" "needs root and runuser"
	done_testing
fi
mktmp
chmod 0755 "$T"
CREATED=""
SERVE_PID=""
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	for u in $CREATED; do userdel "$u" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
test_users CLERK:dockt-mclerk:daemon SUP:dockt-msup:bin
# Action numbers are part of the ledger format (custody/event.h).
A_CAT=14; A_RSET=15; A_REXT=16; A_HSET=17; A_HCLR=18; A_DENIED=22
A_CASEA=25; A_CASEU=26; A_ANN=27

# --- A. camera categories at ingest ---------------------------------------
DK_EXTRA_RETENTION="homicide = indefinite
with_case = 5y"
check "dock, keys" dk_init "$T/dk"
check "camera CAM-1: Homicide, dui, patrol" dk_camera_cats CAM-1 20000 Homicide dui patrol
check "dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd --exit-when-idle exits 0" [ $rc -eq 0 ]
det() { dk_sql "SELECT details FROM events WHERE evidence_id='$1' AND action=$2 ORDER BY seq DESC LIMIT 1"; }
jget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"; }
DET=$(det CAM-1/REC-1 $A_CAT)
check "'Homicide' is the table's homicide (categorized)" [ "$(jget "$DET" category)" = homicide ]
check "... the camera's spelling is kept (raw)" [ "$(jget "$DET" raw)" = Homicide ]
check "... kept indefinitely, not the 60-day fallback" \
	[ "$(dk_sql "SELECT retention_until FROM evidence WHERE evidence_id='CAM-1/REC-1'")" = indefinite ]
DET=$(det CAM-1/REC-2 $A_CAT)
check "'dui' (not in the table) is recorded as unknown" [ "$(jget "$DET" unknown)" = true ]
check "... with its raw name" [ "$(jget "$DET" raw)" = dui ]
check "... and the explicit default category" [ "$(jget "$DET" category)" = uncategorized ]
check "... and an alert was raised" grep -q "unknown-category" "$DK/alerts.log"
DET=$(det CAM-1/REC-3 $A_CAT)
check "a known category is not flagged" [ -z "$(jget "$DET" unknown)" ]
DET=$(det CAM-1/REC-3 $A_RSET)
TNS=$(dk_sql "SELECT time_ns FROM events WHERE evidence_id='CAM-1/REC-3' AND action=5")
want=$(python3 -c 'import sys,time; t=int(sys.argv[1]); print(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + ".%09dZ" % (t % 10**9))' "$TNS")
check "retention counts from the ingested event ('from')" [ "$(jget "$DET" from)" = "$want" ]

# --- B. edits through the query service -----------------------------------
C="$CUSTODY"
CONF="$DK_CONF"
SOCK="$DK/query.sock"
chmod 0755 "$DK" "$DK/state" 2>/dev/null
cat >>"$CONF" <<EOF
socket_mode = 0666

[alert]
command = $T/qalert.sh
EOF
printf '#!/bin/sh\necho "kind=$CUSTODY_ALERT_KIND user=$CUSTODY_ALERT_USER" >>"%s"\n' "$T/qalerts.log" >"$T/qalert.sh"
chmod 0755 "$T/qalert.sh"
q() { dk_sql "$1"; }
quiet() { "$@" >/dev/null 2>&1; }
eventually_grep() { n=0; until grep -q "$1" "$2" 2>/dev/null; do n=$((n + 1)); [ $n -ge 100 ] && return 1; sleep 0.1; done; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
check "supervisor added" quiet "$C" --config "$CONF" user add "$SUP" --role supervisor --agency "$DK_AGENCY"
check "clerk added" quiet "$C" --config "$CONF" user add "$CLERK" --role clerk --agency "$DK_AGENCY"
"$C" --config "$CONF" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "query service listening" test -S "$SOCK"
E=CAM-1/REC-3
n_ev() { q "SELECT count(*) FROM events WHERE evidence_id='$E' AND action=$1 AND outcome=${2:-1}"; }
rec() { q "SELECT $1 FROM evidence WHERE evidence_id='$E'"; }

# roles: deny by default, recorded (and alerted)
check_fails "a clerk may not set a legal hold" \
	as "$CLERK" "$C" --config "$CONF" hold set "$E" --reason "litigation 7"
check "... recorded as access_denied deny-role" \
	[ "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND actor_id='$CLERK' AND evidence_id='$E' AND details LIKE '%deny-role%'")" = 1 ]
check "... and alerted" eventually_grep "user=$CLERK" "$T/qalerts.log"
check_fails "a clerk may not categorize" \
	as "$CLERK" "$C" --config "$CONF" categorize "$E" homicide --reason "x"
check_fails "a supervisor's hold without a reason is refused" \
	as "$SUP" "$C" --config "$CONF" hold set "$E"
check "... recorded as a usage error (logon, error), not a denial (issue 15)" \
	[ "$(q "SELECT count(*) FROM events WHERE action=40 AND outcome=4 AND actor_id='$SUP' AND details LIKE '%a reason is required%'")" = 1 ] && \
	[ "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND actor_id='$SUP'")" = 0 ]
check "nothing changed: no hold" [ "$(rec legal_hold)" = 0 ]
"$C" --config "$CONF" append --agency pd-other --action docked --actor-kind dock \
	--actor-id d2 --evidence EV-OTHER >/dev/null 2>&1
check_fails "a supervisor may not hold another agency's item" \
	as "$SUP" "$C" --config "$CONF" hold set EV-OTHER --reason "x"
check "... recorded as deny-agency" \
	[ "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND actor_id='$SUP' AND details LIKE '%deny-agency%'")" = 1 ]
check_fails "a case number with a control character is refused" \
	as "$CLERK" "$C" --config "$CONF" case assign "$E" "$(printf 'A\tB')" --reason "x"
check "... recorded as a failed case_assigned" [ "$(n_ev $A_CASEA 2)" = 1 ]

# categorize (the old service said: unknown key "category")
out=$(as "$SUP" "$C" --config "$CONF" remote categorize --item "$E" --category Homicide --reason "reviewed footage" 2>&1)
check "supervisor recategorizes patrol -> Homicide through 'custody remote'" [ $? -eq 0 ]
echo "$out" | sed 's/^/#   /'
check "... categorized event by the supervisor, old and new" \
	[ "$(q "SELECT count(*) FROM events WHERE evidence_id='$E' AND action=$A_CAT AND actor_id='$SUP' AND reason='reviewed footage' AND details LIKE '%\"category\":\"homicide\"%' AND details LIKE '%\"previous\":\"patrol\"%'")" = 1 ]
check "... retention_extended to indefinite" [ "$(n_ev $A_REXT)" = 1 ] && [ "$(rec retention_until)" = indefinite ]
check_fails "an unknown category is refused for a supervisor" \
	as "$SUP" "$C" --config "$CONF" categorize "$E" dui --reason "typo"
check "... recorded as a failed categorized event" [ "$(n_ev $A_CAT 2)" = 1 ]
check "supervisor categorizes back to patrol" \
	quiet as "$SUP" "$C" --config "$CONF" categorize "$E" PATROL --reason "not a homicide"
check "... retention_set back to a date (shortened: its own event)" [ "$(n_ev $A_RSET)" = 2 ]
D90=$(rec retention_until)
check "... 90 days, as at ingest" [ "$D90" = "$(q "SELECT json_extract(details,'\$.until') FROM events WHERE evidence_id='$E' AND action=$A_RSET ORDER BY seq LIMIT 1")" ]

# cases: any printable text, commas included; several per item
CASE1="2024-118, People v. Doe"
check "a clerk assigns a case with a comma" \
	quiet as "$CLERK" "$C" --config "$CONF" case assign "$E" "$CASE1" --reason "DA request"
check "... case_assigned, case number intact" \
	[ "$(q "SELECT case_no FROM events WHERE evidence_id='$E' AND action=$A_CASEA AND outcome=1 ORDER BY seq LIMIT 1")" = "$CASE1" ]
check "... the case index lists it" \
	[ "$(q "SELECT case_no FROM evidence_cases WHERE evidence_id='$E'")" = "$CASE1" ]
check "... retention extended by with_case (5y)" [ "$(n_ev $A_REXT)" = 2 ] && \
	[ "$(q "SELECT json_extract(details,'\$.basis') FROM events WHERE evidence_id='$E' AND action=$A_REXT ORDER BY seq DESC LIMIT 1")" = case ]
check "a second case" quiet as "$CLERK" "$C" --config "$CONF" case assign "$E" "B-7" --reason "DA request"
check_fails "the same case twice is refused" \
	as "$CLERK" "$C" --config "$CONF" case assign "$E" "B-7" --reason "again"
check "search by case finds the item" sh -c \
	"'$C' --config '$CONF' search --case '$CASE1' --json | grep -q '$E'"
check "unassign the first case" \
	quiet as "$CLERK" "$C" --config "$CONF" case unassign "$E" "$CASE1" --reason "dropped"
check "... case_unassigned; index and record keep only B-7" \
	[ "$(n_ev $A_CASEU)" = 1 ] && [ "$(q "SELECT group_concat(case_no) FROM evidence_cases WHERE evidence_id='$E'")" = B-7 ] && \
	[ "$(rec cases)" = B-7 ]
check "unassign the last case: retention back to 90 days" \
	quiet as "$CLERK" "$C" --config "$CONF" case unassign "$E" B-7 --reason "closed"
check "... retention_set to the category's date again" [ "$(rec retention_until)" = "$D90" ]

# legal hold (the old CLI said: unknown command)
check "supervisor sets a legal hold with a reason" \
	quiet as "$SUP" "$C" --config "$CONF" hold set "$E" --reason "litigation hold 2024-77"
check "... hold_set by the supervisor, reason kept" \
	[ "$(q "SELECT reason FROM events WHERE evidence_id='$E' AND action=$A_HSET AND outcome=1")" = "litigation hold 2024-77" ]
check "... the record says held, retention indefinite" [ "$(rec legal_hold)" = 1 ] && [ "$(rec retention_until)" = indefinite ]
check_fails "a second hold is refused" as "$SUP" "$C" --config "$CONF" hold set "$E" --reason "again"
check "a clerk annotates the title" \
	quiet as "$CLERK" "$C" --config "$CONF" annotate "$E" --title "Stop on Main St, 2nd" --reason "indexing"
check "... annotated {field, value}" \
	[ "$(q "SELECT json_extract(details,'\$.value') FROM events WHERE evidence_id='$E' AND action=$A_ANN AND json_extract(details,'\$.field')='title'")" = "Stop on Main St, 2nd" ]
check "verify replays the edits: clean" quiet "$C" --config "$CONF" verify
check "supervisor releases the hold" \
	quiet as "$SUP" "$C" --config "$CONF" hold release "$E" --reason "litigation ended"
check "... hold_cleared; retention back to its date" \
	[ "$(n_ev $A_HCLR)" = 1 ] && [ "$(rec legal_hold)" = 0 ] && [ "$(rec retention_until)" = "$D90" ]
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""
check "custody verify is clean after all edits" quiet "$C" --config "$CONF" verify

# a derived record changed without an event is a finding
sqlite3 "$DK_DB" "UPDATE evidence SET legal_hold = 1 WHERE evidence_id='$E'"
"$C" --config "$CONF" verify >"$T/v1.out" 2>&1; rc=$?
check "an UPDATE of legal_hold without a hold_set event fails verify" [ $rc -ne 0 ]
check "... the finding names legal_hold" grep -q legal_hold "$T/v1.out"
sqlite3 "$DK_DB" "UPDATE evidence SET legal_hold = 0, cases = 'X-1' WHERE evidence_id='$E'"
"$C" --config "$CONF" verify >"$T/v2.out" 2>&1; rc=$?
check "a case added to the record without an event fails verify" [ $rc -ne 0 ]
sqlite3 "$DK_DB" "UPDATE evidence SET cases = NULL WHERE evidence_id='$E'"
check "restored: verify clean again" quiet "$C" --config "$CONF" verify
done_testing
