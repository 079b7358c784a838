#!/bin/sh
# dockd's S3 client (dockd/store/s3/s3.h) against a real Ceph RGW on loopback, through
# tests/tools/s3tool: SigV4 over HTTPS with the test CA and over loopback
# http, TLS without the CA, bad credentials, missing bucket, awkward keys,
# multipart with ListParts paging, abort, tagging, Object Lock and a skewed
# clock.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/s3_lib.sh"
mktmp
s3_up

S3TOOL="$TBIN/tools/s3tool"
b=$(s3_uniq cli)
s3_bucket "$b" >/dev/null || { not_ok "create bucket $b"; done_testing; }
tls() { "$S3TOOL" --endpoint "$S3_ENDPOINT_HTTPS" --ca "$S3_CA_FILE" --creds "$S3_CREDS_FILE" \
	--region "$S3_REGION" --bucket "$b" "$@"; }
plain() { "$S3TOOL" --endpoint "$S3_ENDPOINT_HTTP" --creds "$S3_CREDS_FILE" \
	--region "$S3_REGION" --bucket "$b" "$@"; }
quiet() { "$@" >/dev/null; }
# "CMD fails with exit 1 and its stderr contains TEXT"
fails_with() { # desc text cmd...
	d=$1; want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; rc=$?
	if [ "$rc" -eq 1 ] && grep -qF -- "$want" "$T/err"; then ok "$d"
	else not_ok "$d (exit $rc: $(cat "$T/err"))"; fi
}

head -c 300000 /dev/urandom >"$T/obj"
check "put over https with the CA file" quiet tls put plain/obj "$T/obj"
check "get over https" tls get plain/obj "$T/got"
check "https round trip is byte-identical" cmp -s "$T/obj" "$T/got"
tls head plain/obj >"$T/head"
check "head reports the size" grep -qx "size 300000" "$T/head"
check "head reports the MD5 ETag" grep -qx "etag $(md5sum <"$T/obj" | cut -d' ' -f1)" "$T/head"
check "get streamed to SHA-256 matches" sh -c \
	"[ \"\$(\"\$0\" --endpoint \"$S3_ENDPOINT_HTTPS\" --ca \"$S3_CA_FILE\" --creds \"$S3_CREDS_FILE\" \
	--bucket \"$b\" sha plain/obj | cut -d' ' -f1)\" = \"$(sha256sum <"$T/obj" | cut -d' ' -f1)\" ]" \
	"$S3TOOL"
check "put over loopback http" quiet plain put plain/obj2 "$T/obj"
check "get over loopback http" plain get plain/obj2 "$T/got2"
check "http round trip is byte-identical" cmp -s "$T/obj" "$T/got2"

# TLS verification is always on: the test CA is not in the system store.
fails_with "https without the CA file fails verification (no fallback)" \
	CURLE_PEER_FAILED_VERIFICATION \
	"$S3TOOL" --endpoint "$S3_ENDPOINT_HTTPS" --creds "$S3_CREDS_FILE" --bucket "$b" head plain/obj
"$S3TOOL" --endpoint "http://203.0.113.1:80" --creds "$S3_CREDS_FILE" --bucket "$b" head x \
	>/dev/null 2>"$T/err"; rc=$?
check "plain http to a non-loopback host is refused up front" \
	sh -c "[ $rc -eq 2 ] && grep -q 'only allowed to a loopback' '$T/err'"

printf 'access_key = %s\nsecret_key = %s\n' "$S3_ACCESS_KEY" "wrong$S3_SECRET_KEY" >"$T/bad"
chmod 600 "$T/bad"
fails_with "a wrong secret is SignatureDoesNotMatch after exactly 1 attempt" \
	"SignatureDoesNotMatch (HTTP 403, Permission denied, 1 attempt)" \
	"$S3TOOL" --endpoint "$S3_ENDPOINT_HTTP" --creds "$T/bad" --bucket "$b" put x "$T/obj"
chmod 644 "$T/bad"
fails_with "a world-readable credentials file is refused" "not accessible to group or others" \
	"$S3TOOL" --endpoint "$S3_ENDPOINT_HTTP" --creds "$T/bad" --bucket "$b" head x
