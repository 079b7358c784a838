#!/bin/sh
# Docs are a spec: every relative link in README.md and docs/*.md, and every
# docs/*.md a source, rule or script names, is a file that exists (issue
# 15: docs/demo.md and docs/protocol-usb-notes.md did not).
. "$(dirname "$0")/../lib.sh"
cd "$TOP" || exit 1
mktmp
# [text](target) links: not URLs or in-page anchors; the #anchor dropped
for f in README.md docs/*.md; do
	d=$(dirname "$f")
	grep -o '\]([^)]*)' "$f" | sed 's/^](//; s/)$//; s/#.*//; s/ .*//' |
	while read -r t; do
		case "$t" in "" | *://* | mailto:*) continue ;; esac
		[ -e "$d/$t" ] || echo "$f: ($t)"
	done
done >"$T/bad-links"
check "every relative link in README.md and docs/ exists" [ ! -s "$T/bad-links" ]
sed 's/^/#   /' "$T/bad-links"
n=$(cat README.md docs/*.md | grep -c '\]([^)]*)')
check "links were found ($n)" [ "$n" -gt 0 ]
# docs/NAME.md named in any tracked text file
git ls-files 2>/dev/null >"$T/files" || find . -path ./build -prune -o -type f -print >"$T/files"
# (this test is left out: its comments name the missing files it was for)
grep -v -e '^build/' -e '^tests/integration/docs_links.sh$' "$T/files" | while read -r f; do
	[ -f "$f" ] && grep -Io 'docs/[A-Za-z0-9_-]*\.md' "$f" 2>/dev/null | sort -u |
	while read -r t; do [ -e "$t" ] || echo "$f: $t"; done
done >"$T/bad-refs"
check "every docs/*.md named in the tree exists" [ ! -s "$T/bad-refs" ]
sed 's/^/#   /' "$T/bad-refs"
done_testing
