#!/usr/bin/env bash
# A fleet on one machine: N bantam daemons (default 100, dry-run backend)
# sharing bans through one PostgreSQL (Debian's, as `nobody`, Unix socket
# only, one login role per host as the README sets it up).
#
# Prints: propagation latency p50/p99 of a ban made on host 0 until every
# host has acknowledged it (each host writes the last change it handed to
# its ban pipeline into bantam_hosts.last_change, after applying it);
# a burst of B bans (default 10,000, one write of B failure lines on host
# 0) until every host has them; PostgreSQL connections and CPU time.
# Needs root (runuser). Addresses from 198.18.0.0/15 and 203.0.113.0/24.
#
# usage: bench/fleet.sh [N] [SAMPLES] [B]
set -euo pipefail
N=${1:-100}; SAMPLES=${2:-50}; BURST=${3:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build -q -p bantam --manifest-path "$root/Cargo.toml" ${PROFILE:+--profile $PROFILE}
bantam="$root/target/${PROFILE:-debug}/bantam"
[ "${PROFILE:-}" = dev ] && bantam="$root/target/debug/bantam"
pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/bantam-fleet-bench.XXXXXX); chmod 755 "$work"
mkdir "$work/sock" "$work/hosts"; chown nobody "$work" "$work/sock"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    runuser -u nobody -- "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
nob() { runuser -u nobody -- "$@"; }
nob "$pgbin/initdb" -D "$work/data" -U bantam --auth=trust --no-sync >/dev/null
nob "$pgbin/pg_ctl" -D "$work/data" -w -l "$work/pg.log" \
    -o "-k $work/sock -p 5499 -c listen_addresses='' -c max_connections=$((N + 20))" start >/dev/null
psql() { nob "$pgbin/psql" -h "$work/sock" -p 5499 -U bantam -d "${DB:-bantam}" -Atqc "$1"; }
DB=postgres psql "CREATE DATABASE bantam"
roles="CREATE ROLE bantam_fleet NOLOGIN;"
for i in $(seq 0 $((N - 1))); do roles+="CREATE ROLE h$i LOGIN IN ROLE bantam_fleet;"; done
psql "$roles"
"$bantam" fleet migrate --database "postgresql:///bantam?host=$work/sock&port=5499&user=bantam" >/dev/null

pg_cpu() { # CPU seconds of every PostgreSQL process so far
    local total=0
    for p in $(pgrep -u nobody postgres); do
        read -r -a f < "/proc/$p/stat" 2>/dev/null || continue
        total=$((total + f[13] + f[14]))
    done
    echo "$total"
}

echo "starting $N daemons..."
for i in $(seq 0 $((N - 1))); do
    d="$work/hosts/$i"; mkdir "$d"; : > "$d/auth.log"
    cat > "$d/bantam.toml" <<TOML
[daemon]
server-name = "h$i"
[fleet]
database = "postgresql:///bantam?host=$work/sock&port=5499&user=h$i"
[jails.sshd]
filter = "sshd"
logpath = ["$d/auth.log"]
maxretry = 1
bantime = "1h"
TOML
    "$bantam" run --dry-run --config "$d/bantam.toml" --socket "$d/sock" 2>"$d/err" &
    pids+=($!)
done
for _ in $(seq 1 600); do
    [ "$(psql "SELECT count(*) FROM bantam_hosts")" = "$N" ] && break; sleep 0.1
done
echo "joined: $(psql "SELECT count(*) FROM bantam_hosts") hosts; connections: $(psql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")"

acked() { # seconds until every host acknowledged change $1
    local want=$1 start=$2
    while [ "$(psql "SELECT count(*) FROM bantam_hosts WHERE last_change >= $want")" != "$N" ]; do :; done
    echo "$(date +%s.%N) - $start" | bc
}

cpu0=$(pg_cpu)
lat=()
for s in $(seq 1 "$SAMPLES"); do
    start=$(date +%s.%N)
    "$bantam" ban sshd "203.0.113.$s" --socket "$work/hosts/0/sock" >/dev/null
    id=$(psql "SELECT max(id) FROM bantam_changes")
    lat+=("$(acked "$id" "$start")")
done
cpu1=$(pg_cpu)
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
pick() { echo "$sorted" | awk -v q="$1" '{a[NR]=$1} END {i=int((NR-1)*q+0.5)+1; printf "%.0f ms", a[i]*1000}'; }
echo "one ban → all $N hosts ($SAMPLES samples): p50 $(pick 0.5), p99 $(pick 0.99), max $(pick 1)"
echo "PostgreSQL CPU for those $SAMPLES bans: $(( (cpu1 - cpu0) * 10 )) ms"

python3 - "$BURST" "$work/hosts/0/auth.log" <<'PY'
import sys, time
n, path = int(sys.argv[1]), sys.argv[2]
stamp = time.strftime("%b %e %H:%M:%S")
with open(path, "a") as f:
    f.write("".join(f"{stamp} host sshd[7]: Failed password for root from 198.18.{i >> 8}.{i & 255} port 22 ssh2\n" for i in range(n)))
PY
start=$(date +%s.%N)
want=$((SAMPLES + BURST))
until [ "$(psql "SELECT count(*) FROM bantam_changes")" -ge "$want" ]; do sleep 0.01; done
id=$(psql "SELECT max(id) FROM bantam_changes")
took=$(acked "$id" "$start")
cpu2=$(pg_cpu)
echo "burst of $BURST bans on one host → all $N hosts: $(echo "$took * 1000 / 1" | bc) ms"
echo "PostgreSQL CPU for the burst: $(( (cpu2 - cpu1) * 10 )) ms"
for i in 1 $((N / 2)) $((N - 1)); do
    n=$("$bantam" status --json --socket "$work/hosts/$i/sock" | python3 -c 'import json,sys; print(sum(j["currently_banned"] for j in json.load(sys.stdin)["jails"]))')
    echo "  host h$i holds $n bans"
done
echo "connections at the end: $(psql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")"
