#!/bin/sh
# Test runner. Usage: tests/run.sh BUILD_DIR [BUILD_DIR...]
#
# Every test program speaks TAP ("ok N - name" / "not ok N - name"):
#   - C unit tests (cmocka, CMOCKA_MESSAGE_OUTPUT=TAP): $B/tests/test_*
#   - shell tests: tests/integration/*.sh and tests/usb/*.sh (see tests/lib.sh)
# A program that exits non-zero without reporting a failure, or reports no
# test at all, counts as one failure. Full output of each program is kept in
# $B/test-logs/. A check is one distinct description within a program: it
# counts once per build it ran in (normal, asan), however often it printed.
# Each build gets a total line (checks, passed, failed, skipped); the last
# line is `N passed, N failed[, N skipped]` over all the builds run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0; failed=0; skipped=0
failures=""
totals=""

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
	# Each distinct check (its description) counts once in this build,
	# however often the program printed it: failed if any line for it
	# failed, else passed if any passed, else skipped.
	set -- $(awk '
		/^(not )?ok [0-9]+/ {
			d = $0; sub(/^(not )?ok [0-9]+ *-? */, "", d)
			if (d ~ /# *[Ss][Kk][Ii][Pp]/) { sub(/ *# *[Ss][Kk][Ii][Pp].*$/, "", d); st = 1 }
			else if ($0 ~ /^not ok/) st = 3
			else st = 2
			if (d == "") d = "test " ($1 == "not" ? $3 : $2) # no description: its number
			if (!(d in v)) order[n++] = d
			if (st > v[d]) v[d] = st
		}
		END {
			for (i = 0; i < n; i++) c[v[order[i]]]++
			printf "%d %d %d\n", c[2] + 0, c[3] + 0, c[1] + 0
		}' "$log")
	p=$1; f=$2; s=$3
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label $name: exited $rc without reporting a failure" >>"$log"
		f=1
	fi
	# A plan ("1..N") with fewer or more result lines: a check's own TAP
	# line went somewhere else (e.g. "check NAME CMD >/dev/null"), so it
	# could fail unseen. That is a failure of the test itself.
	plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$log" | cut -c4-)
	lines=$(grep -cE '^(not )?ok [0-9]+' "$log")
	if [ -n "$plan" ] && [ "$plan" -gt 0 ] && [ "$plan" -ne "$lines" ]; then
		echo "not ok - $label $name: plan says $plan checks, $lines reported (a check's TAP line was swallowed?)" >>"$log"
		f=$((f + 1))
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $label $name: reported no test" >>"$log"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	b_passed=$((b_passed + p)); b_failed=$((b_failed + f)); b_skipped=$((b_skipped + s))
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
	b_passed=0; b_failed=0; b_skipped=0
	for t in "$b"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "$label" "$b" "$(basename "$t")" "$t"
	done
	for t in "$top"/tests/integration/*.sh "$top"/tests/usb/*.sh; do
		[ -f "$t" ] || continue
		run_one "$label" "$b" "$(basename "$t" .sh)" sh "$t"
	done
	totals="$totals$(printf '%-6s (%s): %d checks: %d passed, %d failed, %d skipped' \
		"$label" "$b" $((b_passed + b_failed + b_skipped)) "$b_passed" "$b_failed" "$b_skipped")
"
done

for log in $failures; do
	echo "==== tail of $log"
	tail -n 30 "$log"
done
# Per build: each distinct check counted once in that build.
printf '%s' "$totals"
[ "$#" -le 1 ] || echo "all builds: each check counted once per build it ran in"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
