#!/bin/sh
# Build the evidence-dock Debian package with dpkg-deb alone (no debhelper).
#   sh packaging/deb/build.sh BUILD_DIR VERSION [OUT.deb]
# BUILD_DIR holds bin/dockd and bin/custody (`make BUILD=... all`). The
# default output is BUILD_DIR/evidence-dock_VERSION_ARCH.deb. camsim, the
# simulated camera, is a test tool and is not packaged.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:?usage: build.sh BUILD_DIR VERSION [OUT.deb]}
ver=${2:?usage: build.sh BUILD_DIR VERSION [OUT.deb]}
arch=$(dpkg --print-architecture)
out=${3:-$b/evidence-dock_${ver}_${arch}.deb}
case "$ver" in
*[!0-9A-Za-z.+~-]* | "" | [!0-9]*) echo "build.sh: bad version '$ver'" >&2; exit 2 ;;
esac
for f in bin/dockd bin/custody libexec/dockd/dockd-linkw libexec/dockd/fuse/fusermount; do
	[ -x "$b/$f" ] || { echo "build.sh: $b/$f missing (make all first)" >&2; exit 1; }
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/evidence-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
r="$stage/root"
doc="$r/usr/share/doc/evidence-dock"

install -d -m 0755 "$r/DEBIAN" "$r/usr/sbin" "$r/usr/bin" "$r/usr/libexec/dockd" "$r/lib/udev/rules.d" \
	"$r/lib/systemd/system" "$doc/examples"
install -m 0755 "$b/bin/dockd" "$r/usr/sbin/dockd"
# the camera-link worker program: dockd execs it from ../libexec/dockd/
install -m 0755 "$b/libexec/dockd/dockd-linkw" "$r/usr/libexec/dockd/dockd-linkw"
# dockd's own fusermount (exFAT for a reader that is not root): from ../libexec/dockd/fuse/
install -D -m 0755 "$b/libexec/dockd/fuse/fusermount" "$r/usr/libexec/dockd/fuse/fusermount"
install -m 0755 "$b/bin/custody" "$r/usr/bin/custody"
install -m 0755 "$b/bin/custody-console" "$r/usr/bin/custody-console"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$r/usr/sbin/dockd" "$r/usr/libexec/dockd/dockd-linkw" "$r/usr/libexec/dockd/fuse/fusermount" \
	"$r/usr/bin/custody" \
	"$r/usr/bin/custody-console"
install -m 0644 "$top/udev/70-evidence-dock.rules" "$r/lib/udev/rules.d/"
install -m 0644 "$top/udev/71-evidence-dock-storage.rules" "$r/lib/udev/rules.d/"
install -m 0644 "$top/packaging/systemd/evidence-dockd.service" "$r/lib/systemd/system/"
# the web console (docs/console.md): its unit is installed, not enabled
install -m 0644 "$top/packaging/systemd/evidence-console.service" "$r/lib/systemd/system/"
for d in "$top"/docs/*.md; do
	install -m 0644 "$d" "$doc/"
done
[ -f "$top/README.md" ] && install -m 0644 "$top/README.md" "$doc/README.md"
install -m 0644 "$top/packaging/deb/dockd.conf.example" "$doc/examples/dockd.conf"
install -m 0644 "$top/packaging/pam/evidence-console" "$doc/examples/pam.d-evidence-console"
install -m 0644 "$top/packaging/deb/copyright" "$doc/copyright"
# man pages (packaging/man/build.sh, scdoc), compressed as Debian wants
sh "$top/packaging/man/build.sh" "$b/bin" "$stage/man" >/dev/null
for m in "$stage"/man/*; do
	sec=${m##*.}
	install -d -m 0755 "$r/usr/share/man/man$sec"
	gzip -9n <"$m" >"$r/usr/share/man/man$sec/$(basename "$m").gz"
	chmod 0644 "$r/usr/share/man/man$sec/$(basename "$m").gz"
done
{
	printf 'evidence-dock (%s) unstable; urgency=medium\n\n' "$ver"
	printf '  * Package built from the source tree.\n\n'
	printf ' -- Evidence Dock maintainers <maintainers@evidence-dock.example.org>  %s\n' \
		"$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

for s in postinst prerm postrm; do
	install -m 0755 "$top/packaging/deb/$s" "$r/DEBIAN/$s"
done
size=$(du -sk --exclude=DEBIAN "$r" | cut -f1)
sed -e "s/@VERSION@/$ver/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	"$top/packaging/deb/control.in" >"$r/DEBIAN/control"
(cd "$r" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
	xargs md5sum) >"$r/DEBIAN/md5sums"
chmod 0644 "$r/DEBIAN/control" "$r/DEBIAN/md5sums"

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$r" "$out" >/dev/null
echo "$out"
