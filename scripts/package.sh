#!/usr/bin/env bash
# Builds the Debian package: target/debian/bantam_VERSION_ARCH.deb.
#
# With dpkg-deb from a staged tree (nothing to install: dpkg-deb is on every
# Debian machine). The man page and completions come from the binary itself
# (`bantam manpage`, `bantam completions SHELL`), so they always match it.
#
#   scripts/package.sh            release build, then the package
#   BANTAM_BIN=path scripts/...   package that binary instead of building
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
bin=${BANTAM_BIN:-target/release/bantam}
if [[ -z "${BANTAM_BIN:-}" ]]; then
  cargo build --release --locked -p bantam
fi

out=target/debian
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

put() { # put MODE SOURCE DEST
  install -D -m "$1" "$2" "$stage/$3"
}
put 0755 "$bin" usr/bin/bantam
put 0644 dist/bantam.service usr/lib/systemd/system/bantam.service
put 0644 dist/bantam.sysusers usr/lib/sysusers.d/bantam.conf
put 0644 dist/bantam.toml etc/bantam/bantam.toml
mkdir -p "$stage/etc/bantam/conf.d"
put 0644 dist/bantam-fail2ban.conf usr/share/doc/bantam/examples/bantam-fail2ban.conf
put 0644 README.md usr/share/doc/bantam/README.md

"$bin" manpage | gzip -9n > "$out/bantam.8.gz"
put 0644 "$out/bantam.8.gz" usr/share/man/man8/bantam.8.gz
"$bin" completions bash > "$out/bantam.bash"
"$bin" completions zsh > "$out/_bantam"
"$bin" completions fish > "$out/bantam.fish"
put 0644 "$out/bantam.bash" usr/share/bash-completion/completions/bantam
put 0644 "$out/_bantam" usr/share/zsh/vendor-completions/_bantam
put 0644 "$out/bantam.fish" usr/share/fish/vendor_completions.d/bantam.fish

cat > "$stage/usr/share/doc/bantam/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bantam
Files: *
License: Apache-2.0 or MIT
COPYRIGHT

for script in postinst prerm postrm; do
  put 0755 "dist/debian/$script" "DEBIAN/$script"
done
echo /etc/bantam/bantam.toml > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: bantam
Version: $version
Architecture: $arch
Maintainer: bantam developers <bantam@localhost>
Installed-Size: $size
Depends: libc6, passwd
Recommends: nftables
Suggests: man-db
Section: net
Priority: optional
Homepage: https://github.com/bantam/bantam
Description: ban hosts that fail to authenticate (fail2ban successor)
 bantam reads logs (files, the journal, pipes), finds failed logins and
 other abuse with filters, and bans the addresses behind them in nftables
 for a while. It also runs fail2ban configurations, with their filters and
 actions.
CONTROL

deb="$out/bantam_${version}_${arch}.deb"
# Root-owned files whoever builds it.
dpkg-deb --root-owner-group --build -Zxz "$stage" "$deb" >/dev/null
rm -rf "$stage" "$out/bantam.8.gz" "$out/bantam.bash" "$out/_bantam" "$out/bantam.fish"
echo "$deb"
