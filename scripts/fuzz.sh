#!/usr/bin/env bash
# Coverage-guided fuzzing of bantam's parsers and filter engines, on the
# stable toolchain (libFuzzer through the libfuzzer-sys crate; see
# fuzz/README.md for why and for longer runs).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the targets, then runs each for SECONDS (default 10) on a corpus
# seeded from the repository's fixtures, and prints per target: executions,
# corpus size, crashes. Exits non-zero on any crash, leak of memory past the
# limit, or timeout; the input that did it is kept in fuzz/artifacts/TARGET/.
# Idempotent: it installs only what is missing, and the corpus grows from run
# to run (fuzz/corpus/, not committed).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-10}
shift || true
all=(filter_line config_toml fail2ban_ini python_regex date control_request)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

# libFuzzer itself is C++, compiled by the libfuzzer-sys crate's build script.
if ! command -v c++ >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "fuzz.sh: a C++ compiler (Debian: g++) is needed to build libFuzzer" >&2
    exit 1
  fi
  echo "fuzz.sh: installing g++"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi

# What `cargo fuzz build -s none` sets, which stable rustc accepts: SanitizerCoverage
# with 8-bit counters and comparison tracing for libFuzzer. No sanitizer: that
# needs nightly, and safe Rust gets memory safety from the compiler anyway.
# The explicit --target keeps these flags off build scripts and proc macros.
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-sanitizer-coverage-stack-depth \
 -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
 --cfg fuzzing"
export RUSTC_WRAPPER=$PWD/rustc-wrapper.sh
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --release --locked --target "$triple" "${bins[@]}"
bindir=${CARGO_TARGET_DIR:-target}/$triple/release

# Seeds: small hand-made inputs (fuzz/seeds/TARGET) plus the repository's own
# fixtures, each stored under a name derived from its content so that reruns
# add nothing.
add_seed() { # TARGET < input
  local tmp
  tmp=$(mktemp "corpus/$1/.seed.XXXXXX")
  cat >"$tmp"
  mv "$tmp" "corpus/$1/seed-$(sha1sum <"$tmp" | cut -c1-16)"
}
for t in "${all[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  for f in seeds/"$t"/*; do add_seed "$t" <"$f"; done
done
# Filter fixture logs, eight lines at a time (the filter target reads at
# most 64). -a: some fixtures hold the raw bytes a server wrote (a request
# line that is not text), which are the most useful seeds of all; a log with
# nothing left after the comments splits into no chunk at all.
for log in ../crates/bantam-filter/filters/*/*.log; do
  grep -a -v '^#' "$log" | split -l 8 --filter='cat >"$FILE"' - "corpus/.chunk-" || true
  for chunk in corpus/.chunk-*; do
    [[ -e $chunk ]] || continue
    add_seed filter_line <"$chunk"
    { printf '\x00\x00\xfd\x69\x02'; cat "$chunk"; } | add_seed date
    rm -f "$chunk"
  done
done
add_seed config_toml <../dist/bantam.toml
{ printf '\x00'; cat tree/jail.conf; } | add_seed fail2ban_ini

# libFuzzer: -timeout makes a slow input a failure (the engines promise
# bounded time per line), -rss_limit_mb an input that eats memory.
status=0
summary=()
for t in "${targets[@]}"; do
  log=$(mktemp)
  before=$(find "artifacts/$t" -type f | wc -l)
  rc=0
  # The targets that need real files write them under TMPDIR: one per run,
  # removed after it (an input that crashes leaves its files behind otherwise).
  scratch=$(mktemp -d)
  TMPDIR=$scratch "$bindir/$t" "corpus/$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
    >"$log" 2>&1 || rc=$?
  rm -rf "$scratch"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  corpus=$(find "corpus/$t" -type f -name '[!.]*' | wc -l)
  crashes=$(($(find "artifacts/$t" -type f | wc -l) - before))
  if ((rc != 0)); then
    status=1
    ((crashes > 0)) || crashes=1
    echo "fuzz.sh: $t FAILED (exit $rc); the end of its log:" >&2
    tail -40 "$log" >&2
    ls -t "artifacts/$t" | head -3 | sed "s|^|fuzz.sh: input kept: fuzz/artifacts/$t/|" >&2
  fi
  summary+=("$(printf '%-16s %12s %8s %8s' "$t" "${execs:-?}" "$corpus" "$crashes")")
  rm -f "$log"
done
printf '%-16s %12s %8s %8s\n' target executions corpus crashes
printf '%s\n' "${summary[@]}"
exit "$status"
