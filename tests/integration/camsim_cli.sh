#!/bin/sh
# camsim's command line and state directory: hostile arguments get a clear
# error (never a crash), state files have safe modes, and a release receipt
# survives restarts (the socket protocol itself is tests/unit/test_session.c).
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/camsim-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
C="$BIN/camsim"
tool="$TBIN/tools/dockpull"

mkdir "$T/dock"
check "dock test keys" "$tool" keys --dir "$T/dock"
pub=$("$C" init --dir "$T/cam" --serial CAM-1 --model "M 1" --officer o-1 \
	--agency-pub "$T/dock/agency.pub")
check "init prints the 32-byte public key in hex" \
	sh -c "printf %s '$pub' | grep -Eq '^[0-9a-f]{64}$'"
check "device key is 0600" sh -c "[ \$(stat -c %a '$T/cam/device.key') = 600 ]"
check_fails "init refuses to overwrite an existing device key" \
	"$C" init --dir "$T/cam" --serial CAM-1 --model M --officer o-1 \
	--agency-pub "$T/dock/agency.pub"
check_fails "init refuses a bad serial" \
	"$C" init --dir "$T/cam2" --serial 'bad serial!' --model M --officer o-1 \
	--agency-pub "$T/dock/agency.pub"
check_fails "init refuses a non-key agency file" \
	"$C" init --dir "$T/cam3" --serial C3 --model M --officer o-1 --agency-pub /etc/hostname
head -c 5000 /dev/urandom >"$T/r"
check "add a recording" "$C" add --dir "$T/cam" --id r-1 --file "$T/r" --category patrol \
	--start 100 --end 200 --gps -33.8688,151.2093
check_fails "add refuses a duplicate id" "$C" add --dir "$T/cam" --id r-1 --file "$T/r" \
	--category patrol
check_fails "add refuses a bad id" "$C" add --dir "$T/cam" --id ../x --file "$T/r" --category c
check_fails "add refuses end before start" "$C" add --dir "$T/cam" --id r-2 --file "$T/r" \
	--category c --start 200 --end 100
check_fails "add refuses gps out of range" "$C" add --dir "$T/cam" --id r-2 --file "$T/r" \
	--category c --gps 91,0
check_fails "add refuses a missing file" "$C" add --dir "$T/cam" --id r-2 \
	--file "$T/nope" --category c
check_fails "serve refuses an unknown fault" "$C" serve --dir "$T/cam" --fd 0 --bogus 1
check_fails "serve refuses a bad fault value" "$C" serve --dir "$T/cam" --fd 0 --stall x
check_fails "serve refuses a non-socket fd" "$C" serve --dir "$T/cam" --fd 0
check_fails "serve fails cleanly without a dock" "$C" serve --dir "$T/cam" \
	--connect "$T/nobody.sock"
check_fails "unknown command" "$C" frobnicate
sha=$(sha256sum "$T/r" | cut -d' ' -f1)
check "list shows the cached sha256" sh -c "'$C' list --dir '$T/cam' | grep -q 'r-1 5000 $sha'"

# A pull through the socket with the enrolled key; wrong enrolment refused.
"$tool" pull --dir "$T/dock" --listen "$T/d.sock" --id r-1 --out "$T/out" \
	--enrolled "$pub" >"$T/pull.log" 2>&1 &
p=$!
i=0; while [ ! -S "$T/d.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "socket mode is 0660" sh -c "[ \$(stat -c %a '$T/d.sock') = 660 ]"
"$C" serve --dir "$T/cam" --connect "$T/d.sock"
check "camsim serve exits 0 after BYE" [ $? -eq 0 ]
check "dockpull verified the pull" wait $p
check "pulled bytes are identical" cmp -s "$T/r" "$T/out"

other=$(printf '%064d' 0)
"$tool" pull --dir "$T/dock" --listen "$T/d.sock" --id r-1 --out "$T/out2" \
	--enrolled "$other" >"$T/pull2.log" 2>&1 &
p=$!
i=0; while [ ! -S "$T/d.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$C" serve --dir "$T/cam" --connect "$T/d.sock" 2>"$T/serve2.log"
check "camsim exits 3 when the dock refuses it" [ $? -eq 3 ]
check_fails "dockpull refuses an unenrolled camera" wait $p
check "the camera was told why" grep -q "not enrolled" "$T/serve2.log"
done_testing
