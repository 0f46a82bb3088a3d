#!/usr/bin/env bash
# regex-throughput.sh: filter-engine throughput, bantam vs fail2ban.
#
# Generates a synthetic auth.log once (cached in $BENCH_DIR, default
# /tmp/bantam-bench), builds bantam in release mode, then times
#   bantam regex --json LOG sshd                          (best of 3 runs)
#   bantam regex --json LOG /etc/fail2ban/filter.d/sshd.conf
#                     fail2ban's own filter file on bantam's fail2ban engine
#                     (Python-dialect translation, fail2ban semantics; best of 3)
#   fail2ban-regex LOG /etc/fail2ban/filter.d/sshd.conf   (1 run, if installed)
# and prints lines, wall seconds, CPU seconds (user + system), lines/s,
# matched lines and peak RSS of each, the speed ratios, and the difference in
# matched lines. Wall time is measured here (date +%s.%N around the process),
# so it includes start-up and reading the file; bantam's own engine time
# ("seconds" in its JSON) is shown too. On a machine shared with other work,
# CPU seconds are the steadier measure.
#
# With fail2ban installed it then checks, line by line, that bantam running
# fail2ban's own sshd.conf finds exactly fail2ban's failures (the same lines,
# the same addresses): bench/compare-matches.sh with that filter on both
# sides (--no-compare skips it; it runs fail2ban-regex twice more).
#
# Exit status: 0 when bantam's matched count is within 1% of fail2ban's and
# the sshd.conf check found no difference (or fail2ban was not run), 1 when
# not, 2 on usage or build errors.
#
# usage: bench/regex-throughput.sh [options]
#   --lines N       log size (default 1000000)
#   --seed N        generator seed (default 1)
#   --runs N        bantam runs, best wall time wins (default 3)
#   --no-fail2ban   bantam only
#   --no-compare    skip the line-by-line check of fail2ban's sshd.conf
#   --no-build      use the existing target/release/bantam
#   --log FILE      benchmark this log instead of a generated one
# Environment: BENCH_DIR (log cache), FAIL2BAN_REGEX (default fail2ban-regex).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bench_dir=${BENCH_DIR:-/tmp/bantam-bench}

lines=1000000
seed=1
runs=3
use_f2b=1
compare=1
build=1
log=
f2b_filter=/etc/fail2ban/filter.d/sshd.conf
f2b_cmd=${FAIL2BAN_REGEX:-fail2ban-regex}
tolerance=1.0   # percent

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --lines) lines=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-fail2ban) use_f2b=0; shift ;;
    --no-compare) compare=0; shift ;;
    --no-build) build=0; shift ;;
    --log) log=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "regex-throughput.sh: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
[[ $lines =~ ^[0-9]+$ && $lines -gt 0 ]] || { echo "regex-throughput.sh: --lines N (N > 0)" >&2; exit 2; }
[[ $runs =~ ^[0-9]+$ && $runs -gt 0 ]] || { echo "regex-throughput.sh: --runs N (N > 0)" >&2; exit 2; }

mkdir -p "$bench_dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/regex-throughput.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- the log (regenerated when the generator changes) ----------------------
if [[ -z $log ]]; then
  gen=$here/gen_authlog.py
  ghash=$(sha256sum "$gen" | cut -c1-10)
  log=$bench_dir/auth-traditional-$lines-seed$seed-$ghash.log
  if [[ ! -s $log ]]; then
    echo "generating $log ..." >&2
    python3 "$gen" --lines "$lines" --seed "$seed" --format traditional --out "$log.tmp.$$"
    mv "$log.tmp.$$" "$log"
  fi
fi
[[ -r $log ]] || { echo "regex-throughput.sh: cannot read $log" >&2; exit 2; }

