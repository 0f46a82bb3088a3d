#!/usr/bin/env bash
# ban-latency.sh: the daemon benchmark, bantam vs fail2ban, in network
# namespaces: how fast a failure line becomes a ban in nftables, how fast a
# burst of 5,000 is banned, and what an idle daemon costs.
#
#   latency  200 distinct addresses, 20 ms apart: append one failure line
#            to the log, time until `nft monitor` (in the daemon's
#            namespace) reports the element in the ban set. p50/p90/p99/max.
#   burst    one write() of 5,000 failure lines from 5,000 new addresses;
#            time until the last one is in the set (fail2ban: up to 120 s).
#   idle     three jails, no log activity: wakeups (context switches of all
#            threads) over 20 s after 2 s of settling; VmRSS and VmHWM.
#
# Each (tool, test) gets a fresh daemon with a fresh state directory in a
# fresh namespace (ip netns add), deleted on exit, also on Ctrl-C. Log lines
# carry only addresses from 198.18.0.0/15 and a current timestamp. Exits 0
# when it measured (targets missed or not), 2 on usage, root or build errors.
# Must run as root.
#
# usage: bench/ban-latency.sh [options]
#   --no-fail2ban        bantam only
#   --no-bantam          fail2ban only (no build)
#   --only TEST          latency, burst or idle (default: all three)
#   --no-build           use the existing target/release/bantam
#   --bantam PATH        the bantam binary (implies --no-build)
#   --f2b-backend NAME   fail2ban's backend (default pyinotify, else polling)
#   --date FORMAT        syslog (default) or rfc3339 timestamps in the lines
#   --count N            latency: addresses (default 200)
#   --interval-ms MS     latency: gap between lines (default 20)
#   --lines N            burst: lines/addresses (default 5000)
#   --burst-timeout S    burst: give up after S seconds (default 120)
#   --idle-seconds S     idle: measuring window (default 20)
#   --keep               keep the work directory (configs, daemon logs, JSON)
# Environment: TMPDIR (work directory parent).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
me=ban-latency.sh

use_f2b=1
use_bantam=1
build=1
only=
keep=0
bantam=$root/target/release/bantam
f2b_backend=
pyargs=()

all_args=$*
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
need() { [[ $# -ge 2 && -n $2 ]] || { echo "$me: $1 needs a value" >&2; exit 2; }; }
while (($#)); do
  case $1 in
    --no-fail2ban) use_f2b=0; shift ;;
    --no-bantam) use_bantam=0; build=0; shift ;;
    --only) need "$@"; only=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --bantam) need "$@"; bantam=$2; build=0; shift 2 ;;
    --f2b-backend) need "$@"; f2b_backend=$2; shift 2 ;;
    --date) need "$@"; pyargs+=(--date "$2"); shift 2 ;;
    --count) need "$@"; pyargs+=(--count "$2"); shift 2 ;;
    --interval-ms) need "$@"; pyargs+=(--interval-ms "$2"); shift 2 ;;
    --lines) need "$@"; pyargs+=(--lines "$2"); shift 2 ;;
    --burst-timeout) need "$@"; pyargs+=(--burst-timeout "$2"); shift 2 ;;
    --idle-seconds) need "$@"; pyargs+=(--idle-seconds "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
case $only in
  '') tests=(latency burst idle) ;;
  latency|burst|idle) tests=("$only") ;;
  *) echo "$me: --only latency|burst|idle, not '$only'" >&2; exit 2 ;;
esac
((use_bantam || use_f2b)) || { echo "$me: --no-bantam and --no-fail2ban leave nothing to measure" >&2; exit 2; }

if [[ $(id -u) -ne 0 ]]; then
  echo "$me: must run as root: it creates network namespaces and nftables sets," >&2
  echo "  and both daemons need CAP_NET_ADMIN. Try: sudo $0${all_args:+ $all_args}" >&2
  exit 2
fi
for tool in ip nft python3; do
  command -v "$tool" >/dev/null || { echo "$me: $tool not found" >&2; exit 2; }
done

# ---- fail2ban ---------------------------------------------------------------
if ((use_f2b)); then
  if ! command -v fail2ban-server >/dev/null || ! command -v fail2ban-client >/dev/null; then
    echo "$me: fail2ban-server not installed: measuring bantam only" >&2
    use_f2b=0
  elif [[ -z $f2b_backend ]]; then
    # fail2ban runs under its own interpreter (#!/usr/bin/python3), which
    # may not be the python3 on PATH.
    f2b_py=$(head -1 "$(command -v fail2ban-server)" | sed -n 's/^#! *\([^ ]*\).*/\1/p')
    if "${f2b_py:-python3}" -c 'import pyinotify' 2>/dev/null; then
      f2b_backend=pyinotify
    else
      echo "$me: pyinotify not importable by ${f2b_py:-python3}: fail2ban uses backend polling" >&2
      f2b_backend=polling
    fi
  fi
fi

# ---- bantam -----------------------------------------------------------------
if ((use_bantam)); then
  if ((build)); then
    echo "building bantam (cargo build --release -p bantam) ..." >&2
    (cd "$root" && cargo build --release -p bantam) || { echo "$me: build failed" >&2; exit 2; }
  fi
  [[ -x $bantam ]] || { echo "$me: no bantam binary at $bantam" >&2; exit 2; }
  bantam=$(cd "$(dirname "$bantam")" && pwd)/$(basename "$bantam")
fi

# ---- work directory, namespaces, cleanup ------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ban-latency.XXXXXX")
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
# reaches this script at once (bash runs traps only between commands); it
# ignores SIGINT (a background job in a script does), so on Ctrl-C or
# SIGTERM the trap sends it SIGTERM and it stops its daemon and monitor.
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

run_case() {   # tool test
  local tool=$1 test=$2 ns status=0
  ns=btbench-$$-${tool:0:2}-$test
  ip netns add "$ns"
  namespaces+=("$ns")
  ip -n "$ns" link set lo up
  echo "== $tool: $test" >&2
  python3 "$here/ban_latency.py" run --tool "$tool" --test "$test" --netns "$ns" \
    --work "$work/$tool-$test" --out "$work/$tool-$test.json" --bantam "$bantam" \
    --f2b-backend "${f2b_backend:-pyinotify}" "${pyargs[@]}" &
  pypid=$!
  wait "$pypid" || status=$?
  pypid=
  ((status == 130)) && exit 130
  drop_netns "$ns"
}

tools=()
((use_bantam)) && tools+=(bantam)
((use_f2b)) && tools+=(fail2ban)
for test in "${tests[@]}"; do
  for tool in "${tools[@]}"; do
    run_case "$tool" "$test"
  done
done

echo >&2
python3 "$here/ban_latency.py" report "$work"/*.json
exit 0