fails_with "a missing bucket is NoSuchBucket" "NoSuchBucket (HTTP 404, No such device or address" \
	"$S3TOOL" --endpoint "$S3_ENDPOINT_HTTP" --creds "$S3_CREDS_FILE" \
	--bucket "$(s3_uniq nobucket)" put x "$T/obj"
fails_with "head of a missing key is ENOENT" "No such file or directory" plain head no/such/key
fails_with "a skewed clock is RequestTimeTooSkewed (-ETIME)" \
	"RequestTimeTooSkewed (HTTP 403, Timer expired, 1 attempt)" \
	env S3_TEST_CLOCK_SKEW_S=3600 "$S3TOOL" --endpoint "$S3_ENDPOINT_HTTP" \
	--creds "$S3_CREDS_FILE" --bucket "$b" put x "$T/obj"

# Keys S3 allows but naive signers mangle.
head -c 1000 /dev/urandom >"$T/small"
i=0
for k in "with space" "plus+sign" "equals=sign" "deep/er/path" "unicodé/カメラ" "per%cent" \
	"tilde~x" "mix +=%~/ é&?#" "a//double"; do
	i=$((i + 1))
	rm -f "$T/k$i"
	if tls put "$k" "$T/small" >/dev/null && tls get "$k" "$T/k$i" && cmp -s "$T/small" "$T/k$i" &&
	   tls head "$k" | grep -qx "size 1000"; then
		ok "key '$k': put, head, get byte-identical"
	else
		not_ok "key '$k': put, head, get byte-identical"
	fi
done

# Multipart: 3 parts (5 + 5 + 1 MiB), ListParts one part per page.
head -c $((11 * 1024 * 1024)) /dev/urandom >"$T/big"
tls mpu "mp/big file" "$T/big" --part-mb 5 --page 1 >"$T/mpu"
check "multipart: ListParts paged one part at a time (3 pages)" grep -qx "pages 3" "$T/mpu"
check "multipart: 3 parts listed with the sizes and ETags sent" grep -qx "parts 3" "$T/mpu"
check "multipart: HEAD after complete has the full size" grep -qx "size $((11 * 1024 * 1024))" "$T/mpu"
check "multipart: ETag is the 3-part form" grep -qE '^etag [0-9a-f]{32}-3$' "$T/mpu"
tls get "mp/big file" "$T/big.got"
check "multipart object is byte-identical" cmp -s "$T/big" "$T/big.got"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$T/six"
fails_with "a non-final part under 5 MiB is EntityTooSmall" "EntityTooSmall" \
	tls mpu "mp/small parts" "$T/six" --part-mb 1

id=$(tls mpu-start "mp/abort me")
check "create multipart upload returns an id" test -n "$id"
tls uploads mp/ >"$T/ups"
check "the open upload is listed" grep -qF "mp/abort me $id" "$T/ups"
check "abort the upload" tls abort "mp/abort me" "$id"
tls uploads mp/ >"$T/ups2"
check "the aborted upload is no longer listed" sh -c "! grep -qF '$id' '$T/ups2'"
fails_with "aborting it again is NoSuchUpload" "NoSuchUpload" tls abort "mp/abort me" "$id"
for u in $(sed -n 's/^mp\/small parts \([^ ]*\) .*/\1/p' "$T/ups2"); do
	tls abort "mp/small parts" "$u"
done

check "tag an object" tls tag plain/obj "case=2024-001" "officer=J Doe+1"
tls tags plain/obj >"$T/tags"
check "tags read back" sh -c "grep -qx 'case=2024-001' '$T/tags' && grep -qx 'officer=J Doe+1' '$T/tags'"
tls lock-status >"$T/ls"
check "a bucket without Object Lock says so" grep -qx "object-lock disabled" "$T/ls"
fails_with "lock headers on a bucket without Object Lock: InvalidRequest (ENOTSUP)" \
	"Operation not supported" tls put locked "$T/small" --lock-mode COMPLIANCE \
	--retain-until $(( $(date +%s) + 60 ))

