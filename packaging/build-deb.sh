#!/usr/bin/env bash
# Builds target/haproxy-lb_<version>_all.deb with dpkg-deb from the tree `make install DESTDIR=...` staged in
# $1 (make deb does both), then runs lintian on it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:?usage: packaging/build-deb.sh STAGED_ROOT}
pkg=packaging/debian

upstream=$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' pom.xml | head -n 1)
version=${upstream//-/\~}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The state directory belongs to postinst (user, groups, modes); dpkg would reset a shipped one to root on upgrade.
rm -rf "$root/var"
chmod -R u=rwX,go=rX "$root"
chmod 0755 "$root"/usr/share/haproxy-lb/bin/*

doc=$root/usr/share/doc/haproxy-lb
install -d "$doc"
install -m 0644 "$pkg/copyright" "$doc/copyright"
sed -e "s/@VERSION@/$version/" -e "s/@COMMIT@/$commit/" \
    -e "s/@DATE@/$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")/" \
    "$pkg/changelog.in" | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

overrides=$root/usr/share/lintian/overrides
install -d "$overrides"
install -m 0644 packaging/debian/lintian-overrides "$overrides/haproxy-lb"

install -d -m 0755 "$root/DEBIAN"
install -m 0755 "$pkg/postinst" "$pkg/prerm" "$pkg/postrm" "$root/DEBIAN/"
install -m 0644 "$pkg/triggers" "$root/DEBIAN/"
# Everything under /etc is the operator's: kept (or asked about) on upgrade, removed on purge.
(cd "$root" && find etc -type f | sort | sed 's:^:/:') > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's:^\./::' | sort | xargs md5sum) \
    > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$pkg/control.in" > "$root/DEBIAN/control"
chmod 0644 "$root/DEBIAN/control"

deb=target/haproxy-lb_${version}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "Built $deb"
# Warnings kept on purpose are overridden, each with why, in packaging/debian/lintian-overrides; errors fail.
lintian --fail-on error,warning "$deb"
