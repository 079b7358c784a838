#!/bin/sh
# Local vault purge rate (figures only, no assertions; docs/operations.md
# "Vault space and local purge"):
#   PURGE_N recordings of about PURGE_MB MiB (default 64 x 8 MiB) are
#   docked and verified in a file:// target with [vault] keep = indefinite;
#   dockd is restarted with keep = 0d and its start-up pass purges them all
#   (hash the ciphertext, local_purged, unlink + fsync of the directory).
#        BENCH purge_items_per_s   items/s  (N-1) / (last - first local_purged)
#        BENCH purge_GiB_per_s     GiB/s    bytes of those N-1 items / same time
#   Times are the ledger's own event timestamps.
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
: "${TBIN:=$TOP/$BUILD/tests}"
. "$TOP/tests/lib.sh" >/dev/null
. "$TOP/tests/dockd_lib.sh"
N=${PURGE_N:-64}
MB=${PURGE_MB:-8}
if [ ! -x "$DOCKD" ]; then
	echo "purge bench: $DOCKD not built; skipped"
	exit 0
fi
# Same disk as the build tree (not /tmp, which may be a RAM disk).
W=$(mktemp -d "$TOP/build/bench-purge.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
DK_CHUNK=1048576
DK_SYNC_MB=64
DK_LOG_LEVEL=info
DK_RELEASE_WAIT=120
vault() { # KEEP
	dk_conf_write
	printf '\n[vault]\nkeep = %s\nlow_free = 0\nhigh_free = 0\nstate_min_free_mb = 0\n' "$1" >>"$DK_CONF"
}
dk_init "$W/d" storage || exit 1
vault indefinite
dk_camera CAM-B "$N" $((MB << 20)) || exit 1
dk_start || exit 1
dk_dock CAM-B
dk_wait_count released "$N" 300 || { echo "purge bench: not all released"; exit 1; }
dk_stop
vault 0d
dk_start || exit 1
i=0
until [ "$(dk_sql "SELECT count(*) FROM events WHERE action = 13")" = "$N" ]; do
	i=$((i + 1)); [ $i -lt 3000 ] || { echo "purge bench: purge incomplete"; exit 1; }
	sleep 0.1
done
dk_stop
dk_py '
ev = [(s, d) for s, a, _, d in events() if a == "local_purged"]
t = dict(con.execute("SELECT seq, time_ns FROM events WHERE action = 13").fetchall())
ts = sorted(t[s] for s, _ in ev)
span = (ts[-1] - ts[0]) / 1e9
by = sum(d["size"] for _, d in ev[1:])
if span <= 0:
    print("purge bench: too few items to time"); sys.exit(0)
print("BENCH purge_items_per_s %.1f items/s" % ((len(ev) - 1) / span))
print("BENCH purge_GiB_per_s %.3f GiB/s" % (by / span / 2**30))'
