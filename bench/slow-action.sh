#!/usr/bin/env bash
# slow-action.sh: does a slow fail2ban action in one jail delay another
# jail's bans? Ban latency of a native nftables jail (`sshd`) with and
# without a second jail (`slow`, a fail2ban config whose only action is
# `actionban = sleep 5`) busy working through queued bans; bantam, and
# fail2ban 1.0.2 in the same harness.
#
#   per run  a fresh daemon in a fresh network namespace with both jails;
#            one warm-up ban; with the slow jail busy, 5 failures (5 bans,
#            25 s of `sleep 5`) are written to its log first and the run
#            waits until the first sleep runs; then 100 distinct addresses,
#            20 ms apart, one line each to the sshd jail's log, timed from
#            the write() to the `nft monitor` event (as ban-latency.sh).
#            p50/p90/p99/max; then 10 status requests timed; then a check
#            that a `sleep 5` still runs (the slow jail was busy throughout).
#
# Addresses only from 198.18.0.0/15; namespaces deleted on exit, also on
# Ctrl-C. Exits 0 when it measured, 2 on usage, root or build errors. Must
# run as root.
#
# usage: bench/slow-action.sh [options]
#   --no-fail2ban        bantam only
#   --no-build           use the existing target/release/bantam
#   --bantam PATH        the bantam binary (implies --no-build)
#   --count N            addresses measured per run (default 100)
#   --interval-ms MS     gap between lines (default 20)
#   --slow-bans N        bans queued in the slow jail (default 5)
#   --keep               keep the work directory (configs, daemon logs, JSON)
# Environment: TMPDIR (work directory parent).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
me=slow-action.sh

use_f2b=1
build=1
keep=0
bantam=$root/target/release/bantam
pyargs=()

all_args=$*
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
need() { [[ $# -ge 2 && -n $2 ]] || { echo "$me: $1 needs a value" >&2; exit 2; }; }
while (($#)); do
  case $1 in
    --no-fail2ban) use_f2b=0; shift ;;
    --no-build) build=0; shift ;;
    --bantam) need "$@"; bantam=$2; build=0; shift 2 ;;
    --count) need "$@"; pyargs+=(--count "$2"); shift 2 ;;
    --interval-ms) need "$@"; pyargs+=(--interval-ms "$2"); shift 2 ;;
    --slow-bans) need "$@"; pyargs+=(--slow-bans "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "$me: must run as root: it creates network namespaces and nftables sets." >&2
  echo "  Try: sudo $0${all_args:+ $all_args}" >&2
  exit 2
fi
for tool in ip nft python3; do
  command -v "$tool" >/dev/null || { echo "$me: $tool not found" >&2; exit 2; }
done
[[ -f /etc/fail2ban/jail.conf ]] || {
  echo "$me: /etc/fail2ban missing: the slow jail is a fail2ban configuration (apt install fail2ban)" >&2
  exit 2
}

f2b_backend=pyinotify
if ((use_f2b)); then
  if ! command -v fail2ban-server >/dev/null || ! command -v fail2ban-client >/dev/null; then
    echo "$me: fail2ban-server not installed: measuring bantam only" >&2
    use_f2b=0
  else
    f2b_py=$(head -1 "$(command -v fail2ban-server)" | sed -n 's/^#! *\([^ ]*\).*/\1/p')
    if ! "${f2b_py:-python3}" -c 'import pyinotify' 2>/dev/null; then
      echo "$me: pyinotify not importable by ${f2b_py:-python3}: fail2ban uses backend polling" >&2
      f2b_backend=polling
    fi
  fi
fi

if ((build)); then
  echo "building bantam (cargo build --release -p bantam) ..." >&2
  (cd "$root" && cargo build --release -p bantam) || { echo "$me: build failed" >&2; exit 2; }
fi
[[ -x $bantam ]] || { echo "$me: no bantam binary at $bantam" >&2; exit 2; }
bantam=$(cd "$(dirname "$bantam")" && pwd)/$(basename "$bantam")

work=$(mktemp -d "${TMPDIR:-/tmp}/slow-action.XXXXXX")
namespaces=()

# shellcheck source=bench/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

cleanup() {
  local ns
  trap '' INT TERM HUP
  for ns in "${namespaces[@]}"; do drop_netns "$ns"; done
  if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
# The helper runs in the background and is waited for, so that a signal
# reaches this script at once (see ban-latency.sh).
pypid=
on_signal() {
  trap '' INT TERM HUP
  echo "$me: interrupted" >&2
  if [[ -n $pypid ]]; then
    kill -TERM "$pypid" 2>/dev/null || true
    wait "$pypid" 2>/dev/null || true
  fi
  exit 130
}
trap cleanup EXIT
trap on_signal INT TERM HUP

run_case() {   # tool slow(on|off)
  local tool=$1 slow=$2 ns status=0
  ns=btslow-$$-${tool:0:2}-$slow
  ip netns add "$ns"
  namespaces+=("$ns")
  ip -n "$ns" link set lo up
  echo "== $tool, slow jail ${slow/on/busy}" >&2
  python3 "$here/slow_action.py" run --tool "$tool" --slow "$slow" --netns "$ns" \
    --work "$work/$tool-$slow" --out "$work/$tool-$slow.json" --bantam "$bantam" \
    --f2b-backend "$f2b_backend" "${pyargs[@]}" &
  pypid=$!
  wait "$pypid" || status=$?
  pypid=
  ((status == 130)) && exit 130
  # The slow jail's sleeps outlive the daemon: gone with the namespace.
  drop_netns "$ns"
}

tools=(bantam)
((use_f2b)) && tools+=(fail2ban)
for tool in "${tools[@]}"; do
  for slow in off on; do
    run_case "$tool" "$slow"
  done
done

echo >&2
python3 "$here/slow_action.py" report "$work"/*.json
exit 0
