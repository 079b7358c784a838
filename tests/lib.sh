# Shared helpers for shell tests. Source it; it speaks TAP.
#   ok "desc" / not_ok "desc" / skip "desc" "why"
#   check "desc" cmd args...   passes when the command succeeds
#   check_fails "desc" cmd...  passes when the command fails (and does not crash)
#                              Both return 1 when the check failed, so
#                              `check ... || show_diagnostics` works.
#   mktmp                      sets $T to a per-test scratch directory, removed
#                              at exit. Call it as a plain command (`mktmp`),
#                              never as T=$(mktmp): the cleanup trap would fire
#                              in the $(...) subshell at once.
# Environment from tests/run.sh: BIN (binaries), TBIN (test binaries), TOP.
t_n=0
t_failed=0
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
: "${TBIN:=$TOP/$BUILD/tests}"
ok()     { t_n=$((t_n + 1)); echo "ok $t_n - $*"; }
not_ok() { t_n=$((t_n + 1)); t_failed=1; echo "not ok $t_n - $*"; }
skip()   { t_n=$((t_n + 1)); echo "ok $t_n - $1 # SKIP $2"; }
check() {
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; return 1; fi
}
# A crash (signal, sanitizer abort) is never an acceptable "failure".
check_fails() {
	d=$1; shift
	"$@"; rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; then ok "$d"
	else not_ok "$d (exit $rc)"; return 1; fi
}
mktmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/dock-test.XXXXXX")
	trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
}
done_testing() { echo "1..$t_n"; exit $t_failed; }

# quiet CMD...: CMD with its stdout thrown away. Use it inside a check
# ("check NAME quiet CMD ..."): "check NAME CMD >/dev/null" would throw
# away the check's own TAP line too.
quiet() { "$@" >/dev/null; }

# flip_byte FILE OFFSET: change the byte at OFFSET to a different value
# (its value plus one). Writing a fixed byte instead leaves random data
# unchanged one time in 256, and a "damaged" file that is not damaged
# makes a test fail at random.
flip_byte() {
	fb_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$fb_b" ] || return 1
	printf "$(printf '\\%03o' $(((fb_b + 1) % 256)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

# test_users VAR:NAME:FALLBACK...: for each, a system account NAME-$$ made
# for this run (per run, so parallel runs do not collide), or the existing
# account FALLBACK where useradd is not allowed; its name goes into $VAR.
# Accounts made here are appended to $CREATED for the caller's cleanup
# (`for u in $CREATED; do userdel "$u"; done`). Call it directly, never in
# $(...): CREATED must survive.
test_users() {
	for pair in "$@"; do
		var=${pair%%:*}; rest=${pair#*:}
		want=${rest%%:*}-$$; fb=${rest#*:}
		if id "$want" >/dev/null 2>&1; then u=$want
		elif useradd --system --no-create-home --shell /usr/sbin/nologin \
			"$want" >/dev/null 2>&1; then u=$want; CREATED="$CREATED $want"
		else u=$fb; fi
		eval "$var=\$u"
	done
}
