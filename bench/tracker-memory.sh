#!/usr/bin/env bash
# Failure tracker memory and speed under a botnet: bytes of heap and of RSS
# per tracked source, and record() ns/op, for N distinct attackers failing
# once each (default 1,000,000) with every source kept, then at the default
# cap of 100,000 per jail, then a worst case (every source holding
# maxretry - 1 long lines). Each case runs in its own process so that its
# RSS delta is its own. Target: <= 300 bytes per source.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sources=${1:-1000000}
cargo build --release -q -p bantam-daemon --example tracker_memory
for case in all capped worst; do
    ./target/release/examples/tracker_memory "$case" "$sources"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
