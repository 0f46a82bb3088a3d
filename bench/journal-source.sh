#!/usr/bin/env bash
# journal-source.sh: how fast bantam's journal source feeds a jail, against
# the pipe an admin would build by hand.
#
#   source  a dry-run daemon with one sshd jail on journal:_SYSTEMD_UNIT=ssh.service
#           ([daemon] journal-dir = the bench journal): time from start until
#           `status` reports every entry read (lines_read), polled every 50 ms.
#   pipe    journalctl --directory=DIR -o short-iso _SYSTEMD_UNIT=ssh.service
#           | bantam regex /dev/stdin sshd   (the same entries, the same filter).
#   export  journalctl -o export alone into /dev/null: the ceiling journalctl
#           sets for both.
#
# The journal is written once by systemd-journal-remote (Debian package
# systemd-journal-remote) from generated export-format entries: sshd
# failures from 198.18.0.0/15, every 4th entry from another unit.
#
# usage: bench/journal-source.sh [--entries N] [--no-build]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
entries=200000
build=1
while (($#)); do
  case $1 in
    --entries) entries=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "journal-source.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
remote=/lib/systemd/systemd-journal-remote
[[ -x $remote ]] || { echo "journal-source.sh: $remote missing (apt-get install systemd-journal-remote)" >&2; exit 2; }
((build)) && (cd "$root" && cargo build --release -q -p bantam)
bantam=$root/target/release/bantam

tmp=$(mktemp -d "${TMPDIR:-/tmp}/journal-source.XXXXXX")
daemon=
cleanup() { [[ -n $daemon ]] && kill "$daemon" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir "$tmp/journal"

echo "writing $entries entries ..." >&2
python3 - "$entries" <<'PY' | "$remote" --output="$tmp/journal/remote.journal" - 2>/dev/null
import sys, time
n = int(sys.argv[1])
now = int(time.time() * 1e6) - n
out = sys.stdout
for i in range(n):
    unit = "cron.service" if i % 4 == 3 else "ssh.service"
    a = 198 * 2**24 + 18 * 2**16 + (i % 131072)
    ip = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
    out.write(f"__REALTIME_TIMESTAMP={now + i}\n_HOSTNAME=web1\nSYSLOG_IDENTIFIER=sshd\n"
              f"_PID={1000 + i % 30000}\n_SYSTEMD_UNIT={unit}\n"
              f"MESSAGE=Failed password for invalid user u{i % 977} from {ip} port {1024 + i % 60000} ssh2\n\n")
PY
wanted=$(journalctl --directory="$tmp/journal" -o cat _SYSTEMD_UNIT=ssh.service | wc -l)
echo "entries of ssh.service: $wanted" >&2

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }'; }

# ---- export alone ----
t0=$(date +%s.%N)
journalctl --directory="$tmp/journal" -o export _SYSTEMD_UNIT=ssh.service >/dev/null
t1=$(date +%s.%N); export_s=$(secs "$t0" "$t1")

# ---- the hand-made pipe ----
t0=$(date +%s.%N)
journalctl --directory="$tmp/journal" -o short-iso _SYSTEMD_UNIT=ssh.service \
  | "$bantam" regex --json /dev/stdin sshd >"$tmp/regex.json"
t1=$(date +%s.%N); pipe_s=$(secs "$t0" "$t1")

# ---- bantam's journal source ----
cat >"$tmp/bantam.toml" <<TOML
[daemon]
state-dir = "$tmp/state"
socket = "$tmp/bantam.sock"
journal-dir = "$tmp/journal"
max-tracked = 1000000
[jails.sshd]
filter = "sshd"
logpath = ["journal:_SYSTEMD_UNIT=ssh.service"]
maxretry = 1000000
findtime = "1d"
TOML
t0=$(date +%s.%N)
"$bantam" run --dry-run --config "$tmp/bantam.toml" --socket "$tmp/bantam.sock" 2>"$tmp/daemon.err" &
daemon=$!
read_now() { "$bantam" status --json --socket "$tmp/bantam.sock" 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["jails"][0]["lines_read"])' 2>/dev/null || echo 0; }
while (( $(read_now) < wanted )); do sleep 0.05; done
t1=$(date +%s.%N); source_s=$(secs "$t0" "$t1")
failures=$("$bantam" status --json --socket "$tmp/bantam.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jails"][0]["total_failures"])')

printf '\njournal source benchmark: %d entries of the unit (of %d), %s cores\n' "$wanted" "$entries" "$(nproc)"
printf '%-58s %8s s %10s lines/s\n' "journalctl -o export > /dev/null (ceiling)" "$export_s" "$(rate "$wanted" "$export_s")"
printf '%-58s %8s s %10s lines/s\n' "journalctl -o short-iso | bantam regex (filter only)" "$pipe_s" "$(rate "$wanted" "$pipe_s")"
printf '%-58s %8s s %10s lines/s\n' "bantam run, journal: source -> sshd jail (start included)" "$source_s" "$(rate "$wanted" "$source_s")"
printf 'daemon counted %s failures\n' "$failures"
