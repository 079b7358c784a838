#!/bin/sh
# Pull a 1 GiB recording from camsim over the Unix-socket transport with the
# dock session (pull_to_file: streaming write + SHA-256, verified against the
# signed manifest). Prints `BENCH socket_pull_1GiB <MB/s> MB/s` and the wall
# seconds of the session (authentication, listing, pull, fsync, verify).
# Environment (tests/bench.sh): TOP, BUILD, BIN. SIZE_MB overrides 1024.
set -eu
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
SIZE_MB=${SIZE_MB:-1024}
name=socket_pull_${SIZE_MB}MiB
[ "$SIZE_MB" != 1024 ] || name=socket_pull_1GiB
tool="$TOP/$BUILD/tests/tools/dockpull"
[ -x "$tool" ] || make -s -C "$TOP" BUILD="$BUILD" "$BUILD/tests/tools/dockpull" >/dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-pull.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir "$T/dock"
"$tool" keys --dir "$T/dock"
pub=$("$BIN/camsim" init --dir "$T/cam" --serial BENCH-1 --model bench --officer o-1 \
	--agency-pub "$T/dock/agency.pub")
# Incompressible content (AES-CTR keystream is far faster than /dev/urandom).
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero |
	openssl enc -aes-256-ctr -nosalt -pass pass:bench -pbkdf2 >"$T/big.bin"
"$BIN/camsim" add --dir "$T/cam" --id big --file "$T/big.bin" --category bench
rm -f "$T/big.bin" # camsim keeps its own link/copy
"$tool" pull --dir "$T/dock" --listen "$T/dock.sock" --id big --out "$T/pulled.bin" \
	--enrolled "$pub" --bench "$name" >"$T/out" 2>&1 &
pid=$!
i=0
while [ ! -S "$T/dock.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$BIN/camsim" serve --dir "$T/cam" --connect "$T/dock.sock"
wait $pid
cat "$T/out"
