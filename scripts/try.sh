#!/usr/bin/env bash
# A safe first run: builds bantam, starts the daemon with --dry-run (no
# firewall, no saved state, no root needed) on a scratch log, writes a few
# sshd failures into it as syslog would, shows what bantam would ban, and
# stops. Nothing outside a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p bantam
bantam=$PWD/target/release/bantam
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/bantam.toml" <<TOML
[daemon]
state-dir = "$dir/state"
socket = "$dir/bantam.sock"
[jails.sshd]
filter = "sshd"
logpath = ["$dir/auth.log"]
maxretry = 3
findtime = "10m"
bantime = "1h"
TOML
: > "$dir/auth.log"
"$bantam" run --dry-run --config "$dir/bantam.toml" --socket "$dir/bantam.sock" &
pid=$!
for _ in $(seq 50); do "$bantam" status --socket "$dir/bantam.sock" >/dev/null 2>&1 && break; sleep 0.1; done
now() { date '+%b %e %H:%M:%S'; }
for port in 40001 40002 40003; do
  echo "$(now) demo sshd[4242]: Failed password for invalid user admin from 203.0.113.66 port $port ssh2" >> "$dir/auth.log"
done
echo "$(now) demo sshd[4243]: Accepted password for alice from 192.0.2.10 port 40100 ssh2" >> "$dir/auth.log"
sleep 0.3
echo "--- bantam status"
"$bantam" status --socket "$dir/bantam.sock"
echo "--- bantam banned"
"$bantam" banned --socket "$dir/bantam.sock"
"$bantam" stop --socket "$dir/bantam.sock" >/dev/null
wait "$pid" || true
