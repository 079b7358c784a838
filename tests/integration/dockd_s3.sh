#!/bin/sh
# dockd end to end with an s3:// storage target: a real Ceph RGW over HTTPS
# with the test CA (tests/s3_lib.sh). Three cameras dock at once; each has
# small recordings (one PUT) and one larger than the part size (multipart);
# every recording reaches storage_verified and only then is released; each
# object, fetched back from the bucket, decrypts with the agency key to the
# camera's original bytes; the objects carry the retention tags; the
# multipart/single-PUT split shows in the ETags; `custody status --json`
# showed the uploads while they ran; the ledger verifies.
# Runtime: ~15 s (ASan ~40 s) with a shared RGW, plus ~20 s to start one.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
SMALL=${S3E2E_SMALL:-200000}
BIG=$((5 * 1048576 + 700000)) # > part_size_mb = 5: two parts
CAMS="CAM-A CAM-B CAM-C"
WAIT=${S3E2E_WAIT:-120}

# A recording of SIZE bytes for an enrolled camera (times: now - 1 h).
add_rec() { # SERIAL REC SIZE CATEGORY
	dk_randfile "$DK/orig/$1/$2.bin" "$3" "$1-$2" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$2" --file "$DK/orig/$1/$2.bin" \
			--category "$4" --start $(($(date +%s) - 3600)) \
			--end $(($(date +%s) - 3000)) >/dev/null
}
small_cam() { # SERIAL
	dk_camera "$1" 0 0 && add_rec "$1" REC-1 $((SMALL + 1)) patrol &&
		add_rec "$1" REC-2 $((SMALL + 4099)) use-of-force
}
released() { [ "$(dk_state "$1")" = released ]; }
settle() { dk_wait_count pulling 0 "$1" && dk_wait_count listed 0 "$1" &&
	dk_wait_count stored_local 0 "$1"; }
dock_until_released() { # RECS...: evidence ids
	for dk_try in 1 2 3 4; do
		left=0
		for e in "$@"; do released "$e" || left=1; done
		[ $left = 0 ] && return 0
		settle "$WAIT"
		for c in $CAMS; do dk_dock "$c"; done
	done
	return 1
}
lifecycle() { # EVID: stored locally, then uploaded, verified, then released, each once
	dk_order "$1" stored_local upload_started && dk_order "$1" upload_started uploaded &&
		dk_order "$1" uploaded storage_verified &&
		dk_order "$1" storage_verified camera_released &&
		[ "$(dk_count_action "$1" storage_verified)" = 1 ] &&
		[ "$(dk_count_action "$1" camera_released)" = 1 ]
}
etag_of() { dk_s3tool head "$1" 2>/dev/null | sed -n 's/^etag //p'; }
is_multipart() { etag_of "$1" | grep -Eq '^[0-9a-f]{32}-2$'; }
is_single() { etag_of "$1" | grep -Eq '^[0-9a-f]{32}$'; }
has_tags() { # KEY k=v...
	dk_s3tool tags "$1" >"$DK/tags.out" 2>&1 || return 1
	k=$1; shift
	for kv in "$@"; do grep -qx "$kv" "$DK/tags.out" || { sed 's/^/# tags: /' "$DK/tags.out"; return 1; }; done
}
# The storage_verified event names this object's location.
verified_at() { # EVID LOCATION
	dk_py '
v = [d for _, a, _, d in events(args[0]) if a == "storage_verified"]
sys.exit(0 if v and v[0].get("location") == args[1] else 1)' "$1" "$2"
}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-e2e)
DK_S3_PREFIX=precinct-7
# 80 Mbit/s over all uploads: slow enough to see them in `custody status`.
DK_EXTRA_STORAGE="parallel_uploads = 2
bandwidth_mbit = 80"
DK_S3_EXTRA="part_size_mb = 5
parallel_parts = 2
low_speed_time_s = 10"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, certificate, config (s3:// over HTTPS), ledger" dk_init "$T/s" storage
check "config names the s3 target and the test CA" \
	grep -q "^target = s3://$DK_S3_BUCKET/precinct-7\$" "$DK_CONF"
check "status user" dk_status_user
ALL=""
for c in $CAMS; do
	check "setup: camera $c enrolled, two small recordings" small_cam "$c"
	ALL="$ALL $c/REC-1 $c/REC-2"
done
check "setup: CAM-A/REC-3 larger than a part" add_rec CAM-A REC-3 "$BIG" patrol
check "setup: CAM-B/REC-3 larger than a part" add_rec CAM-B REC-3 $((BIG + 65537)) patrol
ALL="$ALL CAM-A/REC-3 CAM-B/REC-3"

check "dockd starts and listens" dk_start
pids=""
for c in $CAMS; do
	dk_dock "$c" &
	pids="$pids $!"