# ---- GNU time for peak RSS ------------------------------------------------------
gnutime=/usr/bin/time
if [[ ! -x $gnutime ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing GNU time (package time) for peak RSS ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null || true
  fi
  [[ -x $gnutime ]] || { echo "regex-throughput.sh: no /usr/bin/time; peak RSS not measured" >&2; gnutime=; }
fi

# run LABEL CMD...: runs CMD with stdout to $tmp/LABEL.out; sets WALL (s),
# CPU (user + system s) and RSS (KiB)
run() {
  local label=$1; shift
  local t0 t1 status=0
  t0=$(date +%s.%N)
  if [[ -n $gnutime ]]; then
    "$gnutime" -f '%M %U %S' -o "$tmp/$label.rss" "$@" >"$tmp/$label.out" 2>"$tmp/$label.err" || status=$?
  else
    "$@" >"$tmp/$label.out" 2>"$tmp/$label.err" || status=$?
  fi
  t1=$(date +%s.%N)
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  RSS=- CPU=-
  if [[ -n $gnutime && -s $tmp/$label.rss ]]; then
    read -r RSS CPU < <(tail -n1 "$tmp/$label.rss" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }')
  fi
  if ((status)); then
    echo "regex-throughput.sh: $label failed (exit $status):" >&2
    tail -n 20 "$tmp/$label.err" >&2
    return "$status"
  fi
}

# ---- bantam -------------------------------------------------------------------------------
if ((build)); then
  echo "cargo build --release -p bantam ..." >&2
  (cd "$root" && cargo build --release -p bantam) >&2 || { echo "regex-throughput.sh: build failed" >&2; exit 2; }
fi
bantam=$root/target/release/bantam
[[ -x $bantam ]] || { echo "regex-throughput.sh: no $bantam (drop --no-build?)" >&2; exit 2; }

# less A B: whether A < B (numbers; "-" is never less)
less() { [[ $1 != - ]] && { [[ $2 == - || -z $2 ]] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }; }

best_wall= best_run= max_rss=0 b_cpu=
for ((i = 1; i <= runs; i++)); do
  run "bantam$i" "$bantam" regex --json "$log" sshd || exit 2
  echo "bantam run $i: ${WALL}s" >&2
  if [[ -z $best_wall ]] || awk -v a="$WALL" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
    best_wall=$WALL best_run=$i
  fi
  less "$CPU" "$b_cpu" && b_cpu=$CPU
  [[ $RSS != - ]] && ((RSS > max_rss)) && max_rss=$RSS
done
# lines matched ignored missed seconds, from the best run's JSON
read -r b_lines b_matched b_ignored b_missed b_secs < <(python3 - "$tmp/bantam$best_run.out" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        j = json.load(f)
except ValueError as e:
    sys.exit("regex-throughput.sh: bantam --json did not print one JSON object: %s" % e)
missing = [k for k in ("lines", "matched") if k not in j]
if missing:
    sys.exit("regex-throughput.sh: bantam --json lacks %s" % ", ".join(missing))
ign = j.get("ignored", "-")
if isinstance(ign, int) and isinstance(j.get("nofail"), int):
    ign += j["nofail"]          # fail2ban-regex counts no-failure lines as ignored
secs = j.get("seconds", "-")
if isinstance(secs, float):
    secs = "%.3f" % secs
print(j["lines"], j["matched"], ign, j.get("missed", "-"), secs)
PY
) || exit 2
b_rss=-
((max_rss > 0)) && b_rss=$max_rss

# ---- bantam running fail2ban's own sshd.conf -------------------------------------------
have_bf=0
if [[ -r $f2b_filter ]]; then
  bf_best= bf_run= bf_cpu=
  for ((i = 1; i <= runs; i++)); do
    run "bf$i" "$bantam" regex --json "$log" "$f2b_filter" || exit 2
    echo "bantam (fail2ban's sshd.conf) run $i: ${WALL}s, ${CPU}s CPU" >&2
    if [[ -z $bf_best ]] || awk -v a="$WALL" -v b="$bf_best" 'BEGIN { exit !(a < b) }'; then
      bf_best=$WALL bf_run=$i bf_rss=$RSS
    fi
    less "$CPU" "$bf_cpu" && bf_cpu=$CPU
  done
  read -r bf_lines bf_matched bf_ignored bf_missed bf_secs < <(python3 - "$tmp/bf$bf_run.out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(j["lines"], j["matched"], j.get("ignored", "-"), j.get("missed", "-"), "%.3f" % j.get("seconds", 0))
PY
) || exit 2
  have_bf=1
fi

# ---- fail2ban -------------------------------------------------------------------------------
have_f2b=0
f2b_note="fail2ban not run (--no-fail2ban)"
if ((use_f2b)); then
  if command -v "$f2b_cmd" >/dev/null 2>&1 && [[ -r $f2b_filter ]]; then
    echo "fail2ban-regex (1 run; about 25 s per million lines) ..." >&2
    run f2b "$f2b_cmd" "$log" "$f2b_filter" || exit 2
    f_wall=$WALL f_rss=$RSS f_cpu=$CPU
    summary=$(grep -E '^Lines: [0-9]+ lines' "$tmp/f2b.out" | tail -n1)
    [[ -n $summary ]] || { echo "regex-throughput.sh: no 'Lines:' summary from fail2ban-regex" >&2; exit 2; }
    read -r f_lines f_ignored f_matched f_missed < <(sed -E \
      's/^Lines: ([0-9]+) lines, ([0-9]+) ignored, ([0-9]+) matched, ([0-9]+) missed.*/\1 \2 \3 \4/' <<<"$summary")
    f_secs=$(sed -nE 's/^\[processed in ([0-9.]+) sec\].*/\1/p' "$tmp/f2b.out" | tail -n1)
    have_f2b=1
  else
    f2b_note="fail2ban-regex or $f2b_filter not installed (apt-get install fail2ban): bantam figures only"
  fi
fi

# ---- report ------------------------------------------------------------------------------------
mb() { [[ $1 == - ]] && echo - || awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }

echo
echo "log: $log ($(du -h "$log" | cut -f1))"
fmt='%-10s %10s %9s %7s %11s %10s %10s %9s %11s\n'
printf "$fmt" tool lines wall_s cpu_s lines/s matched ignored RSS_MB engine_s
printf "$fmt" bantam "$b_lines" "$best_wall" "${b_cpu:--}" "$(rate "$b_lines" "$best_wall")" \
  "$b_matched" "$b_ignored" "$(mb "$b_rss")" "$b_secs"
if ((have_bf)); then
  printf "$fmt" bantam-f2b "$bf_lines" "$bf_best" "${bf_cpu:--}" "$(rate "$bf_lines" "$bf_best")" \
    "$bf_matched" "$bf_ignored" "$(mb "$bf_rss")" "$bf_secs"
fi
if ((have_f2b)); then
  printf "$fmt" fail2ban "$f_lines" "$f_wall" "${f_cpu:--}" "$(rate "$f_lines" "$f_wall")" \
    "$f_matched" "$f_ignored" "$(mb "$f_rss")" "${f_secs:--}"
else
  echo "($f2b_note)"
fi
echo "bantam-f2b = bantam regex with fail2ban's own $f2b_filter (its fail2ban engine, one thread)."
echo "bantam: best of $runs runs (wall and CPU each); RSS is the peak over all runs; engine_s is the tool's own timing."
echo "ignored = lines that only matched a no-failure rule (nofail) or an ignoreregex."

status=0
if ((have_f2b)); then
  awk -v f="$f_wall" -v b="$best_wall" 'BEGIN { if (b > 0) printf "speed ratio (fail2ban wall / bantam wall): %.1fx\n", f / b }'
  if ((have_bf)); then
    awk -v f="$f_wall" -v b="$bf_best" 'BEGIN { if (b > 0) printf "speed ratio, the same sshd.conf (fail2ban wall / bantam-f2b wall): %.1fx\n", f / b }'
    if [[ $f_cpu != - && -n $bf_cpu && $bf_cpu != - ]]; then
      awk -v f="$f_cpu" -v b="$bf_cpu" 'BEGIN { if (b > 0) printf "speed ratio, the same sshd.conf (fail2ban CPU / bantam-f2b CPU): %.1fx\n", f / b }'
    fi
    echo "matched with the same sshd.conf: bantam-f2b $bf_matched, fail2ban $f_matched, difference $((bf_matched - f_matched))"
  fi
  diff=$((b_matched - f_matched))
  pct=$(awk -v d="$diff" -v f="$f_matched" 'BEGIN { if (f > 0) printf "%+.3f", 100 * d / f; else print (d == 0 ? "+0.000" : "inf") }')
  echo "matched: bantam $b_matched, fail2ban $f_matched, difference $diff ($pct%)"
  if [[ $b_lines != "$f_lines" ]]; then
    echo "note: the tools counted different numbers of lines ($b_lines vs $f_lines)"
  fi
  if awk -v p="$pct" -v t="$tolerance" 'BEGIN { if (p == "inf") exit 0; p = p < 0 ? -p : p; exit !(p > t) }'; then
    if ((diff > 0)); then
      echo "FAIL: bantam matched $diff more lines than fail2ban ($pct%, tolerance ${tolerance}%)"
    else
      echo "FAIL: bantam matched $((-diff)) fewer lines than fail2ban ($pct%, tolerance ${tolerance}%)"
    fi
    echo "      see which shapes: bench/compare-matches.sh $log"
    status=1
  else
    echo "OK: within ${tolerance}% of fail2ban"
  fi
fi

# ---- the same sshd.conf, line by line ------------------------------------------------------
if ((have_f2b && have_bf && compare)); then
  echo "checking fail2ban's sshd.conf line by line (bench/compare-matches.sh) ..." >&2
  if "$here/compare-matches.sh" --filter "$f2b_filter" --f2b-filter "$f2b_filter" --bantam "$bantam" \
      --examples 3 "$log" >"$tmp/compare.out" 2>"$tmp/compare.err"; then
    verdict=$(grep -E '^Disagreements:' "$tmp/compare.out" || true)
    how=$(grep -E "^bantam's lines:" "$tmp/compare.out" || true)
    echo "line by line, the same sshd.conf: ${verdict:-no verdict (see compare-matches.sh)}"
    [[ -n $how ]] && echo "  ($how)"
    if [[ $verdict =~ ^Disagreements:\ 0\ lines.*,\ 0\ the\ other.*,\ 0\ matched ]]; then
      echo "OK: identical matches (the same lines, the same addresses)"
    else
      echo "FAIL: bantam-f2b and fail2ban disagree; see bench/compare-matches.sh --filter $f2b_filter --f2b-filter $f2b_filter $log"
      status=1
    fi
  else
    echo "compare-matches.sh failed:" >&2
    tail -n 20 "$tmp/compare.err" >&2
    status=1
  fi
fi
exit "$status"
