#!/bin/sh
# Install the Debian 12 packages needed to build, test and run the dock.
# Idempotent: installs only what is missing, so `make check` can call it on
# every run. Needs root (or sudo) only when something is actually missing.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libusb-1.0-0-dev libudev-dev libumockdev-dev umockdev libglib2.0-dev
libcmocka-dev libssl-dev openssl libsqlite3-dev sqlite3 libcurl4-openssl-dev
libinih-dev libjansson-dev libsystemd-dev libarchive-dev zlib1g-dev
valgrind python3 python3-cryptography xxd util-linux fiu-utils
libexpat1-dev ceph-mon ceph-osd radosgw ceph-common rclone faketime
libdeflate-dev libmicrohttpd-dev libseccomp-dev systemd
libp11-kit-dev softhsm2 opensc scdoc lintian
libpam0g-dev liboath-dev libpam-wrapper chromium chromium-driver python3-selenium
dosfstools exfatprogs mtools fusefat exfat-fuse"


missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
