#!/bin/sh
# Mutation check of the test suite (`make mutate`; docs/testing.md).
# Usage: tests/mutate/run.sh [ID...]   (default: every entry)
#
# For each entry of tests/mutate/mutations.txt, alone: in a scratch copy of
# the tree (the sources and build/, so only the mutated file recompiles),
# replace the entry's text, rebuild, run the entry's tests. A test that
# fails (a "not ok" line, or a non-zero exit) CAUGHT the mutation; all
# passing is MISSED. The mutated text must occur exactly once in its file
# (else the entry is BROKEN, as is one whose build fails). The last line is
# "N caught, N missed" (and ", N broken"); the exit status is non-zero when
# any mutation was missed or broken.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
list="$top/tests/mutate/mutations.txt"
work=$(mktemp -d "${TMPDIR:-/tmp}/dock-mutate.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/tree"
logs="$top/build/mutate-logs"
mkdir -p "$src" "$logs"

echo "# scratch copy of the tree in $src"
(cd "$top" && tar cf - --exclude=./.git --exclude=./build/asan --exclude=./build/fuzz \
	--exclude=./build/test-logs --exclude=./build/mutate-logs .) | (cd "$src" && tar xf -)
if ! (cd "$src" && make -j2 tests) >"$logs/build-base.log" 2>&1; then
	echo "the unmutated tree does not build: $logs/build-base.log"
	exit 2
fi

# One entry per blank-line-separated block of "key: value" lines.
python3 - "$list" "$work/entries" "$@" <<'EOF' || exit 2
import sys, os
path, out, want = sys.argv[1], sys.argv[2], sys.argv[3:]
blocks, cur = [], {}
for raw in open(path):
    line = raw.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        if cur: blocks.append(cur); cur = {}
        continue
    k, sep, v = line.partition(": ")
    if not sep or k not in ("id", "file", "find", "replace", "tests", "env", "why"):
        sys.exit("mutations.txt: bad line: %r" % line)
    cur[k] = v
if cur: blocks.append(cur)
ids = set()
os.makedirs(out, exist_ok=True)
n = 0
for b in blocks:
    for k in ("id", "file", "find", "replace", "tests"):
        if k not in b: sys.exit("mutations.txt: entry %s has no %s" % (b.get("id", "?"), k))
    if b["id"] in ids: sys.exit("mutations.txt: duplicate id %s" % b["id"])
    ids.add(b["id"])
    if want and b["id"] not in want: continue
    n += 1
    d = os.path.join(out, "%03d" % n); os.makedirs(d)
    for k in ("id", "file", "find", "replace", "tests", "env"):
        open(os.path.join(d, k), "w").write(
            b.get(k, "").replace("\\t", "\t").replace("\\n", "\n"))
if want and n != len(want): sys.exit("mutations.txt: unknown id among %s" % want)
EOF

# Replace the one occurrence of FIND in FILE by REPLACE (a line, part of
# one, or several: "\t" is a tab, "\n" a newline). 1: FIND occurs not
# exactly once.
apply() { # DIR
	python3 - "$src/$(cat "$1/file")" "$1/find" "$1/replace" <<'EOF'
import sys
f = sys.argv[1]
find, rep = open(sys.argv[2]).read(), open(sys.argv[3]).read()
text = open(f).read()
n = text.count(find)
if n != 1:
    sys.exit("%d occurrences of the find text" % n)
open(f, "w").write(text.replace(find, rep))
EOF
}

run_test() { # NAME ENV LOG: 0 = passed, 1 = failed, 2 = no such test
	name=$1
	case "$name" in
	test_*) prog="$src/build/tests/$name"; [ -x "$prog" ] || return 2 ;;
	*) prog="sh $src/tests/integration/$name.sh"
	   [ -f "$src/tests/integration/$name.sh" ] || return 2 ;;
	esac
	# shellcheck disable=SC2086
	(cd "$src" && env $2 BUILD=build BIN="$src/build/bin" TBIN="$src/build/tests" TOP="$src" \
		CMOCKA_MESSAGE_OUTPUT=TAP $prog) </dev/null >"$3" 2>&1
	rc=$?
	[ $rc -eq 0 ] && ! grep -E '^not ok' "$3" | grep -viqE '# *skip'
}

caught=0 missed=0 broken=0
for d in "$work"/entries/*; do
	[ -d "$d" ] || continue
	id=$(cat "$d/id"); file=$(cat "$d/file")
	cp "$top/$file" "$src/$file.orig" 2>/dev/null
	if ! why=$(apply "$d" 2>&1); then
		echo "BROKEN  $id: $file: $why"
		broken=$((broken + 1))
		continue
	fi
	# make sees the new mtime; the build log names what failed
	if ! (cd "$src" && make -j2 tests) >"$logs/$id.build.log" 2>&1; then
		echo "BROKEN  $id: does not build ($logs/$id.build.log)"
		broken=$((broken + 1))
	else
		by="" ran="" absent=""
		for t in $(cat "$d/tests"); do
			run_test "$t" "$(cat "$d/env")" "$logs/$id.$t.log"
			case $? in
			0) ran="$ran $t" ;;
			2) absent="$absent $t" ;;
			*) ran="$ran $t"; by="$by $t" ;;
			esac
		done
		note=${absent:+ (not in this tree:$absent)}
		if [ -n "$by" ]; then
			echo "CAUGHT  $id: by$by$note"
			caught=$((caught + 1))
		elif [ -z "$ran" ]; then
			echo "BROKEN  $id: none of its tests exist$note"
			broken=$((broken + 1))
		else
			echo "MISSED  $id:$ran all passed$note"
			missed=$((missed + 1))
		fi
	fi
	mv "$src/$file.orig" "$src/$file"
	touch "$src/$file"
done
# the scratch build is thrown away with the copy
if [ $broken -gt 0 ]; then
	echo "$caught caught, $missed missed, $broken broken"
else
	echo "$caught caught, $missed missed"
fi
[ $missed -eq 0 ] && [ $broken -eq 0 ]
