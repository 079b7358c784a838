#!/bin/sh
# Mass-storage ingest against reading the volume twice by hand (issue 14):
# one recording of MSC_BENCH_MB MiB (default 1024) in a FAT32 image,
# docked with `dockd volume-ingest` (sandboxed reader, fusefat; one pass
# read + SHA-256 + AES-256-GCM into the vault, then a second read past the
# page cache and compare). Ingest time = the ledger's ingest_started ->
# ingested of that item (what the dock spends on it; the upload to the
# file:// target comes after). Baseline = `cat FILE >/dev/null` then
# `dd if=FILE of=VAULT/x bs=1M conv=fsync`, one after the other, FILE on
# the same image through fusefat (read-only, private mount namespace),
# the copy on the vault's file system.
# ROUNDS rounds (default 3; MSC_BENCH_ROUNDS is the older name), the dock
# and the baseline taking turns (the order swaps every round: this shared
# virtual disk's rate swings by 2x between runs minutes apart, so one run
# of each compares noise). Every round's figures, with /proc/loadavg
# before and after, are printed as a `#` line; the BENCH lines are the
# medians over the rounds:
#   BENCH msc_ingest_ratio   ratio  median of the rounds' baseline/ingest
#                                   (target >= 0.8)
#   BENCH msc_ingest_MBps    MB/s   ingest rate
#   BENCH msc_ingest_s       s      ingest time
#   BENCH msc_cat_s / msc_dd_fsync_s  s  the baseline's two halves
# Needs root, /dev/fuse, dosfstools, mtools, fusefat; skipped otherwise.
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BIN:=$TOP/build/bin}"
: "${TBIN:=$TOP/build/tests}"
MB=${MSC_BENCH_MB:-1024}
ROUNDS=${ROUNDS:-${MSC_BENCH_ROUNDS:-3}}
for c in mkfs.vfat mcopy mmd fusefat unshare sqlite3; do
	command -v $c >/dev/null 2>&1 || { echo "msc_ingest: no $c; skipped"; exit 0; }
done
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "msc_ingest: needs root and /dev/fuse; skipped"
	exit 0
fi
. "$TOP/tests/lib.sh"
. "$TOP/tests/dockd_lib.sh"
# Same disk as the build tree (not /tmp, which may be a RAM disk).
mkdir -p "$TOP/build" || exit 1
T=$(mktemp -d "$TOP/build/bench-msc.XXXXXX")
trap 'rm -rf "$T"' EXIT
SER=MSC-BENCH-1
IMG=$T/cam.img
head -c $((MB * 1048576)) /dev/urandom >"$T/rec.mp4"
mkfs.vfat -C -F 32 "$IMG" $(((MB + 64) * 1024)) >/dev/null || exit 1
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA || exit 1
mcopy -i "$IMG" "$T/rec.mp4" ::DCIM/100MEDIA/BENCH.MP4 || exit 1
rm -f "$T/rec.mp4"
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# one docking on a fresh dock state; prints the ingest seconds
ingest_round() { # N
	DK_VAULT=$T/dk$1/vault DK_RELEASE_WAIT=1 DK_LOG_LEVEL=info
	dk_init "$T/dk$1" storage >/dev/null 2>&1 || return 1
	printf '\n[profile bench]\nrecordings = DCIM/*/*.MP4\nrelease = keep\n' >>"$DK_CONF"
	"$DOCKD" --config "$DK_CONF" enroll --serial $SER --pubkey "$(openssl rand -hex 32)" \
		--officer OFF-B --reason bench >/dev/null || return 1
	"$DOCKD" --config "$DK_CONF" volume-ingest --camera $SER --profile bench --fs vfat \
		"$IMG" >"$DK_LOG" 2>&1 || return 1
	sqlite3 -readonly "$DK_DB" "SELECT (max(CASE WHEN action=5 THEN time_ns END) -
		min(CASE WHEN action=4 THEN time_ns END)) / 1e9 FROM events
		WHERE evidence_id LIKE '$SER/%'"
	rm -rf "$T/dk$1/vault" "$T/dk$1/store"
}

# cat then dd conv=fsync of the same file through fusefat; prints both
baseline_round() { # N
	mkdir -p "$T/mnt" "$T/dk$1-base"
	unshare -m --propagation private sh -c '
		fusefat -o ro "$1" "$2" >/dev/null 2>&1 || exit 1
		i=0; while ! mountpoint -q "$2" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		a=$(date +%s.%N); cat "$2/DCIM/100MEDIA/BENCH.MP4" >/dev/null; b=$(date +%s.%N)
		dd if="$2/DCIM/100MEDIA/BENCH.MP4" of="$3/x" bs=1M conv=fsync 2>/dev/null
		c=$(date +%s.%N); umount "$2"
		echo "$a $b $c"' x "$IMG" "$T/mnt" "$T/dk$1-base" |
		awk '{ printf "%.3f %.3f\n", $2 - $1, $3 - $2 }'
	rm -rf "$T/dk$1-base"
}

: >"$T/ratios"
: >"$T/rates"
: >"$T/ing"
: >"$T/cat"
: >"$T/dd"
i=1
while [ $i -le "$ROUNDS" ]; do
	l0=$(load)
	if [ $((i % 2)) = 1 ]; then
		ing=$(ingest_round $i) || { echo "msc_ingest: round $i ingest failed"; tail -5 "$DK_LOG"; exit 1; }
		base=$(baseline_round $i)
	else
		base=$(baseline_round $i)
		ing=$(ingest_round $i) || { echo "msc_ingest: round $i ingest failed"; tail -5 "$DK_LOG"; exit 1; }
	fi
	l1=$(load)
	case "$ing $base" in
	*[0-9]" "*[0-9]" "*[0-9]) ;;
	*) echo "msc_ingest: round $i gave no figures (ingest '$ing', baseline '$base')"; exit 1 ;;
	esac
	echo "$ing $base $i" | awk -v mb="$MB" -v l0="$l0" -v l1="$l1" '{
		b = $2 + $3; printf "# round %d (%s first): ingest %.2f s (%.0f MB/s), cat %.2f s + dd conv=fsync %.2f s = %.2f s, ratio %.3f; load %s -> %s\n",
		$4, $4 % 2 ? "ingest" : "baseline", $1, mb * 1.048576 / $1, $2, $3, b, b / $1, l0, l1 }'
	set -- $ing $base
	echo "$1 $2 $3" | awk '{ printf "%.4f\n", ($2 + $3) / $1 }' >>"$T/ratios"
	echo "$1" | awk -v mb="$MB" '{ printf "%.1f\n", mb * 1.048576 / $1 }' >>"$T/rates"
	echo "$1" >>"$T/ing"
	echo "$2" >>"$T/cat"
	echo "$3" >>"$T/dd"
	i=$((i + 1))
done
# the middle value; the mean of the two middle ones for an even count
med() { # FILE [PRINTF-FORMAT]
	sort -n "$1" | awk -v f="${2:-%.3f}" '{ v[NR] = $1 } END {
		printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "BENCH msc_ingest_ratio $(med "$T/ratios") ratio (baseline/ingest, target >= 0.8; $MB MiB, median of $ROUNDS rounds)"
echo "BENCH msc_ingest_MBps $(med "$T/rates" %.1f) MB/s"
echo "BENCH msc_ingest_s $(med "$T/ing" %.2f) s"
echo "BENCH msc_cat_s $(med "$T/cat" %.2f) s"
echo "BENCH msc_dd_fsync_s $(med "$T/dd" %.2f) s"
