#!/bin/sh
# Keys in a PKCS#11 token (softhsm2) with an s3:// target (a real Ceph RGW,
# tests/s3_lib.sh): the dock and checkpoint keys are created in the token
# and never exist as files; a camera docks, its recordings (one single PUT,
# one multipart) reach storage_verified in the bucket, are released on
# token-signed receipts the camera verifies, decrypt with the agency key,
# and the token-signed checkpoints verify with `custody verify`.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/p11_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
p11_require
mktmp
s3_up
WAIT=90
released() { [ "$(dk_state "$1")" = released ]; }
dock_until_released() {
	for try in 1 2 3 4; do
		released CAM-1/REC-1 && released CAM-1/REC-2 && return 0
		dk_wait_count stored_local 0 "$WAIT"
		dk_dock CAM-1
	done
	return 1
}
check "a fresh softhsm2 token" p11_up "$T/hsm" dock
DK_KEY=$(p11_uri dock-key)
DK_CKPT_KEY=$(p11_uri ckpt-key)
DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-p11)
DK_S3_EXTRA="part_size_mb = 5"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "keys created in the token, certificate, s3:// config" dk_init "$T/dk"
check "camera CAM-1 enrolled" dk_camera CAM-1 1 150000
dk_randfile "$DK/orig/CAM-1/REC-2.bin" $((5 * 1048576 + 300000)) big
check "CAM-1/REC-2 larger than a part (multipart)" "$CAMSIM" add --dir "$DK/cams/CAM-1" \
	--id REC-2 --file "$DK/orig/CAM-1/REC-2.bin" --category patrol \
	--start 1700009000 --end 1700009300
check "dockd starts with both keys in the token" dk_start
check "docking: camsim exits 0 (it accepted the token-signed AUTH_DOCK)" dk_dock CAM-1
check "both recordings released (re-docking if the upload was slow)" dock_until_released
for r in REC-1 REC-2; do
	check "CAM-1/$r: S3 object decrypts byte-identical" dk_same_s3 CAM-1 $r
	check "CAM-1/$r: released after storage_verified" dk_order "CAM-1/$r" storage_verified camera_released
	check "CAM-1/$r: the camera verified the receipt and deleted it" \
		sh -c "! '$CAMSIM' list --dir '$DK/cams/CAM-1' | grep -q '^$r '"
done
check "dockd stops cleanly" dk_stop
check "custody verify is clean (token-signed checkpoints)" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
check "checkpoints were published" [ -n "$(ls "$DK/anchor")" ]
check "no dock.key or ckpt.key file" [ ! -e "$DK/state/dock.key" -a ! -e "$DK/state/ckpt.key" ]
check "no private key file under the dock's state, vault or anchor" sh -c \
	"! grep -rl 'PRIVATE KEY' '$DK/state' '$DK_VAULT' '$DK/anchor' 2>/dev/null | grep -q ."
done_testing
