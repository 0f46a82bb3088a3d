#!/usr/bin/env bash
# Runs every test bantam has: formatting, lints, unit, property and end-to-end
# tests. It installs what the tests need when missing, so that it works the same
# on a fresh Debian machine and in CI. Tests that need root (network namespaces,
# nftables, a real sshd) run when we are root; with CI set they must not skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive for real. Installed only when missing, so a
# second run costs nothing and never touches the network.
packages=(nftables iproute2 openssh-server openssh-client sshpass rsyslog fail2ban ipset iptables time systemd-journal-remote tcpdump netcat-openbsd bc python3-aiosmtpd man-db systemd chromium curl postgresql nginx wget)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: missing packages (${missing[*]}) and not root to install them" >&2
    [[ -n "${CI:-}" ]] && exit 1
  else
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# Coverage-guided fuzzing, a short run of every target (fuzz/README.md has
# the longer one): a crash fails the run and leaves its input in
# fuzz/artifacts/ to become a regression test.
bash scripts/fuzz.sh "${BANTAM_FUZZ_SECONDS:-10}"

# The Debian package (release build), installed and purged by
# crates/bantam/tests/package.rs.
bash scripts/package.sh

# cargo prints one "test result" line per test binary, the last one usually
# for doc-tests with nothing in them; sum them up so the closing line says
# what actually ran.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
awk '/^test result:/ {
       for (i = 1; i <= NF; i++) {
         if ($(i) ~ /^passed/) p += $(i-1); if ($(i) ~ /^failed/) f += $(i-1); if ($(i) ~ /^ignored/) s += $(i-1)
       }
     }
     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
