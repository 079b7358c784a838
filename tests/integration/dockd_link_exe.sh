#!/bin/sh
# The camera-link worker is a program of its own, dockd-linkw (docs/
# architecture.md, "The camera-link worker"; dockd/link/linkw.h):
#   1. it is built at PREFIX/libexec/dockd/dockd-linkw, next to bin/;
#   2. its image holds no custody code and no daemon code (no symbol it
#      defines is defined by libcustody.a or by libdockd.a outside the
#      worker's own files and dockd/core's lock-down rules, llrule.c and
#      scmprule.c),
#      and it loads none of the libraries the daemon
#      needs for the ledger, storage or USB (ldd);
#   3. dockd no longer carries the worker loop (linkw_main);
#   4. dockd execs the worker by absolute path from its own installation
#      prefix: a copy of dockd in a scratch prefix runs the dockd-linkw
#      placed there (a wrapper that records its run), the docking
#      completes; with that program missing the docking fails, the start
#      failure is recorded (link_worker_killed, action 57) and the camera
#      keeps its recording.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
LW=$BIN/../libexec/dockd/dockd-linkw
LIBDIR=$BIN/../lib
check "dockd-linkw is built beside bin/" [ -x "$LW" ]

# 2. what the worker's image holds
defined() { nm -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
defined "$LW" >"$T/w.syms"
defined "$LIBDIR/libcustody.a" >"$T/cust.syms"
# libdockd.a without the worker's own objects (nm -A names the member)
nm -A -g --defined-only "$LIBDIR/libdockd.a" 2>/dev/null |
	grep -v -e ':linkw\.o:' -e ':linkw_sandbox\.o:' -e ':linkio\.o:' -e ':linkw_attack\.o:' \
		-e ':linkring\.o:' -e ':llrule\.o:' -e ':scmprule\.o:' |
	awk 'NF == 3 { print $3 }' | sort -u >"$T/dockd.syms"
check "the worker defines symbols (nm works)" grep -q '^linkw_main$' "$T/w.syms"
check "the daemon library has custodian code (the comparison can fail)" \
	grep -q '^custodian_sign_receipt$' "$T/dockd.syms"
check "no custody code in the worker" [ -z "$(comm -12 "$T/w.syms" "$T/cust.syms")" ] ||
	comm -12 "$T/w.syms" "$T/cust.syms" | head -5 | sed 's/^/#   /'
check "no daemon code in the worker" [ -z "$(comm -12 "$T/w.syms" "$T/dockd.syms")" ] ||
	comm -12 "$T/w.syms" "$T/dockd.syms" | head -5 | sed 's/^/#   /'
ldd "$LW" >"$T/ldd" 2>&1
check "ldd lists the worker's libraries" grep -q 'libcrypto' "$T/ldd"
for lib in libsqlite3 libcurl libusb libjansson libmicrohttpd libarchive libsystemd libudev \
	libinih libp11-kit libexpat libssl; do
	check_fails "the worker does not load $lib" grep -q "$lib" "$T/ldd"
done

# 3. the daemon holds no worker loop
check_fails "dockd has no linkw_main" grep -q '^linkw_main$' "$(defined "$BIN/dockd" >"$T/d.syms"; echo "$T/d.syms")"

# 4. exec'd by path from dockd's own prefix
check "dock, agency and checkpoint keys" dk_init "$T/dk"
mkdir -p "$T/pfx/sbin" "$T/pfx/libexec/dockd"
cp "$DOCKD" "$T/pfx/sbin/dockd"
cat >"$T/pfx/libexec/dockd/dockd-linkw" <<EOF
#!/bin/sh
echo "\$0 \$#" >>"$T/ran"
exec "$LW" "\$@"
EOF
chmod 0755 "$T/pfx/libexec/dockd/dockd-linkw"
DK_IDLE_MS=1500
check "camera CAM-X with a recording" dk_camera CAM-X 1 30000
DOCKD=$T/pfx/sbin/dockd dk_start --exit-when-idle
dk_dock CAM-X
wait "$DK_PID"; DK_PID=
check "dockd ran the dockd-linkw of its prefix, with three arguments" \
	[ "$(cat "$T/ran" 2>/dev/null)" = "$T/pfx/libexec/dockd/dockd-linkw 3" ]
check "the docking through it completed: CAM-X/REC-1 released" \
	[ "$(dk_state CAM-X/REC-1)" = released ]

killed() { dk_sql "SELECT count(*) FROM events WHERE action = 57"; }
rm -f "$T/pfx/libexec/dockd/dockd-linkw"
check "camera CAM-Y with a recording" dk_camera CAM-Y 1 30000
k0=$(killed)
DOCKD=$T/pfx/sbin/dockd dk_start --exit-when-idle
dk_dock CAM-Y
wait "$DK_PID"; DK_PID=
check "worker program missing: link_worker_killed recorded" [ "$(killed)" -eq $((k0 + 1)) ]
check "its why says the program could not be executed" [ -n "$(dk_sql "SELECT seq FROM events \
WHERE action = 57 AND json_extract(details,'\$.why') LIKE '%could not execute%dockd-linkw%'")" ]
check "the camera keeps CAM-Y/REC-1" dk_cam_has CAM-Y REC-1
check_fails "nothing released" [ "$(dk_state CAM-Y/REC-1)" = released ]
done_testing
