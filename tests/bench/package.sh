#!/bin/sh
# Court packages of big evidence files (issue 13: "packages of 1 and 10 GiB
# stream in bounded memory (RSS under 64 MiB) at >= 0.8 of tar writing the
# same files"; figures only, no assertions).
# Set-up, the cheapest honest one: for each size a camsim camera with one
# recording of SIZE GiB (pseudo-random, AES-CTR keystream) is docked and
# ingested by a real dockd (--exit-when-idle, 1 MiB chunks), so the item
# has a real vault file and a real ledger record whose `ingested` event
# holds the file's ct_sha256 (the hash `custody export` records and checks
# while copying); a witness key then cosigns dockd's last checkpoint
# (tests/tools/cosign, as custody_export.sh does). The camera's copy, the
# plaintext and the file:// storage copy are deleted before the rounds.
# Rounds alternate two turns over that file, writing to the same disk
# (under build/, not /tmp):
#   export   custody export BIG<S>/REC-1 --out P.tar (BagIt tar:
#            the evidence file, its history, tlog-proofs, keys, manifests;
#            the `exported` event first; fsync at the end)
#   tar      tar -cf T.tar -C VAULTDIR REC-1.bcde (the same file), then
#            `sync T.tar` (fsync: the export's durability, so both turns
#            leave no dirty pages behind)
# Order: export, tar, tar, export, export, tar ... (PKG_ROUNDS rounds,
# default 3); each output is deleted after its turn. Wall time and peak
# RSS from /usr/bin/time -f '%e %M' (RSS of the custody process itself).
#   BENCH package_<S>g_ratio_round_N  ratio  tar time / export time
#   BENCH package_<S>g_ratio          ratio  median of the rounds (target >= 0.8)
#   BENCH package_<S>g_export_MBps    MB/s   median export rate
#   BENCH package_<S>g_rss_max        MiB    largest peak RSS of custody export
#                                            over the rounds (target < 64)
# Environment (tests/bench.sh): TOP, BUILD, BIN, TBIN. PKG_SIZES (GiB,
# default "1 10"), PKG_ROUNDS (3). A size is skipped, saying so, when the
# disk of build/ has less than 3 x SIZE + 4 GiB free (camera, vault and
# storage copies during the ingest; then the vault file and one output at
# a time; and room for everyone else on the machine).
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
: "${TBIN:=$TOP/$BUILD/tests}"
. "$TOP/tests/lib.sh" >/dev/null
. "$TOP/tests/dockd_lib.sh"
PKG_SIZES=${PKG_SIZES:-1 10}
PKG_ROUNDS=${PKG_ROUNDS:-3}
CS="$TBIN/tools/cosign"
if [ ! -x "$DOCKD" ] || [ ! -x "$CUSTODY" ] || [ ! -x "$CS" ]; then
	echo "package bench: dockd, custody or tests/tools/cosign not built; skipped"
	exit 0
