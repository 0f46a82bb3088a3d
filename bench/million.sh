#!/usr/bin/env bash
# million.sh: bantam with 10,000 / 100,000 / 1,000,000 bans on one host.
# For each size N, in a fresh network namespace with an empty kernel table
# and N current bans in the state database:
#
#   restore   launch until READY=1 (sd_notify; the daemon sends it once the
#             kernel holds every saved ban)
#   RSS       the daemon's VmRSS once ready, and per ban
#   database  bantam.db (+ WAL) size, and per ban
#   banned    `bantam banned --json`: wall time and the CLI's peak RSS
#   reaction  1,000 new attackers 50 ms apart, one failure line each: time
#             from the write until `nft monitor` shows the element; p50/p99
#             (the p99 of 1,000 is the tenth worst; of 200 it was the
#             second worst, which moved by milliseconds between runs)
#   burst     N new attackers in one write(): until `status` counts them all
#             (the daemon counts a ban only once the kernel holds it)
#             then, once the store has caught up (files untouched for 2 s),
#             RSS and database per ban in force
#   wave      (--wave) N new attackers banned for 30 s in one write, then
#             the wave of their ends: new attackers every 20 ms from a
#             second before the first end until the burst's bans are gone,
#             p50/p99/worst, and how long after the last end it was gone
#
# Saved bans: IPv4 from 198.18.0.0/15 (131,072), the rest from
# 2001:db8::/32; `--mix`: also one in ten a /64 and 512 /24s. Runs N = 0
# too, as the empty-table reference for the reaction time.
#
# usage: bench/million.sh [options]
#   --sizes "N ..."    sizes (default "0 10000 100000 1000000")
#   --mix              also the mixed (prefix) variant of each size
#   --no-burst         skip the bursts
#   --wave             also the wave of ends after a burst, per size
#   --ops              also requests with N in force: status, unban ADDR,
#                      ban ADDR, reload (probing meanwhile), unban --all,
#                      and (N saved again) unban --jail sshd --all
#   --paired           probe reaction of each size in turn with a daemon
#                      with an empty table in a second namespace (the same
#                      machine load for both: a fair 10% comparison)
#   --probes N         reaction probes per size (default 1000)
#   --fail2ban         also fail2ban 1.0.2 restoring 20,000 bans with the
#                      nftables action (slow: minutes; the README's anchor)
#   --f2b-bans N       fail2ban's ban count (default 20000)
#   --no-build         use the existing target/release/bantam
#   --keep             keep the work directory
# Must run as root. Prints a Markdown table; raw figures as JSON lines in
# the work directory (results.jsonl).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
me=million.sh
sizes="0 10000 100000 1000000"
mix=0 burst=1 wave=0 ops=0 paired=0 probes=1000 f2b=0 f2b_bans=20000 build=1 keep=0
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --mix) mix=1; shift ;;
    --no-burst) burst=0; shift ;;
    --wave) wave=1; shift ;;
    --paired) paired=1; shift ;;
    --ops) ops=1; shift ;;
    --probes) probes=$2; shift 2 ;;
    --fail2ban) f2b=1; shift ;;
    --f2b-bans) f2b_bans=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "$me: needs root (network namespaces, nftables)" >&2; exit 2; }
for tool in ip nft python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$me: $tool not found" >&2; exit 2; }
done
if ((build)); then
  cargo build --release -q -p bantam --manifest-path "$root/Cargo.toml" || exit 2
fi
bantam=$root/target/release/bantam
work=$(mktemp -d "${TMPDIR:-/tmp}/million.XXXXXX")
namespaces=()
# shellcheck source=bench/netns.sh
. "$here/netns.sh"
cleanup() {
  local ns
  for ns in "${namespaces[@]}"; do drop_netns "$ns"; done
  if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

run() {   # tool tag args...
  local tool=$1 tag=$2 ns=bt-million-$$-$2
  shift 2
  ip netns add "$ns"; namespaces+=("$ns")
  ip -n "$ns" link set lo up
  mkdir -p "$work/$tag"
  if [[ $tool == bantam ]] && ((paired)); then
    ip netns add "$ns-r"; namespaces+=("$ns-r")
    ip -n "$ns-r" link set lo up
    set -- "$@" --ref-netns "$ns-r"
  fi
  echo "== $tool $tag" >&2
  python3 "$here/million.py" "$tool" --netns "$ns" --work "$work/$tag" "$@" >> "$work/results.jsonl" \
    || echo "$me: $tag failed (see $work/$tag)" >&2
  drop_netns "$ns"
  drop_netns "$ns-r"
}

for n in $sizes; do
  b=()
  ((burst && n > 0)) && b=(--burst "$n")
  run bantam "a$n" --bantam "$bantam" --bans "$n" --probes "$probes" "${b[@]}"
  ((mix && n > 0)) && run bantam "m$n" --bantam "$bantam" --bans "$n" --probes "$probes" --mix "${b[@]}"
  ((wave && n > 0)) && run wave "w$n" --bantam "$bantam" --bans "$n"
  ((ops && n > 0)) && run ops "o$n" --bantam "$bantam" --bans "$n"
done
((f2b)) && run fail2ban "f2b" --bans "$f2b_bans" --timeout 3600
python3 "$here/million.py" report "$work/results.jsonl"
