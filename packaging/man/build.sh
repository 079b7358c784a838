#!/bin/sh
# Man pages: sh packaging/man/build.sh BIN_DIR OUT_DIR
# dockd(8), custody(1) and dockd.conf(5) from the scdoc sources here; one
# page per subcommand, custody-NAME(1) and dockd-NAME(8), made from the
# subcommand's own --help (the command tables are the one source), so a
# new subcommand gets its page without an edit here. Needs scdoc.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$src/../.." && pwd)
bin=${1:?usage: build.sh BIN_DIR OUT_DIR}
out=${2:?usage: build.sh BIN_DIR OUT_DIR}
command -v scdoc >/dev/null || { echo "man/build.sh: scdoc missing (packaging/install-deps.sh)" >&2; exit 1; }
mkdir -p "$out"
for f in "$src"/*.scd; do
	scdoc <"$f" >"$out/$(basename "$f" .scd)"
done
# page TOOL SECTION NAME: scdoc source from `TOOL NAME --help`
page() {
	help=$("$bin/$1" "$3" --help) || { echo "man/build.sh: $1 $3 --help failed" >&2; exit 1; }
	{
		printf '%s-%s(%s)\n\n# NAME\n\n%s-%s - %s subcommand %s\n\n# SYNOPSIS\n\n' \
			"$1" "$3" "$2" "$1" "$3" "$1" "$3"
		# usage lines verbatim; scdoc escapes: backslash, *, _
		printf '%s\n' "$help" | sed 's/\\/\\\\/g; s/\*/\\*/g; s/_/\\_/g; $!s/$/++/'
		printf '\n# SEE ALSO\n\n*%s*(%s), /usr/share/doc/evidence-dock/\n' "$1" "$2"
	} | scdoc >"$out/$1-$3.$2"
}
for c in $(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", cmd_[a-z_]*,.*/\1/p' "$top/custody/cmd/main.c"); do
	page custody 1 "$c"
done
for c in $(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", admin_[a-z_]*,.*/\1/p' "$top/dockd/core/main.c"); do
	page dockd 8 "$c"
done
