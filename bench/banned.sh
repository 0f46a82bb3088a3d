#!/usr/bin/env bash
# `bantam banned` with N current bans (default 100,000): time and peak
# memory of one listing, then of 20 concurrent ones, for the CLI and for the
# daemon (its peak RSS while they run, from /proc VmHWM after resetting it),
# and how long a `bantam ban` takes while the 20 run. No root needed: a dry
# run with a scratch configuration. Addresses from 198.18.0.0/15.
set -euo pipefail
n=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p bantam --manifest-path "$root/Cargo.toml"
bantam=$root/target/release/bantam
command -v /usr/bin/time >/dev/null || { echo "banned.sh: needs GNU time (Debian package time)" >&2; exit 2; }
dir=$(mktemp -d)
cleanup() { [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
: > "$dir/auth.log"
cat > "$dir/b.toml" <<TOML
[daemon]
state-dir = "$dir/state"
socket = "$dir/b.sock"
[jails.sshd]
filter = "sshd"
logpath = ["$dir/auth.log"]
bantime = "1h"
TOML
"$bantam" run --dry-run --config "$dir/b.toml" 2>"$dir/daemon.log" &
pid=$!
for _ in $(seq 500); do "$bantam" status --socket "$dir/b.sock" >/dev/null 2>&1 && break; sleep 0.01; done
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
# Ban them over the socket, 3,000 per request (requests stay under 64 kB).
python3 - "$dir/b.sock" "$n" <<'PY'
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
addrs = ["198.%d.%d.%d" % (18 + (i >> 16), (i >> 8) & 255, i & 255) for i in range(n)]
for i in range(0, n, 3000):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall((json.dumps({"command": "ban", "jail": "sshd", "targets": addrs[i:i + 3000]}) + "\n").encode())
    answer = json.loads(s.makefile().readline()); s.close()
    assert answer["ok"], answer
PY
printf 'daemon with %d bans: RSS %d kB\n' "$n" "$(kb VmRSS)"
one() { /usr/bin/time -f '%e s %M kB' -o "$1" "$bantam" banned --json --socket "$dir/b.sock" > "$1.out"; }
echo 5 > "/proc/$pid/clear_refs"
one "$dir/t1"
printf 'one `banned --json`:      %s (CLI peak RSS); %d elements; daemon peak RSS %d kB\n' \
    "$(cat "$dir/t1")" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$dir/t1.out")" "$(kb VmHWM)"
echo 5 > "/proc/$pid/clear_refs"
start=$(date +%s.%N)
listings=()
for i in $(seq 20); do one "$dir/c$i" & listings+=($!); done
# Bans while the 20 run: on the socket (the daemon's own latency) and
# through the CLI (process start included, on cores the 20 CLIs share).
python3 - "$dir/b.sock" > "$dir/raw" <<'PY' &
import json, socket, sys, time
worst, times = 0, []
for i in range(40):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    t0 = time.perf_counter()
    s.sendall((json.dumps({"command": "ban", "jail": "sshd", "targets": ["203.0.113.%d" % (100 + i)]}) + "\n").encode())
    answer = json.loads(s.makefile().readline()); s.close()
    times.append(time.perf_counter() - t0)
    assert answer["ok"], answer
    time.sleep(0.05)
times.sort()
print("%.1f ms median, %.1f ms slowest of %d" % (times[len(times) // 2] * 1e3, times[-1] * 1e3, len(times)))
PY
raw=$!
worst=0
for i in $(seq 20); do
    t0=$(date +%s%N); "$bantam" ban sshd "203.0.113.$i" --socket "$dir/b.sock" >/dev/null; t1=$(date +%s%N)
    (( (t1 - t0) / 1000 > worst )) && worst=$(( (t1 - t0) / 1000 ))
    sleep 0.05
done
wait "$raw"
wait "${listings[@]}"
end=$(date +%s.%N)
printf '20 concurrent:            all done after %.2f s; slowest CLI %s; daemon peak RSS %d kB\n' \
    "$(echo "$end - $start" | bc)" "$(sort -n "$dir"/c*[0-9] | tail -1)" "$(kb VmHWM)"
printf 'a ban meanwhile:          on the socket %s; `bantam ban` slowest of 20 %d.%03d ms\n' \
    "$(cat "$dir/raw")" $((worst / 1000)) $((worst % 1000))
