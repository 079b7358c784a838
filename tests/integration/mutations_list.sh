#!/bin/sh
# tests/mutate/mutations.txt still points at the code (`make mutate` runs
# only on demand, so a move or split of a file would otherwise break its
# entries silently: four were found broken that way). Per entry: its file
# exists, its find text occurs exactly once there (tests/mutate/run.sh
# calls the entry BROKEN otherwise), and every test it names exists.
# The mutations themselves are `make mutate`'s job (docs/testing.md).
. "$(dirname "$0")/../lib.sh"
mktmp
python3 - "$TOP" > "$T/res" <<'PY'
import os, sys
top = sys.argv[1]
blocks, cur = [], {}
for raw in open(os.path.join(top, "tests/mutate/mutations.txt")):
    line = raw.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        if cur: blocks.append(cur); cur = {}
        continue
    k, sep, v = line.partition(": ")
    cur[k] = v
if cur: blocks.append(cur)
for b in blocks:
    f = os.path.join(top, b.get("file", "?"))
    find = b.get("find", "").replace("\\t", "\t").replace("\\n", "\n")
    try:
        n = open(f).read().count(find) if find else 0
    except OSError:
        n = -1
    tests = b.get("tests", "").split()
    missing = [t for t in tests if not any(os.path.exists(os.path.join(top, p)) for p in
               ("tests/integration/%s.sh" % t, "tests/integration/%s.py" % t, "tests/unit/%s.c" % t))]
    print("%s\t%d\t%s" % (b.get("id", "?"), n, ",".join(missing) if tests and missing else ("-" if tests else "none")))
PY
check "mutations.txt parsed, entries found" test -s "$T/res"
while IFS="$(printf '\t')" read -r id n missing; do
	check "$id: its text occurs exactly once in its file" test "$n" = 1
	check "$id: names tests that exist" test "$missing" = "-"
done < "$T/res"
done_testing
