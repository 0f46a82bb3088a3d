#!/usr/bin/env bash
# The live page with many bans: a dry-run daemon (no root) gets N bans by
# hand (default 100,000) and some failures, then this prints how long the
# server takes to answer `/` (curl, best of 5) and how long headless
# Chromium takes to load and render it (a screenshot, best of 3), plus the
# daemon's RSS.
#
#   bench/page.sh [N]          BANTAM=path to pick the binary (default release)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
bin=${BANTAM:-target/release/bantam}
[[ -x $bin ]] || cargo build --release -p bantam
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/bantam.toml" <<TOML
[daemon]
state-dir = "$dir/state"
socket = "$dir/bantam.sock"
metrics = "127.0.0.1:$port"
page = true
[jails.sshd]
filter = "sshd"
logpath = ["$dir/auth.log"]
maxretry = 3
bantime = "1h"
TOML
: > "$dir/auth.log"
"$bin" run --dry-run --config "$dir/bantam.toml" --socket "$dir/bantam.sock" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do "$bin" status --socket "$dir/bantam.sock" >/dev/null 2>&1 && break; sleep 0.1; done
stamp=$(date '+%b %e %H:%M:%S')
for i in $(seq 0 99); do
  echo "$stamp host sshd[1]: Failed password for root from 203.0.113.$((i % 250)) port $i ssh2"
done >> "$dir/auth.log"
python3 - "$n" <<'PY' | xargs -n 2500 "$bin" ban --socket "$dir/bantam.sock" sshd >/dev/null
import sys
for i in range(int(sys.argv[1])):
    print("198.%d.%d.%d" % (18 + i // 65536, (i // 256) % 256, i % 256))
PY
url="http://127.0.0.1:$port/"
best() { sort -n | head -n1; }
server=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | best)
bytes=$(curl -s "$url" | wc -c)
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$dir/profile" --window-size=1200,1400)
browser=$(for _ in 1 2 3; do
  /usr/bin/time -f '%e' chromium "${flags[@]}" --screenshot="$dir/page.png" "$url" 2>&1 >/dev/null | tail -n1
done | best)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
printf 'page with %d bans: server answers / in %.1f ms (%d bytes, 100 bans per page)\n' "$n" "$(echo "$server * 1000" | bc -l)" "$bytes"
printf 'headless chromium start + load + render + screenshot: %s s (best of 3)\n' "$browser"
printf 'daemon RSS with %d bans: %d MB\n' "$n" $((rss / 1024))