done
# Watch `custody status --json` while the cameras are docked and uploads run.
saw_upload=0; saw_queue=0; n=0
while [ $n -lt $((WAIT * 10)) ]; do
	if dk_status_json >"$DK/status.json" 2>/dev/null; then
		python3 - "$DK/status.json" "$DK_AGENCY/" <<'EOF' >"$DK/status.seen"
import json, sys
s = json.load(open(sys.argv[1]))
ups = [u for u in s.get("uploads", []) if u.get("object_key", "").startswith(sys.argv[2])
       and 0 <= u.get("bytes", -1) <= u.get("size", 0) and u.get("size", 0) > 0]
print("upload" if ups else "")
print("queue" if s.get("queue", {}).get("storage", 0) + s.get("queue", {}).get("uploading", 0) > 0 else "")
EOF
		grep -q '^upload$' "$DK/status.seen" && saw_upload=1
		grep -q '^queue$' "$DK/status.seen" && saw_queue=1
	fi
	[ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state IN ('storage_verified','released')")" = 8 ] && break
	n=$((n + 1))
	sleep 0.1
done
# shellcheck disable=SC2086
set -- $pids
for c in $CAMS; do
	check "docking $c (three at once): camsim exits 0" wait "$1"
	shift
done
check "custody status --json showed an upload in progress (object key, bytes of size)" \
	test $saw_upload = 1
check "custody status --json showed a storage queue" test $saw_queue = 1
# shellcheck disable=SC2086
check "every recording is released (re-docking if storage was slow)" dock_until_released $ALL
for e in $ALL; do
	c=${e%/*}; r=${e#*/}
	key=$(dk_s3_key "$c" "$r")
	check "$e: S3 object decrypts byte-identical" dk_same_s3 "$c" "$r"
	check "$e: vault copy decrypts byte-identical" dk_same "$c" "$r"
	check "$e: uploaded, verified, then released (each once)" lifecycle "$e"
	check "$e: storage_verified names s3://$DK_S3_BUCKET/$key" \
		verified_at "$e" "s3://$DK_S3_BUCKET/$key"
	check "$e: the camera deleted it" sh -c "! '$CAMSIM' list --dir '$DK/cams/$c' | grep -q '^$r '"
done
check "CAM-A/REC-3 went up in two parts (multipart ETag)" \
	is_multipart "$(dk_s3_key CAM-A REC-3)"
check "CAM-B/REC-3 went up in two parts (multipart ETag)" \
	is_multipart "$(dk_s3_key CAM-B REC-3)"
check "CAM-C/REC-1 went up in one PUT (plain MD5 ETag)" is_single "$(dk_s3_key CAM-C REC-1)"
# Both multipart recordings went up with the part digests the ingest took
# (dockd/ingest/partsum.h), and none needed the fallback to hashing.
check "the ingest left part digests next to each multipart vault file" \
	test "$(find "$DK_VAULT" -name '*.parts' | wc -l)" -ge 2
check "multipart uploads used the ingest's part digests" \
	test "$(grep -c 'with the part digests taken at ingest' "$DK_LOG")" -ge 2
check "no part was refused against them" sh -c '! grep -q "checking the vault file" "$1"' - "$DK_LOG"
check "tags: patrol recording has category=patrol retention=90d" \
	has_tags "$(dk_s3_key CAM-A REC-1)" category=patrol retention=90d
check "tags: use-of-force recording has category=use-of-force retention=730d" \
	has_tags "$(dk_s3_key CAM-B REC-2)" category=use-of-force retention=730d
no_uploads() { dk_s3tool uploads >"$DK/uploads.out" 2>&1 && [ ! -s "$DK/uploads.out" ]; }
check "no multipart upload left open in the bucket" no_uploads
# Some checkpoint in the external anchor directory is also in the bucket.
ckpt_uploaded() {
	for f in "$DK/anchor"/checkpoint.*; do
		[ -f "$f" ] || continue
		n=${f##*.}
		for k in "precinct-7/checkpoints/$DK_DOCK_ID/$n.txt" "checkpoints/$DK_DOCK_ID/$n.txt"; do
			dk_s3tool get "$k" "$DK/ck.txt" >/dev/null 2>&1 && cmp -s "$DK/ck.txt" "$f" &&
				return 0
		done
	done
	return 1
}
check "a custody checkpoint is in the bucket, byte-identical to the anchor copy" ckpt_uploaded
check "nothing in the partial area" sh -c "! find '$DK_VAULT/.partial' -type f 2>/dev/null | grep -q ."
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "dockd stops with exit 0 on SIGTERM" dk_stop
check "custody verify is clean" dk_verify
sed 's/^/# verify: /' "$DK/verify.out"
check "no storage alert was raised" test "$(dk_alerts)" = 0
done_testing
