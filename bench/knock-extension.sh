#!/usr/bin/env bash
# knock-extension.sh: what extend-while-knocking costs. N banned addresses
# (default 10,000) each keep sending P packets a second (default 10: 100,000
# packets a second in all) at a bantam daemon, with the extension off and
# on, alternating, in fresh network namespaces (server: bantam with the
# nftables backend; client: bench/knock_sender.py forging the N sources on
# a raw socket, over a veth pair).
#
#   steady   bans of 1h: every packet is dropped, and with the extension on
#            also refreshes its source's knock element in the kernel. Per
#            run: packets sent, the kernel's time per packet (the sender's
#            system time, which includes the server's input hook since veth
#            delivers inside the sender's system call, plus ksoftirqd), the
#            softirq share of all CPUs, and the daemon's CPU.
#   churn    extension on, bans of --churn-bantime (default 10s): every
#            ban ends and is extended again and again while its source
#            knocks; the daemon's CPU per 1,000 extensions.
#
# The machine's other load is not ours but shows in the softirq share and
# in the rate the sender reaches; per-packet and per-extension figures are
# the ones to compare. A run that does not reach the rate says so, and the
# cost at the full rate is scaled from the per-packet figure.
#
# usage: bench/knock-extension.sh [options]
#   --addresses N      banned sources (default 10000)
#   --pps P            packets a second from each (default 10)
#   --seconds S        per measured run (default 20)
#   --rounds R         off/on pairs of steady runs (default 2)
#   --churn-bantime T  ban time of the churn run (default 10s; 0: skip it)
#   --no-build         use the existing target/release/bantam
#   --keep             keep the work directory
# Must run as root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
me=knock-extension.sh
addresses=10000 pps=10 seconds=20 rounds=2 churn=10s build=1 keep=0
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --addresses) addresses=$2; shift 2 ;;
    --pps) pps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --churn-bantime) churn=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "$me: needs root (network namespaces, nftables)" >&2; exit 2; }
((addresses >= 1 && addresses <= 131072)) || { echo "$me: --addresses: 1 to 131072 (198.18.0.0/15)" >&2; exit 2; }
for tool in ip nft python3; do
  command -v "$tool" >/dev/null || { echo "$me: $tool not found" >&2; exit 2; }
done
if ((build)); then
  cargo build --release -q -p bantam --manifest-path "$root/Cargo.toml" || exit 2
