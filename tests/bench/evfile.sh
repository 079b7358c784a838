#!/bin/sh
# Evidence file encryption/decryption throughput (1 MiB chunks, P-256).
# Usage: tests/bench/evfile.sh [BUILD_DIR] [MIB]   prints `BENCH name value unit`
# (BUILD_DIR defaults to $BUILD from tests/bench.sh, else build)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-${BUILD:-build}}
mib=${2:-1024}
f=$(mktemp "${TMPDIR:-/tmp}/evfile-bench.XXXXXX")
trap 'rm -f "$f"' EXIT
"$top/$b/tests/test_evfile" --bench "$mib" "$f"
