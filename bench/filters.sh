#!/usr/bin/env bash
# filters.sh: lines/s of every shipped native filter on a log of its service.
#
# For each crates/bantam-filter/filters/NAME.toml, the log is
#   * made by bench/gen/NAME.py (if present: `python3 gen/NAME.py LINES OUT`), or
#   * the filter's own fixtures (filters/NAME/*.log, comments dropped) repeated
#     up to LINES lines, so a filter another helper adds is benchmarked as soon
#     as it has fixtures.
# Then `bantam regex --json LOG NAME` runs (best of RUNS) and the engine's
# lines/s (its "lines_per_second", reading included), the matched lines and
# the wall time are printed, one filter a line.
#
# usage: bench/filters.sh [--lines N] [--runs N] [--no-build] [NAME...]
# Environment: BENCH_DIR (logs, default /tmp/bantam-bench/filters).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
filters_dir=$root/crates/bantam-filter/filters
bench_dir=${BENCH_DIR:-/tmp/bantam-bench/filters}
lines=200000
runs=3
build=1
names=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --lines) lines=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "filters.sh: unknown option $1" >&2; exit 2 ;;
        *) names+=("$1"); shift ;;
    esac
done
if [[ ${#names[@]} -eq 0 ]]; then
    for f in "$filters_dir"/*.toml; do names+=("$(basename "$f" .toml)"); done
fi
if [[ $build -eq 1 ]]; then
    (cd "$root" && cargo build --release -q -p bantam) || exit 2
fi
bantam=$root/target/release/bantam
mkdir -p "$bench_dir"

# make_log NAME OUT: the generator's log, or the fixtures repeated.
make_log() {
    local name=$1 out=$2
    if [[ -f $here/gen/$name.py ]]; then
        python3 "$here/gen/$name.py" "$lines" "$out"
        return
    fi
    local fixtures=("$filters_dir/$name"/*.log)
    [[ -e ${fixtures[0]} ]] || return 1
    python3 - "$lines" "$out" "${fixtures[@]}" <<'PY'
import sys
n, out, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
body = []
for f in files:
    with open(f, "rb") as fh:
        body += [l for l in fh.read().split(b"\n") if l and not l.startswith(b"#")]
with open(out, "wb") as fh:
    for i in range(n):
        fh.write(body[i % len(body)] + b"\n")
PY
}

printf '%-18s %10s %12s %10s %8s\n' filter lines lines/s matched wall_s
for name in "${names[@]}"; do
    log=$bench_dir/$name.log
    if [[ ! -s $log || $(wc -l <"$log") -ne $lines ]]; then
        make_log "$name" "$log" || { printf '%-18s (no generator, no fixtures)\n' "$name"; continue; }
    fi
    best=
    for _ in $(seq "$runs"); do
        start=$(date +%s.%N)
        json=$("$bantam" regex --json "$log" "$name")
        end=$(date +%s.%N)
        wall=$(echo "$end - $start" | bc -l)
        if [[ -z $best ]] || (( $(echo "$wall < $best" | bc -l) )); then
            best=$wall best_json=$json
        fi
    done
    printf '%s' "$best_json" | python3 -c '
import json, sys
r = json.load(sys.stdin)
lines, lps, matched = r["lines"], r["lines_per_second"], r["matched"] + r["successes"]
print(f"{sys.argv[1]:<18} {lines:>10} {lps:>12,.0f} {matched:>10} {float(sys.argv[2]):>8.3f}")
' "$name" "$best"
done
