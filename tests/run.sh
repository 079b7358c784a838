#!/bin/sh
# Test runner. Usage: tests/run.sh BUILD_DIR [BUILD_DIR...]
#
# Every test program speaks TAP ("ok N - name" / "not ok N - name"):
#   - C unit tests (cmocka, CMOCKA_MESSAGE_OUTPUT=TAP): $B/tests/test_*
#   - shell tests: tests/integration/*.sh and tests/usb/*.sh (see tests/lib.sh)
# A program that exits non-zero without reporting a failure, or reports no
# test at all, counts as one failure. Full output of each program is kept in
# $B/test-logs/. The last line is `N passed, N failed`.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0; failed=0; skipped=0
failures=""

run_one() { # label build name prog [args...]
	label=$1; b=$2; name=$3; shift 3
	log="$b/test-logs/$name.log"
	mkdir -p "$b/test-logs"
	start=$(date +%s)
	BUILD="$b" BIN="$top/$b/bin" TBIN="$top/$b/tests" TOP="$top" \
	CMOCKA_MESSAGE_OUTPUT=TAP "$@" </dev/null >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	# A skip is "ok N - x # SKIP why" (TAP) or, from cmocka 1.1,
	# "not ok N - x # SKIP"; both count as skipped, neither as passed.
	p=$(grep -E '^ok [0-9]+' "$log" | grep -viE '# *skip' | grep -c . | tr -d ' ')
	s=$(grep -E '^(not )?ok [0-9]+' "$log" | grep -ciE '# *skip' | tr -d ' ')
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -viE '# *skip' | grep -c . | tr -d ' ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label $name: exited $rc without reporting a failure" >>"$log"
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $label $name: reported no test" >>"$log"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-6s %-28s %4d passed %3d failed %3d skipped (%ss)\n' \
		"$label" "$name" "$p" "$f" "$s" "$secs"
	if [ "$f" -ne 0 ]; then
		failures="$failures $log"
		grep -E '^not ok' "$log" | grep -viE '# *skip' | sed 's/^/    /'
	fi
}

# One Ceph RGW for all S3 tests of this run (tests/s3_lib.sh's s3_up reuses
# it; a script run alone starts its own). Startup costs ~16 s, once.
rgw_dir=
if [ -z "${S3_RGW_DIR:-}" ] && command -v radosgw >/dev/null 2>&1 &&
   ls "$top"/tests/integration/*s3*.sh >/dev/null 2>&1; then
	rgw_dir=$(mktemp -d "${TMPDIR:-/tmp}/dock-rgw-suite.XXXXXX")
	trap 'sh "$top/tests/s3/rgw.sh" stop "$rgw_dir" >/dev/null 2>&1; rm -rf "$rgw_dir"' EXIT
	if sh "$top/tests/s3/rgw.sh" start "$rgw_dir" >"$rgw_dir/start.log" 2>&1; then
		export S3_RGW_DIR="$rgw_dir"
	else
		echo "# shared RGW did not start; each S3 test starts its own:"
		tail -n 20 "$rgw_dir/start.log" | sed 's/^/#   /'
	fi
fi

for b in "$@"; do
	case "$b" in
	*asan*) label=asan
		export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:verify_asan_link_order=0"
		export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
		export SANITIZED=1 ;;
	*) label=normal; unset ASAN_OPTIONS UBSAN_OPTIONS SANITIZED ;;
	esac
	for t in "$b"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "$label" "$b" "$(basename "$t")" "$t"
	done
	for t in "$top"/tests/integration/*.sh "$top"/tests/usb/*.sh; do
		[ -f "$t" ] || continue
		run_one "$label" "$b" "$(basename "$t" .sh)" sh "$t"
	done
done

for log in $failures; do
	echo "==== tail of $log"
	tail -n 30 "$log"
done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
