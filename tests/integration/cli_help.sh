#!/bin/sh
# --help and --version on dockd, custody and every subcommand (issue 15:
# `custody history --help` said "unexpected argument '--help'", `search
# --help` "option '--help' needs a value", neither tool had --version).
# The subcommands are read from the command tables in the source, so a new
# subcommand is checked without editing this test. Each answer: exit 0,
# usage or version on stdout naming the command, nothing on stderr, and no
# configuration needed.
. "$(dirname "$0")/../lib.sh"
mktmp
ver=$(sed -n 's/^#define EVIDENCE_DOCK_VERSION "\(.*\)"$/\1/p' "$TOP/protocol/version.h")
check "protocol/version.h names a version" [ -n "$ver" ]
custody_cmds=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", cmd_[a-z_]*,.*/\1/p' "$TOP/custody/cmd/main.c")
dockd_cmds=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", admin_[a-z_]*,.*/\1/p' "$TOP/dockd/core/main.c")
check "the custody command table was found" [ "$(echo "$custody_cmds" | wc -w)" -ge 20 ]
check "the dockd command table was found" [ "$(echo "$dockd_cmds" | wc -w)" -ge 7 ]

# answers WANT TOOL ARGS...: exit 0, stdout has WANT, stderr is empty
answers() {
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ $rc -eq 0 ] && grep -qF -- "$want" "$T/out" && [ ! -s "$T/err" ]; then return 0; fi
	echo "# $* -> exit $rc"; sed 's/^/#   out: /' "$T/out" | head -3; sed 's/^/#   err: /' "$T/err" | head -3
	return 1
}
cd "$T" || exit 1 # no configuration anywhere near
check "dockd --version" answers "dockd $ver" "$BIN/dockd" --version
check "dockd --help" answers "usage: dockd" "$BIN/dockd" --help
check "custody --version" answers "custody $ver" "$BIN/custody" --version
check "custody --help" answers "usage: custody" "$BIN/custody" --help
for c in $custody_cmds; do
	check "custody $c --help" answers "usage: custody [--config FILE] $c " "$BIN/custody" "$c" --help
	check "custody $c -h" answers "usage: custody [--config FILE] $c " "$BIN/custody" "$c" -h
	check "custody $c --version" answers "custody $ver" "$BIN/custody" "$c" --version
done
# after other arguments too (the issue's cases)
check "custody search --officer X --help" answers "usage: custody [--config FILE] search " \
	"$BIN/custody" search --officer X --help
check "custody history ID --help" answers "usage: custody [--config FILE] history " \
	"$BIN/custody" history CAM-1/REC-1 --help
# --version after other arguments is the subcommand's own option (agency-
# sign's policy version), never taken for the tool's version
"$BIN/custody" agency-sign witnesses --key /nonexistent --agency-id pd-x --version 1 \
	--quorum 1 --witness /nonexistent --out "$T/w.note" >"$T/out" 2>&1
check "custody agency-sign ... --version 1 is not answered with the tool's version" \
	sh -c "! grep -q '^custody $ver\$' '$T/out'"
for c in $dockd_cmds; do
	check "dockd $c --help" answers "dockd" "$BIN/dockd" "$c" --help
	grep -qF " $c" "$T/out" || not_ok "dockd $c --help names $c"
	check "dockd $c -h" answers "usage: " "$BIN/dockd" "$c" -h
	check "dockd $c --version" answers "dockd $ver" "$BIN/dockd" "$c" --version
done
done_testing