fi
bantam=$root/target/release/bantam
work=$(mktemp -d "${TMPDIR:-/tmp}/knock.XXXXXX")
namespaces=()
daemon=
# shellcheck source=bench/netns.sh
. "$here/netns.sh"
cleanup() {
  local ns
  [[ -n $daemon ]] && kill "$daemon" 2>/dev/null
  for ns in "${namespaces[@]}"; do drop_netns "$ns"; done
  if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

rate=$((addresses * pps))
hz=$(getconf CLK_TCK)

ticks_of() {   # utime + stime of the processes $@, in clock ticks
  local pid sum=0 stat
  for pid in "$@"; do
    # After the command name's ")": state is field 1, utime 12, stime 13.
    read -r -a stat < <(cut -d')' -f2 "/proc/$pid/stat" 2>/dev/null) || continue
    ((${#stat[@]} > 12)) && sum=$((sum + stat[11] + stat[12]))
  done
  echo "$sum"
}
softirq_ticks() { awk '/^cpu /{print $8}' /proc/stat; }
ksoftirqd() { pgrep -x 'ksoftirqd/[0-9]+' | tr '\n' ' '; }
in_set() {   # namespace set: how many of our sources the set holds
  ip netns exec "$1" nft list set inet bantam "$2" 2>/dev/null | grep -o '198\.18\.' | wc -l || true
}
banned_in_kernel() { in_set "$1" addr4; }

failures() {   # the N failure lines
  python3 - "$addresses" <<'EOF'
import sys, time
stamp = time.strftime("%b %e %H:%M:%S")
for i in range(int(sys.argv[1])):
    a = 0xC6120000 + i
    print(f"{stamp} host sshd[7]: Failed password for root from "
          f"198.18.{(a >> 8) & 255}.{a & 255} port 4242 ssh2")
EOF
}

start_host() {   # tag knock(0|1) bantime: namespaces, daemon, N bans
  local tag=$1 knock=$2 bantime=$3 dir=$work/$1
  local s=bt-knock-$$-$tag-s c=bt-knock-$$-$tag-c
  mkdir -p "$dir"
  ip netns add "$s"; namespaces+=("$s")
  ip netns add "$c"; namespaces+=("$c")
  ip link add "bks$$" type veth peer name "bkc$$"
  ip link set "bks$$" netns "$s"; ip link set "bkc$$" netns "$c"
  ip -n "$s" addr add 198.51.100.1/24 dev "bks$$"
  ip -n "$c" addr add 198.51.100.2/24 dev "bkc$$"
  ip -n "$s" link set "bks$$" up; ip -n "$c" link set "bkc$$" up
  ip -n "$s" link set lo up; ip -n "$c" link set lo up
  # Forged sources must reach the input hook, not die in the reverse-path check.
  ip netns exec "$s" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    "net.ipv4.conf.bks$$.rp_filter=0"
  : > "$dir/auth.log"
  {
    printf '[daemon]\nstate-dir = "%s/state"\nsocket = "%s/bantam.sock"\n\n' "$dir" "$dir"
    printf '[jails.sshd]\nfilter = "sshd"\nlogpath = ["%s/auth.log"]\nmaxretry = 1\n' "$dir"
    printf 'findtime = "1h"\nbantime = "%s"\n' "$bantime"
    ((knock)) && printf 'extend-while-knocking = true\n'
  } > "$dir/bantam.toml"
  ip netns exec "$s" "$bantam" run --config "$dir/bantam.toml" 2> "$dir/daemon.log" &
  daemon=$!
  local i
  for i in $(seq 100); do
    [[ -S $dir/bantam.sock ]] && break
    sleep 0.1
  done
  failures >> "$dir/auth.log"
  for i in $(seq 300); do
    (($(banned_in_kernel "$s") >= addresses)) && break
    sleep 0.1
  done
  (($(banned_in_kernel "$s") >= addresses)) || { echo "$me: $tag: bans did not all arrive" >&2; exit 1; }
  server=$s client=$c host_dir=$dir
}

stop_host() {
  kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true
  daemon=
  drop_netns "$server"; drop_netns "$client"
}

measure() {   # label: one sender run, figures as a JSON line on stdout
  local label=$1 soft0 ks0 d0 soft1 ks1 d1 out pids ext0
  pids=$(ksoftirqd)
  ext0=$(grep -c 'still knocking' "$host_dir/daemon.log" || true)
  # shellcheck disable=SC2086
  soft0=$(softirq_ticks) ks0=$(ticks_of $pids) d0=$(ticks_of "$daemon")
  out=$(ip netns exec "$client" python3 "$here/knock_sender.py" --dst 198.51.100.1 \
    --count "$addresses" --rate "$rate" --seconds "$seconds")
  # shellcheck disable=SC2086
  soft1=$(softirq_ticks) ks1=$(ticks_of $pids) d1=$(ticks_of "$daemon")
  local knocks extended
  knocks=$(in_set "$server" knock4)
  extended=$(($(grep -c 'still knocking' "$host_dir/daemon.log" || true) - ext0))
  python3 - "$label" "$out" "$hz" "$((soft1 - soft0))" "$((ks1 - ks0))" "$((d1 - d0))" \
    "$knocks" "$extended" "$(nproc)" <<'EOF'
import json, sys
label, sender, hz = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
soft, ks, daemon, knocks, extended, cpus = (int(x) for x in sys.argv[4:])
secs, sent = sender["seconds"], sender["sent"]
kernel = sender["system"] + ks / hz
print(json.dumps({
    "run": label, "sent": sent, "pps": sent / secs,
    "kernel_us_per_packet": kernel / sent * 1e6,
    "softirq_pct": soft / hz / secs / cpus * 100,
    "ksoftirqd_pct": ks / hz / secs * 100,
    "daemon_pct": daemon / hz / secs * 100,
    "daemon_ms": daemon / hz * 1000,
    "knock_elements": knocks, "extensions": extended,
}))
EOF
}

echo "== $addresses banned sources x $pps packets/s = $rate packets/s, ${seconds}s runs" >&2
for r in $(seq "$rounds"); do
  for knock in 0 1; do
    mode=$([[ $knock == 1 ]] && echo on || echo off)
    echo "-- steady, extension $mode (round $r)" >&2
    start_host "s$r$mode" "$knock" 1h
    measure "$mode" >> "$work/results.jsonl"
    stop_host
  done
done
if [[ $churn != 0 ]]; then
  echo "-- churn: extension on, bantime $churn" >&2
  start_host churn 1 "$churn"
  # Knock once through a whole ban time first, so that every ban is on
  # its extension cycle when the measured run starts.
  measure churn-warmup > /dev/null
  measure churn >> "$work/results.jsonl"
  stop_host
fi

python3 - "$work/results.jsonl" "$rate" "$churn" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate, churn = int(sys.argv[2]), sys.argv[3]
print(f"| run | packets/s (target {rate:,}) | kernel µs/packet | softirq % of all CPUs | daemon CPU % | knock elements |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    if r["run"] == "churn":
        continue
    print(f"| extension {r['run']} | {r['pps']:,.0f} | {r['kernel_us_per_packet']:.2f} | "
          f"{r['softirq_pct']:.1f} | {r['daemon_pct']:.2f} | {r['knock_elements']:,} |")
med = {m: statistics.median(r["kernel_us_per_packet"] for r in rows if r["run"] == m)
       for m in ("off", "on")}
extra = med["on"] - med["off"]
print()
print(f"kernel time per packet (median): off {med['off']:.2f} µs, on {med['on']:.2f} µs: "
      f"the extension adds {extra:.2f} µs a packet ({extra / med['off'] * 100:+.0f}%), "
      f"{extra * rate / 1e4:.1f}% of one CPU at {rate:,} packets/s")
steady = [r["daemon_ms"] for r in rows if r["run"] in ("off", "on")]
print(f"daemon CPU in the steady runs: at most {max(steady):.0f} ms a run "
      f"(no wake-up per packet: only a ban's end wakes it)")
for r in rows:
    if r["run"] == "churn":
        secs = r["sent"] / r["pps"]
        per = r["daemon_ms"] / max(r["extensions"], 1) * 1000
        print(f"churn (bantime {churn}): {r['extensions']:,} extensions in all, daemon "
              f"{r['daemon_pct']:.1f}% of one CPU over {secs:.0f}s, about {per:.0f} ms per 1,000 extensions")
EOF