# Digests handed in by the caller (struct s3_body md5/sha256) are what the
# server checks: right ones store the object, a wrong one is refused.
md5=$(openssl md5 -r "$T/small" | cut -d' ' -f1)
sha=$(sha256sum "$T/small" | cut -d' ' -f1)
bad=$(printf '%s' "$sha" | tr 0-9a-f 1-9a-f0)
badmd5=$(printf '%s' "$md5" | tr 0-9a-f 1-9a-f0)
check "put with the caller's digests" quiet tls put given "$T/small" --md5 "$md5" --sha256 "$sha"
fails_with "a wrong caller SHA-256 is refused (XAmzContentSHA256Mismatch)" \
	"XAmzContentSHA256Mismatch" tls put given-bad "$T/small" --md5 "$md5" --sha256 "$bad"
fails_with "a wrong caller MD5 is refused (BadDigest)" \
	"BadDigest" tls put given-bad "$T/small" --md5 "$badmd5" --sha256 "$sha"
fails_with "nothing was stored under the refused key" "No such file or directory" tls head given-bad

# Object Lock: COMPLIANCE retention and legal hold refuse a version delete.
lb=$(s3_uniq clilock)
s3_bucket "$lb" lock >/dev/null || not_ok "create Object Lock bucket"
lk() { "$S3TOOL" --endpoint "$S3_ENDPOINT_HTTPS" --ca "$S3_CA_FILE" --creds "$S3_CREDS_FILE" \
	--bucket "$lb" "$@"; }
lk lock-status >"$T/ls2"
check "Object Lock bucket reports it" grep -qx "object-lock enabled" "$T/ls2"
until=$(( $(date +%s) + 120 ))
lk put evidence "$T/small" --lock-mode COMPLIANCE --retain-until "$until" --legal-hold >"$T/lp"
ver=$(sed -n 's/^version //p' "$T/lp")
check "locked put returns a version" sh -c "[ -n '$ver' ] && [ '$ver' != - ]"
lk head evidence --version "$ver" >"$T/lh"
check "head shows COMPLIANCE until the date asked" \
	sh -c "grep -qx 'lock-mode COMPLIANCE' '$T/lh' && grep -qx 'retain-until $until' '$T/lh'"
check "head shows the legal hold" grep -qx "legal-hold on" "$T/lh"
fails_with "deleting the locked version is refused (AccessDenied)" "AccessDenied" \
	lk rm evidence --version "$ver"
check "legal hold can be lifted" lk legal-hold evidence off --version "$ver"
lk head evidence --version "$ver" >"$T/lh2"
check "legal hold reads back off" grep -qx "legal-hold off" "$T/lh2"
fails_with "retention alone still refuses the version delete" "AccessDenied" \
	lk rm evidence --version "$ver"
# PUT ?retention= (s3_put_retention): extend, read back, refuse to shorten.
later=$((until + 3600))
check "retention can be extended (PUT ?retention=)" \
	lk retention evidence COMPLIANCE "$later" --version "$ver"
lk head evidence --version "$ver" >"$T/lh3"
check "head shows the extended retain-until" grep -qx "retain-until $later" "$T/lh3"
fails_with "shortening COMPLIANCE retention is refused (AccessDenied)" "AccessDenied" \
	lk retention evidence COMPLIANCE "$until" --version "$ver"
fails_with "an unknown retention mode is a usage error of the client" "Invalid argument" \
	lk retention evidence FOREVER "$later" --version "$ver"
fails_with "retention on a bucket without Object Lock: ENOTSUP" "Operation not supported" \
	tls retention plain/obj COMPLIANCE "$later"
check "the locked object is intact" sh -c "lk() { \"\$0\" --endpoint '$S3_ENDPOINT_HTTPS' \
	--ca '$S3_CA_FILE' --creds '$S3_CREDS_FILE' --bucket '$lb' \"\$@\"; }; \
	lk get evidence '$T/ev.got' && cmp -s '$T/small' '$T/ev.got'" "$S3TOOL"

done_testing
