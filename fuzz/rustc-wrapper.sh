#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build (scripts/fuzz.sh): compiles the regex
# engines' crates without coverage instrumentation. Their matching loops run
# for every line the targets feed in; instrumented, they took over half of
# each run (comparison hooks) and every new lazy-DFA state looked like new
# coverage, steering the fuzzer towards exploring the regex crate instead of
# bantam. bantam's own crates, and the parsers it builds on, stay instrumented.
rustc=$1
shift
crate=
prev=
for arg in "$@"; do
  [[ $prev == --crate-name ]] && crate=$arg
  prev=$arg
done
case $crate in
  regex | regex_automata | aho_corasick | memchr)
    args=()
    for arg in "$@"; do
      case $arg in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-* | -Cllvm-args=-simplifycfg-branch-fold-threshold=0) ;;
        *) args+=("$arg") ;;
      esac
    done
    exec "$rustc" "${args[@]}"
    ;;
esac
exec "$rustc" "$@"
