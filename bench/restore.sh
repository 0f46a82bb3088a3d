#!/usr/bin/env bash
# Restore at start: how long `bantam run` takes from launch until its control
# socket answers when the state database holds N current bans (default
# 100,000), all of which must be in the kernel set by then. Runs in a network
# namespace it creates (root needed); addresses from 198.18.0.0/15.
set -euo pipefail
n=${1:-100000}
[[ $(id -u) -eq 0 ]] || { echo "restore.sh: needs root (network namespace, nftables)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p bantam --manifest-path "$root/Cargo.toml"
bantam=$root/target/release/bantam
dir=$(mktemp -d)
ns=bt-restore-$$
cleanup() { "$bantam" stop --socket "$dir/b.sock" >/dev/null 2>&1 || true; sleep 0.3; ip netns del "$ns" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/state"; : > "$dir/auth.log"
cat > "$dir/b.toml" <<TOML
[daemon]
state-dir = "$dir/state"
socket = "$dir/b.sock"
[jails.sshd]
filter = "sshd"
logpath = ["$dir/auth.log"]
TOML
ip netns add "$ns"
wait_ready() { for _ in $(seq 500); do "$bantam" status --socket "$dir/b.sock" >/dev/null 2>&1 && return 0; sleep 0.01; done; return 1; }
# A first start creates the schema; then fill it with N bans ending in an hour.
ip netns exec "$ns" "$bantam" run --config "$dir/b.toml" 2>/dev/null & wait_ready; "$bantam" stop --socket "$dir/b.sock" >/dev/null; wait
python3 - "$dir/state/bantam.db" "$n" <<'PY'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
c = sqlite3.connect(db)
c.executemany("INSERT INTO bans (jail, target, start_ms, end_ms, failures, ban_count, matches) VALUES (?,?,?,?,?,?,?)",
    (("sshd", "198.%d.%d.%d" % (18 + (i >> 16), (i >> 8) & 255, i & 255), now, now + 3600_000, 5, 1, "") for i in range(n)))
c.commit()
PY
ip netns exec "$ns" nft delete table inet bantam 2>/dev/null || true
start=$(date +%s.%N)
ip netns exec "$ns" "$bantam" run --config "$dir/b.toml" 2>/dev/null &
wait_ready
end=$(date +%s.%N)
inset=$(ip netns exec "$ns" nft -j list set inet bantam addr4 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(x["set"].get("elem",[])) for x in d["nftables"] if "set" in x))')
printf 'restored %d bans into an empty kernel table: ready after %.3f s; %d elements in the set\n' "$n" "$(echo "$end - $start" | bc)" "$inset"
