#!/usr/bin/env bash
# What escalation costs the daemon's loop per burst: Store::ban_counts_since
# for N new addresses (default 5,000) against H history rows (default
# 100,000), in one call (as apply_bans makes it) and one call per address,
# on a real SQLite file. No root needed. Addresses from 198.18.0.0/15.
#
# usage: bench/ban-counts.sh [N] [H]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo run --release -q -p bantam-state --manifest-path "$root/Cargo.toml" \
    --example ban_counts -- "${1:-5000}" "${2:-100000}"
