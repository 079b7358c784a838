# tests/msc_lib.sh - shared by the umockdev mass-storage tests (msc_detect.sh,
# msc_resume.sh): sourced after tests/lib.sh.
#
# desc FILE N SERIAL DISK: a umockdev description of USB device 1-N (idVendor
# $VID, idProduct $PID, serial SERIAL), its mass-storage interface (class 08),
# SCSI host/target/device, disk DISK and one partition, both with the node
# $LOOP; udev's properties as its blkid builtin sets them (a dos partition
# table on the disk, vfat 1234-ABCD on the partition). FILE.paths lists the
# sysfs paths in unplug order (deepest first).
desc() { # FILE N SERIAL DISK
	base=/devices/pci0000:00/0000:00:14.0/usb1/1-$2
	blk=$base/1-$2:1.0/host$2/target$2:0:0/$2:0:0:0/block/$4
	cat >"$1" <<EOD
P: $base
E: DEVTYPE=usb_device
E: SUBSYSTEM=usb
A: idVendor=$VID
A: idProduct=$PID
A: serial=$3
A: busnum=1
A: devnum=$2

P: $base/1-$2:1.0
E: DEVTYPE=usb_interface
E: SUBSYSTEM=usb
A: bInterfaceClass=08
A: bInterfaceSubClass=06
A: bInterfaceProtocol=50

P: $base/1-$2:1.0/host$2
E: DEVTYPE=scsi_host
E: SUBSYSTEM=scsi

P: $base/1-$2:1.0/host$2/target$2:0:0
E: DEVTYPE=scsi_target
E: SUBSYSTEM=scsi

P: $base/1-$2:1.0/host$2/target$2:0:0/$2:0:0:0
E: DEVTYPE=scsi_device
E: SUBSYSTEM=scsi

P: $blk
E: DEVTYPE=disk
E: SUBSYSTEM=block
E: DEVNAME=$LOOP
E: ID_PART_TABLE_TYPE=dos

P: $blk/${4}1
E: DEVTYPE=partition
E: SUBSYSTEM=block
E: DEVNAME=$LOOP
E: ID_FS_TYPE=vfat
E: ID_FS_UUID=1234-ABCD
EOD
	# unplug order: deepest first
	printf '%s\n' "/sys$blk/${4}1" "/sys$blk" "/sys$base/1-$2:1.0/host$2/target$2:0:0/$2:0:0:0" \
		"/sys$base/1-$2:1.0/host$2/target$2:0:0" "/sys$base/1-$2:1.0/host$2" \
		"/sys$base/1-$2:1.0" "/sys$base" >"$1.paths"
}

# The umockdev harness (tests/usb, mode msc) running dockd: harness_start
# [OPTIONS] starts it with control fifo $CTL and status file $ST (set both,
# and mkfifo "$CTL", first; $H the harness, $DOCKD/$DK_CONF/$DK_LOG from
# dockd_lib.sh); ctl COMMAND runs one harness command and waits for it;
# plug FILE / unplug FILE add or remove a desc() device; harness_stop ends
# it (dockd's status in $HRC); wait_for SECONDS CMD... polls, bounded.
harness_start() { # [HARNESS OPTIONS]
	: >"$ST"
	umockdev-wrapper "$H" msc --ctl "$CTL" --status "$ST" --timeout 120 "$@" \
		-- "$DOCKD" --config "$DK_CONF" >>"$DK_LOG" 2>&1 &
	HPID=$!
	wait_for 60 grep -qx ready "$ST"
}
wait_for() { # SECONDS CMD...: bounded polling
	w_n=$(($1 * 10)); shift
	while ! "$@"; do
		w_n=$((w_n - 1))
		[ $w_n -gt 0 ] || return 1
		sleep 0.1
	done
}
NCMD=0
ctl() { # COMMAND: run it in the harness, wait until it is done
	NCMD=$((NCMD + 1))
	echo "$1" >"$CTL"
	wait_for 20 grep -qx "done $NCMD" "$ST" ||
		{ echo "# harness status after '$1':"; sed 's/^/#   /' "$ST"; return 1; }
}
plug() { ctl "add $1"; }
unplug() { while read -r p; do ctl "remove $p" || return 1; done <"$1.paths"; }
harness_stop() { # the harness exits with dockd's status
	NCMD=$((NCMD + 1)); echo term >"$CTL"
	wait "$HPID"; HRC=$?
}
