#!/bin/sh
# The dockd end-to-end test (tests/integration/dockd_e2e.sh) with the daemon
# under valgrind memcheck: any invalid access, use of uninitialised memory,
# or definite leak makes valgrind exit 99, so dockd's exit checks fail.
# Under the ASan build (SANITIZED=1) the plain e2e test already runs with
# ASan+UBSan, and valgrind cannot run ASan binaries: skipped there.
. "$(dirname "$0")/../lib.sh"
if [ "${SANITIZED:-0}" = 1 ]; then
	skip "dockd e2e under valgrind" "ASan build: dockd_e2e.sh runs under ASan+UBSan instead"
	done_testing
fi
if ! command -v valgrind >/dev/null 2>&1; then
	skip "dockd e2e under valgrind" "valgrind not installed"
	done_testing
fi
if [ ! -x "$BIN/dockd" ]; then
	skip "dockd e2e under valgrind" "dockd not built"
	done_testing
fi
mktmp
VGLOG=$T/vg
mkdir -p "$VGLOG"
# Child-silent: dockd's alert command and helpers are not checked here.
DK_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --track-origins=yes --trace-children=no \
--suppressions=$TOP/tests/valgrind.supp --log-file=$VGLOG/dockd.%p.log"
export DK_WRAP
# Smaller recordings and patience: valgrind runs ~30x slower.
E2E_SIZE=200000 E2E_WAIT=300 sh "$TOP/tests/integration/dockd_e2e.sh" >"$T/e2e.out" 2>&1
rc=$?
sed 's/^/# e2e: /' "$T/e2e.out" | grep -v '^# e2e: ok '
n_ok=$(grep -c '^ok ' "$T/e2e.out")
n_bad=$(grep -c '^not ok ' "$T/e2e.out")
check "e2e under valgrind: $n_ok checks passed, none failed" test "$rc" = 0 -a "$n_bad" = 0 -a "$n_ok" -gt 0
errs=$(cat "$VGLOG"/dockd.*.log 2>/dev/null | grep -c '^==[0-9]*== ')
check "valgrind reported nothing for any dockd run" test "$errs" = 0
if [ "$errs" != 0 ]; then
	cat "$VGLOG"/dockd.*.log | head -60 | sed 's/^/# vg: /'
fi
check "valgrind ran dockd at least 3 times" test "$(ls "$VGLOG" | wc -l)" -ge 3
done_testing
