#!/bin/sh
# dockd end to end over the camera socket: three enrolled camsim cameras
# dock at once; every recording arrives, decrypts byte-identical (vault and
# storage target), the ledger verifies, and the camera is told to release a
# recording only per policy (storage: after storage_verified; local: after
# stored_local; never while the storage target fails).
# DK_WRAP (e.g. valgrind) is honoured: tests/integration/dockd_valgrind.sh
# runs this script under it.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
SIZE=${E2E_SIZE:-700000}
CAMS="CAM-A CAM-B CAM-C"
WAIT=${E2E_WAIT:-90}

released() { [ "$(dk_state "$1")" = released ]; }
# Wait until nothing is being pulled or waiting for storage (at most S s).
settle() {
	dk_wait_count pulling 0 "$1" && dk_wait_count listed 0 "$1" &&
		dk_wait_count stored_local 0 "$1"
}
not_on_camera() { ! dk_cam_has "$1" "$2"; }
on_camera() { dk_cam_has "$1" "$2"; }
lifecycle() { # EVID POLICY: the events of one item come in the order of docs/dockd.md
	dk_order "$1" ingest_started ingested && dk_order "$1" ingested stored_local &&
		dk_order "$1" stored_local storage_verified &&
		[ "$(dk_count_action "$1" ingested)" = 1 ] &&
		[ "$(dk_count_action "$1" camera_released)" = 1 ] &&
		if [ "$2" = storage ]; then dk_order "$1" storage_verified camera_released
		else dk_order "$1" stored_local camera_released; fi
}
# Dock every camera until all its recordings are released (a copy not yet
# verified within release_wait_s is released at the next docking).
dock_until_released() { # CAMERAS...
	for dk_try in 1 2 3 4; do
		dk_left=0
		for c in "$@"; do
			for r in REC-1 REC-2; do released "$c/$r" || dk_left=1; done
		done
		[ $dk_left = 0 ] && return 0
		settle "$WAIT"
		for c in "$@"; do dk_dock "$c"; done
	done
	return 1
}

# ---- storage policy, three cameras at once --------------------------------
check "setup: keys, certificate, config, ledger" dk_init "$T/s" storage
for c in $CAMS; do
	check "setup: camera $c enrolled with 2 recordings" dk_camera "$c" 2 "$SIZE"
done
check "dockd starts and listens" dk_start
pids=""
for c in $CAMS; do
	dk_dock "$c" &
	pids="$pids $!"
done
# shellcheck disable=SC2086
set -- $pids
for c in $CAMS; do
	check "docking $c (three at once): camsim exits 0" wait "$1"
	shift
done
check "every recording is released (re-docking if storage was slow)" \
	dock_until_released $CAMS
for c in $CAMS; do
	for r in REC-1 REC-2; do
		check "$c/$r: vault copy decrypts byte-identical" dk_same "$c" "$r"
		check "$c/$r: storage copy decrypts byte-identical" dk_same_store "$c" "$r"
		check "$c/$r: the camera deleted it" not_on_camera "$c" "$r"
		check "$c/$r: events in order, release after storage_verified" lifecycle "$c/$r" storage
	done
done
check "no plaintext and no data key left in the partial area" \
	sh -c "! find '$DK_VAULT/.partial' -type f 2>/dev/null | grep -q ."
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
sed 's/^/# verify: /' "$DK/verify.out"
check "dockd stops with exit 0 on SIGTERM" dk_stop
check "nothing in quarantine" sh -c "! find '$DK_VAULT/.quarantine' -type f 2>/dev/null | grep -q ."

# ---- storage target failing: stored locally, never released ---------------
# The agency folder of the target is a regular file: every put fails.
rm -rf "$DK_STORE/$DK_AGENCY.x"
check "setup: camera CAM-D enrolled" dk_camera CAM-D 2 "$SIZE"
mv "$DK_STORE/$DK_AGENCY" "$DK_STORE/$DK_AGENCY.x" && : >"$DK_STORE/$DK_AGENCY"
check "dockd restarts" dk_start
check "docking CAM-D with a failing storage target: camsim exits 0" dk_dock CAM-D
check "CAM-D/REC-1 reaches stored_local" dk_wait_state CAM-D/REC-1 stored_local "$WAIT"
check "CAM-D/REC-2 reaches stored_local" dk_wait_state CAM-D/REC-2 stored_local "$WAIT"
dk_dock CAM-D
check "storage policy: not released while the target fails (REC-1 on camera)" on_camera CAM-D REC-1
check "storage policy: not released while the target fails (REC-2 on camera)" on_camera CAM-D REC-2
check "no camera_released event for CAM-D" \
	test "$(dk_count_action CAM-D/REC-1 camera_released)$(dk_count_action CAM-D/REC-2 camera_released)" = 00
check "the failure raised an alert" test "$(dk_alerts)" -gt 0
rm -f "$DK_STORE/$DK_AGENCY" && mv "$DK_STORE/$DK_AGENCY.x" "$DK_STORE/$DK_AGENCY"
if ! dk_wait_state CAM-D/REC-2 storage_verified 20; then
	dk_stop; dk_start # a restart picks up stored_local items at once
fi
check "CAM-D/REC-1 storage_verified after recovery" dk_wait_state CAM-D/REC-1 storage_verified "$WAIT"
check "CAM-D/REC-2 storage_verified after recovery" dk_wait_state CAM-D/REC-2 storage_verified "$WAIT"
check "next docking releases CAM-D's recordings" dock_until_released CAM-D
check "CAM-D: released after storage_verified" lifecycle CAM-D/REC-1 storage
check "CAM-D/REC-2 storage copy byte-identical" dk_same_store CAM-D REC-2
check "release rule still holds" dk_ledger_rules storage
check "custody verify is clean" dk_verify
check "dockd stops with exit 0" dk_stop

# ---- local policy ----------------------------------------------------------
DK_VAULT=
check "setup (release_policy = local)" dk_init "$T/l" local
check "setup: camera CAM-L enrolled" dk_camera CAM-L 2 "$SIZE"
mv "$DK_STORE" "$DK_STORE.off" && mkdir "$DK_STORE" && : >"$DK_STORE/$DK_AGENCY"
check "dockd (local policy) starts" dk_start
check "docking CAM-L: camsim exits 0" dk_dock CAM-L
dk_wait_count released 2 10 || dk_dock CAM-L
check "local policy: released although the storage target fails" dk_wait_count released 2 5
check "CAM-L/REC-1: stored_local < camera_released" dk_order CAM-L/REC-1 stored_local camera_released
check "CAM-L/REC-1: no storage_verified yet" test "$(dk_count_action CAM-L/REC-1 storage_verified)" = 0
check "CAM-L/REC-1: vault copy byte-identical" dk_same CAM-L REC-1
check "CAM-L/REC-2: vault copy byte-identical" dk_same CAM-L REC-2
check "local-policy release rule holds" dk_ledger_rules local
check "custody verify is clean" dk_verify
check "dockd stops with exit 0" dk_stop
done_testing