fi
[ -x /usr/bin/time ] || { echo "package bench: /usr/bin/time missing (Debian package time); skipped"; exit 0; }
W=$(mktemp -d "$TOP/build/bench-package.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT

# ---- keys, configuration, witness ---------------------------------------
DK_CHUNK=1048576
dk_init "$W/dk" >/dev/null || exit 1
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey" >/dev/null
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
"$CUSTODY" agency-sign custody-cert --key "$A" --agency-id "$DK_AGENCY" \
	--dock-id "$DK_DOCK_ID" --origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$DK/state/ckpt.vkey" \
	--dock-pub "$dk_pub" --days 365 --out "$DK/keys/custody.cert" >/dev/null
sed -i "/^checkpoint_interval_s/a custody_cert = $DK/keys/custody.cert\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness))"
big_item() { # SERIAL GIB: one recording ingested, its checkpoint cosigned
	dk_camera "$1" 1 $(($2 << 30)) >/dev/null || return 1
	rm -rf "$DK/orig/$1"
	dk_start --exit-when-idle || return 1
	dk_dock "$1" >/dev/null 2>&1
	wait "$DK_PID"; bi_rc=$?; DK_PID=
	[ $bi_rc = 0 ] || { tail "$DK_LOG"; return 1; }
	rm -rf "$DK/cams/$1" "$DK_STORE/$DK_AGENCY/$1"
	bi_n=$(dk_sql "SELECT max(size) FROM checkpoints")
	bi_line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$bi_n") || return 1
	sqlite3 "$DK_DB" "INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($bi_n, 'witness.test/w1', '$bi_line', 0)"
}

# ---- rounds ------------------------------------------------------------
mkdir -p "$W/out"
turn() { # export|tar SERIAL: prints "seconds peak_rss_kib"
	rm -f "$W/out/"*
	if [ "$1" = export ]; then
		/usr/bin/time -f '%e %M' -o "$W/time" "$CUSTODY" --config "$DK_CONF" export "$2/REC-1" \
			--out "$W/out/p.tar" --reason "package bench" >/dev/null 2>"$W/err" ||
			{ echo "package bench: custody export failed:" >&2; cat "$W/err" >&2; return 1; }
	else
		/usr/bin/time -f '%e %M' -o "$W/time" sh -c \
			'tar -cf "$1/t.tar" -C "$2" REC-1.bcde && sync "$1/t.tar"' sh "$W/out" \
			"$DK_VAULT/$DK_AGENCY/$2" ||
			{ echo "package bench: tar failed" >&2; return 1; }
	fi
	tail -n 1 "$W/time"
	rm -f "$W/out/"*
}
med() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
for S in $PKG_SIZES; do
	avail=$(df -k --output=avail "$W" | tail -n 1)
	need=$(( (3 * S + 4) * 1048576 ))
	if [ "$avail" -lt "$need" ]; then
		echo "# package ${S} GiB: SKIPPED: $((avail / 1048576)) GiB free on the disk of build/, $((need / 1048576)) GiB needed"
		continue
	fi
	t0=$(date +%s)
	big_item "BIG$S" "$S" || { echo "package bench: ingesting the ${S} GiB item failed"; exit 1; }
	F=$(dk_vault_file "BIG$S" REC-1)
	echo "# package ${S} GiB: BIG$S/REC-1, vault file $(stat -c %s "$F") bytes, ingested in $(($(date +%s) - t0)) s; load average $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
	ratios="" rates="" rss=0
	r=1
	while [ $r -le "$PKG_ROUNDS" ]; do
		if [ $((r % 2)) = 1 ]; then order="export tar"; else order="tar export"; fi
		for t in $order; do
			v=$(turn $t "BIG$S") || exit 1
			eval "s_$t=\${v% *} k_$t=\${v#* }"
		done
		rr=$(python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$s_tar" "$s_export")
		mbps=$(python3 -c 'import sys; print("%.1f" % (int(sys.argv[1]) / 1e6 / float(sys.argv[2])))' "$(stat -c %s "$F")" "$s_export")
		echo "# round $r ($order): export ${s_export} s (${mbps} MB/s, peak RSS $((k_export / 1024)) MiB), tar+sync ${s_tar} s; load $(cut -d' ' -f1 /proc/loadavg)"
		echo "BENCH package_${S}g_ratio_round_$r $rr ratio"
		ratios="$ratios $rr" rates="$rates $mbps"
		[ "$k_export" -gt "$rss" ] && rss=$k_export
		r=$((r + 1))
	done
	echo "BENCH package_${S}g_ratio $(med $ratios) ratio"
	echo "BENCH package_${S}g_export_MBps $(med $rates) MB/s"
	echo "BENCH package_${S}g_rss_max $(python3 -c 'import sys; print("%.1f" % (int(sys.argv[1]) / 1024))' "$rss") MiB"
	rm -f "$F"
done
