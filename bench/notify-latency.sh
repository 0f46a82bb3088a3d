#!/usr/bin/env bash
# notify-latency.sh: does a dead or hanging notification server delay a
# ban? Ban latency of a dry-run daemon (no root, no firewall: the ban is
# the daemon's "would ban" log line) reading standard input, with:
#
#   none             no [notify.*]
#   smtp-dead        [notify.mail] to a closed port (connection refused)
#   smtp-hanging     [notify.mail] to a server that accepts and never answers
#   webhook-hanging  [notify.webhook] to the same kind of server
#
#   per run  a fresh daemon; one warm-up ban; then N distinct addresses
#            from 198.18.0.0/15, INTERVAL ms apart, one line each, timed
#            from the write() to the daemon's log line; p50/p90/p99/max;
#            then the channel's counters from `bantam status --json`
#            (sent, given up, dropped), to show the channel was stuck.
#
# Exits 0 when it measured, 2 on usage or build errors.
#
# usage: bench/notify-latency.sh [options]
#   --no-build           use the existing target/release/bantam
#   --bantam PATH        the bantam binary (implies --no-build)
#   --count N            addresses measured per run (default 300)
#   --interval-ms MS     gap between lines (default 5)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
me=notify-latency.sh
build=1
bantam=$root/target/release/bantam
pyargs=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
need() { [[ $# -ge 2 && -n $2 ]] || { echo "$me: $1 needs a value" >&2; exit 2; }; }
while (($#)); do
  case $1 in
    --no-build) build=0; shift ;;
    --bantam) need "$@"; bantam=$2; build=0; shift 2 ;;
    --count) need "$@"; pyargs+=(--count "$2"); shift 2 ;;
    --interval-ms) need "$@"; pyargs+=(--interval-ms "$2"); shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done

if ((build)); then
  echo "building bantam (cargo build --release -p bantam) ..." >&2
  (cd "$root" && cargo build --release -p bantam) || { echo "$me: build failed" >&2; exit 2; }
fi
[[ -x $bantam ]] || { echo "$me: no bantam binary at $bantam" >&2; exit 2; }
exec python3 "$here/notify_latency.py" --bantam "$bantam" "${pyargs[@]}"
