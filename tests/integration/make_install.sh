#!/bin/sh
# `make install` (issue 15): dockd and custody but not the test camera
# camsim; the systemd unit, the udev rule, the commented example
# configuration, the docs, and man pages for dockd, custody, dockd.conf and
# every subcommand in the two command tables (scdoc).
. "$(dirname "$0")/../lib.sh"
command -v scdoc >/dev/null || { skip "make install" "scdoc missing (packaging/install-deps.sh)"; done_testing; }
[ -x "$BIN/dockd" ] || { skip "make install" "dockd not built"; done_testing; }
mktmp
D="$T/root"
make -s -C "$TOP" BUILD="$(cd "$BIN/.." && pwd)" install PREFIX=/usr DESTDIR="$D" >"$T/make.log" 2>&1
check "make install PREFIX=/usr DESTDIR=... succeeds" [ $? -eq 0 ] || sed 's/^/#   /' "$T/make.log"
check "dockd in /usr/sbin" [ -x "$D/usr/sbin/dockd" ]
check "custody in /usr/bin" [ -x "$D/usr/bin/custody" ]
check "dockd's fusermount in /usr/libexec/dockd/fuse/, not setuid" \
	sh -c "[ -x '$D/usr/libexec/dockd/fuse/fusermount' ] && [ ! -u '$D/usr/libexec/dockd/fuse/fusermount' ]"
check "camsim, a test tool, is not installed" [ -z "$(find "$D" -name 'camsim*')" ]
check "the systemd unit" [ -f "$D/lib/systemd/system/evidence-dockd.service" ]
check "the udev rule" [ -f "$D/lib/udev/rules.d/70-evidence-dock.rules" ]
check "the mass-storage camera udev rule" [ -f "$D/lib/udev/rules.d/71-evidence-dock-storage.rules" ]
ex="$D/usr/share/doc/evidence-dock/examples/dockd.conf"
check "the example configuration, with comments" sh -c "grep -q '^#' '$ex' && grep -q '^\[dock\]' '$ex'"
check "the operations guide" [ -f "$D/usr/share/doc/evidence-dock/operations.md" ]
man_ok() { [ -s "$1" ] && grep -q '^\.TH ' "$1"; }
check "man page dockd(8)" man_ok "$D/usr/share/man/man8/dockd.8"
check "man page custody(1)" man_ok "$D/usr/share/man/man1/custody.1"
check "man page dockd.conf(5)" man_ok "$D/usr/share/man/man5/dockd.conf.5"
for c in $(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", cmd_[a-z_]*,.*/\1/p' "$TOP/custody/cmd/main.c"); do
	check "man page custody-$c(1)" man_ok "$D/usr/share/man/man1/custody-$c.1"
done
for c in $(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", admin_[a-z_]*,.*/\1/p' "$TOP/dockd/core/main.c"); do
	check "man page dockd-$c(8)" man_ok "$D/usr/share/man/man8/dockd-$c.8"
done
if command -v groff >/dev/null; then
	check "the pages format without warnings" sh -c "! groff -man -Tutf8 -ww -z '$D'/usr/share/man/man*/* 2>&1 | grep -q ."
fi
done_testing
