#!/usr/bin/env bash
# syslog-udp.sh: syslog datagrams per second bantam's syslog+udp:// source
# receives (and runs through the sshd jail) without losing one.
#
# A dry-run daemon with one sshd jail on syslog+udp://127.0.0.1:PORT; a
# sender (python, one socket) sends N RFC 3164 messages, sshd failures from
# 198.18.0.0/15, paced at each RATE (0 = as fast as it can). Received =
# the jail's lines_read once it stops growing; lost = sent - received (the
# kernel drops what overflows the 4 MiB socket buffer, /proc/net/udp
# "drops").
#
# usage: bench/syslog-udp.sh [--count N] [--rates "20000 50000 100000 0"] [--no-build]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
count=200000
rates="20000 50000 100000 0"
build=1
while (($#)); do
  case $1 in
    --count) count=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "syslog-udp.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
((build)) && (cd "$root" && cargo build --release -q -p bantam)
bantam=$root/target/release/bantam
tmp=$(mktemp -d "${TMPDIR:-/tmp}/syslog-udp.XXXXXX")
daemon=
cleanup() { [[ -n $daemon ]] && kill "$daemon" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

lines_read() { "$bantam" status --json --socket "$tmp/bantam.sock" 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["jails"][0]["lines_read"])' 2>/dev/null || echo 0; }

printf 'syslog UDP benchmark: %d datagrams per run, %s cores\n' "$count" "$(nproc)"
printf '%12s %12s %12s %10s %8s\n' "rate asked" "rate sent" "received" "lost" "loss %"
for rate in $rates; do
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$tmp/state" "$tmp/bantam.sock"
  cat >"$tmp/bantam.toml" <<TOML
[daemon]
state-dir = "$tmp/state"
socket = "$tmp/bantam.sock"
max-tracked = 1000000
[jails.sshd]
filter = "sshd"
logpath = ["syslog+udp://127.0.0.1:$port"]
maxretry = 1000000
TOML
  "$bantam" run --dry-run --config "$tmp/bantam.toml" --socket "$tmp/bantam.sock" 2>"$tmp/daemon.err" &
  daemon=$!
  until "$bantam" status --socket "$tmp/bantam.sock" >/dev/null 2>&1; do sleep 0.05; done
  sent_rate=$(python3 - "$port" "$count" "$rate" <<'PY'
import socket, sys, time
port, n, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
stamp = time.strftime("%b %e %H:%M:%S")
t0 = time.perf_counter()
for i in range(n):
    a = 198 * 2**24 + 18 * 2**16 + (i % 131072)
    ip = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
    s.sendto(f"<38>{stamp} web1 sshd[{1000 + i % 30000}]: Failed password for root from {ip} port 4242 ssh2".encode(), ("127.0.0.1", port))
    if rate and i % 100 == 99:
        ahead = (i + 1) / rate - (time.perf_counter() - t0)
        if ahead > 0:
            time.sleep(ahead)
print(int(n / (time.perf_counter() - t0)))
PY
)
  last=-1; now=$(lines_read)
  while (( now != last )); do last=$now; sleep 0.5; now=$(lines_read); done
  kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=
  lost=$((count - now))
  printf '%12s %12s %12s %10s %8s\n' "$([[ $rate == 0 ]] && echo max || echo "$rate")" "$sent_rate" "$now" "$lost" \
    "$(awk -v l="$lost" -v n="$count" 'BEGIN { printf "%.2f", 100 * l / n }')"
done
