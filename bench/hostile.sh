#!/usr/bin/env bash
# Hostile input: the worst per-line time of the filter engine on adversarial
# lines (100 kB lines, pathological repetitions, injected addresses, invalid
# UTF-8, NUL bytes). The corpus is the one the hostile-input test checks for
# correctness (crates/bantam-filter/tests/hostile/corpus.rs); here we time it.
# Prints, per sshd mode, for a generic tag-heavy rule and for fail2ban's own
# sshd.conf (when installed): lines, total time,
# slowest line and its number.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${BENCH_DIR:-/tmp/bantam-bench}
mkdir -p "$dir"
cargo build --release -q -p bantam -p bantam-filter --example hostile_corpus
corpus=$dir/hostile.log
./target/release/examples/hostile_corpus > "$corpus"
lines=$(wc -l < "$corpus")
bytes=$(wc -c < "$corpus")
echo "hostile corpus: $lines lines, $bytes bytes ($corpus)"
printf '%-34s %8s %10s %14s %8s\n' "filter" "lines" "total ms" "slowest line" "line #"
run() {
  local label=$1; shift
  ./target/release/bantam regex --json --timings --threads 1 "$@" |
    python3 -c 'import json,sys
d=json.load(sys.stdin)
print("%-34s %8d %10.2f %11.1f us %8d" % (sys.argv[1], d["lines"], d["seconds"]*1e3, d["worst_line_seconds"]*1e6, d["worst_line_number"]))' "$label"
}
for mode in normal ddos extra aggressive; do
  run "sshd ($mode)" --mode "$mode" "$corpus" sshd
done
run "generic: user .* from <SUBNET>" "$corpus" '^.*user <F-USER>.*</F-USER> from <SUBNET>.*$'
run "generic: <HOST> anywhere" "$corpus" '<HOST>'
# fail2ban's own filter file, on bantam's fail2ban engine (Python dialect:
# linear engine where possible, a step-limited backtracker where not).
f2b_sshd=/etc/fail2ban/filter.d/sshd.conf
if [[ -r $f2b_sshd ]]; then
  for mode in normal aggressive; do
    run "fail2ban sshd.conf ($mode)" --mode "$mode" "$corpus" "$f2b_sshd"
  done
else
  echo "(fail2ban not installed: its sshd.conf not timed)"
fi
