#!/usr/bin/env bash
# compare-matches.sh: which lines do bantam and fail2ban classify differently?
#
# Runs fail2ban-regex (summary mode, every line printed) and `bantam regex
# --out ip` on the same log, works out per line whether each tool reports a
# failure, and prints the disagreements grouped by message shape (addresses,
# ports, pids, user names and numbers folded into placeholders) with counts and
# example lines, followed by the full per-shape table. Use it to tune bantam's
# sshd filter against fail2ban's stock one.
#
# Without bantam (not built yet, or --no-bantam) it prints fail2ban's verdict
# per shape: matched (a failure), ignored (matched a no-failure helper rule,
# <F-NOFAIL>), missed.
#
# usage: bench/compare-matches.sh [options] LOG
#   --mode normal|aggressive  filter mode (default normal; bantam gets --mode
#                             only when it is not normal)
#   --filter NAME|FILE        filter for bantam (default sshd)
#   --f2b-filter NAME|FILE    filter for fail2ban (default sshd; with --mode
#                             aggressive it becomes sshd[mode=aggressive])
#   --bantam PATH             bantam binary (default $BANTAM or
#                             <repo>/target/release/bantam); not built here
#   --no-bantam               fail2ban half only
#   --examples N              example lines per disagreement (default 5)
#   --dump FILE               write every disagreeing line (tab separated:
#                             line number, fail2ban verdict+address, bantam
#                             verdict+address, shape, line) to FILE
#   --keep DIR                keep the raw tool outputs in DIR
#
# How lines are aligned: fail2ban's summary mode prints every line in one of
# three lists (matched / ignored / missed) in file order, so its verdict per
# line is exact. bantam's `--out line` (each failure's line, in order) is
# zipped with `--out ip`, which is exact too. If bantam lacks `--out line`,
# each address of `--out ip` is assigned to a line that contains it, in order,
# preferring lines fail2ban matched, so the reported disagreements are the
# fewest consistent with bantam's output (exact unless the same address has
# several lines that could have produced a failure). The same is done with `fail2ban-regex -o ip`
# to compare the address each tool took from a line (e.g. user names that
# carry an address). Note that fail2ban's -o mode drops failures that have no
# address yet (pending), so it can print fewer addresses than "matched".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

mode=normal
filter=sshd
f2b_filter=
bantam=${BANTAM:-$root/target/release/bantam}
use_bantam=1
examples=5
dump=
keep=
log=

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --mode) mode=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --f2b-filter) f2b_filter=$2; shift 2 ;;
    --bantam) bantam=$2; shift 2 ;;
    --no-bantam) use_bantam=0; shift ;;
    --examples) examples=$2; shift 2 ;;
    --dump) dump=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "compare-matches.sh: unknown option $1" >&2; usage 2 >&2 ;;
    *) [[ -z $log ]] || { echo "compare-matches.sh: one LOG only" >&2; exit 2; }; log=$1; shift ;;
  esac
done
[[ -n $log ]] || usage 2 >&2
[[ -r $log ]] || { echo "compare-matches.sh: cannot read $log" >&2; exit 2; }
case $mode in normal|aggressive) ;; *) echo "compare-matches.sh: --mode normal|aggressive" >&2; exit 2 ;; esac
if [[ -z $f2b_filter ]]; then
  f2b_filter=sshd
  [[ $mode == normal ]] || f2b_filter="sshd[mode=$mode]"
fi

if [[ -n $keep ]]; then
  mkdir -p "$keep"; work=$keep
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/compare-matches.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

have_f2b=0
if command -v fail2ban-regex >/dev/null 2>&1; then
  have_f2b=1
else
  echo "compare-matches.sh: fail2ban-regex not found (apt-get install fail2ban); bantam half only" >&2
fi
if ((use_bantam)) && [[ ! -x $bantam ]]; then
  echo "compare-matches.sh: no bantam binary at $bantam (cargo build --release -p bantam); fail2ban half only" >&2
  use_bantam=0
fi
((have_f2b || use_bantam)) || { echo "compare-matches.sh: neither tool available" >&2; exit 1; }

if ((have_f2b)); then
  echo "fail2ban-regex $f2b_filter: classifying every line ..." >&2
  fail2ban-regex --print-all-matched --print-all-ignored --print-all-missed \
    "$log" "$f2b_filter" >"$work/f2b.txt"
  if ((use_bantam)); then
    echo "fail2ban-regex -o ip $f2b_filter ..." >&2
    fail2ban-regex -o ip "$log" "$f2b_filter" >"$work/f2b.ip"
  fi
fi
if ((use_bantam)); then
  bmode=()
  [[ $mode == normal ]] || bmode=(--mode "$mode")
  echo "bantam regex --out ip ${bmode[*]} $filter ..." >&2
  "$bantam" regex "${bmode[@]}" --out ip "$log" "$filter" >"$work/bantam.ip"
  # --out line (the matched line itself) makes the alignment exact
  bhelp=$("$bantam" regex --help 2>/dev/null || true)
  if grep -Eq '^ *- line:' <<<"$bhelp"; then
    "$bantam" regex "${bmode[@]}" --out line "$log" "$filter" >"$work/bantam.line"
  fi
  "$bantam" regex "${bmode[@]}" --json "$log" "$filter" >"$work/bantam.json" || true
fi

python3 - "$log" "$work" "$have_f2b" "$use_bantam" "$examples" "$dump" "$mode" <<'PY'
import bisect, ipaddress, json, os, re, sys

log, work, have_f2b, use_bantam, n_examples, dump, mode = sys.argv[1:8]
have_f2b, use_bantam, n_examples = have_f2b == "1", use_bantam == "1", int(n_examples)

# ---- the log ---------------------------------------------------------------
with open(log, encoding="utf-8", errors="replace", newline="") as f:
    raw = f.read().split("\n")
if raw and raw[-1] == "":
    raw.pop()
lines = []          # (line number, text) of the lines fail2ban tests
for i, l in enumerate(raw, 1):
    l = l.rstrip("\r")
    if not l or l.startswith("#"):
        continue
    lines.append((i, l))
n = len(lines)

# ---- fail2ban verdicts: M matched, I ignored (nofail), X missed -------------
f2b = [None] * n
summary = {}
if have_f2b:
    lists = {"Matched": [], "Ignored": [], "Missed": []}
    cur = None
    with open(os.path.join(work, "f2b.txt"), encoding="utf-8", errors="replace") as f:
        for l in f:
            l = l.rstrip("\n")
            m = re.match(r"^\|- (Matched|Ignored|Missed) line\(s\):$", l)
            if m:
                cur = lists[m.group(1)]
                continue
            if cur is not None:
                if l.startswith("|  "):
                    cur.append(l[3:])
                    continue
                cur = None
            m = re.match(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", l)
            if m:
                summary = dict(zip(("lines", "ignored", "matched", "missed"), map(int, m.groups())))
            m = re.match(r"^\[processed in ([\d.]+) sec\]", l)
            if m:
                summary["seconds"] = float(m.group(1))
    heads = {k: 0 for k in lists}
    lost = 0
    for j, (_, l) in enumerate(lines):
        l = l.rstrip()
        for k, code in (("Matched", "M"), ("Ignored", "I"), ("Missed", "X")):
            lst = lists[k]
            h = heads[k]
            if h < len(lst) and lst[h] == l:
                f2b[j] = code
                heads[k] = h + 1
                break
        else:
            lost += 1
    if lost:
        print("warning: %d lines could not be matched to fail2ban's output (encoding?)" % lost,
              file=sys.stderr)

# ---- addresses in lines ---------------------------------------------------------
TOK = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:.]*[:.])[0-9A-Fa-f:.]{2,}")
_canon = {}

def canon_len(tok):
    """(canonical address, length of the address prefix of tok) or ("", 0)."""
    v = _canon.get(tok)
    if v is None:
        v = ("", 0)
        for t in (tok, tok.rstrip(".:"), tok.rstrip(".")):
            try:
                v = (ipaddress.ip_address(t).compressed, len(t))
                break
            except ValueError:
                pass
        _canon[tok] = v
    return v

def canon(tok):
    c = canon_len(tok.strip().strip("[]"))[0]
    return c

def addrs_spans(msg):
    out = []
    for m in TOK.finditer(msg):
        c, ln = canon_len(m.group(0))
        if c:
            out.append((m.start(), m.start() + ln, c))
    return out

# ---- message shapes ---------------------------------------------------------------
PREFIX = re.compile(
    r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+)\s+(\S+)\s+(.*)$")
IDENT = re.compile(r"^([^\s\[:]+)(?:\[\d+\])?: ?(.*)$")

def uclass(u):
    if u == "":
        return "<U:empty>"
    if "<A>" in u:
        return "<U:with-addr>"
    if " " in u:
        return "<U:with-space>"
    if len(u) > 64:
        return "<U:long>"
    return "<U>"

USER_EXCL = [re.compile(p) for p in (
    r"^(Invalid user )(.*)( from <A> port \d+)$",
    r"^(Failed \S+ for invalid user )(.*)( from <A> port \d+ ssh2.*)$",
    r"^(Failed \S+ for )(.*)( from <A> port \d+ ssh2.*)$",
    r"^(Accepted \S+ for )(.*)( from <A> port \d+ ssh2.*)$",
    r"^((?:Connection closed|Connection reset|Disconnected) (?:by|from) "
    r"(?:invalid |authenticating )?user )(.*)( <A> port \d+.*)$",
    r"^(Disconnecting (?:invalid|authenticating) user )(.*)( <A> port \d+: .*)$",
    r"^((?:error: )?maximum authentication attempts exceeded for (?:invalid user )?)(.*)"
    r"( from <A> port \d+ ssh2.*)$",
    r"^((?:error: )?PAM: Authentication failure for (?:illegal user )?)(.*)( from <A>)$",
    r"^(User )(.*)( from <A> not allowed because .*)$",
    r"^(\(to \S+\) )(\S+)( on \S+)$",
)]
USER_ALL = [re.compile(p) for p in (
    r"(session (?:opened|closed) for user )([^\s(]+)()",
    r"( by )([^\s(]*)(\(uid=)",
    r"(New session \d+ of user )(\S+?)(\.)$",
    r"(\b(?:r?user|logname)=)([^\s\]]*)()",
)]
SUBS = [(re.compile(p), r) for p, r in (
    (r"SHA256:\S+", "SHA256:<FP>"),
    (r"Their offer: \S+", "Their offer: <LIST>"),
    (r'(protocol identifier )".*"', r'\1"<STR>"'),
    (r"COMMAND=.*$", "COMMAND=<CMD>"),
    (r"PWD=\S+", "PWD=<DIR>"),
    (r"TTY=\S+", "TTY=<TTY>"),
    (r"tty=/dev/\S+", "tty=<TTY>"),
    (r"\bpts/\d+", "pts/<N>"),
    (r"\b(port|#)( ?)\d+", r"\1\2<P>"),
    (r"(?<![\w.<>/-])(?<!<P>:)\d+(?![\w]|\.\w)", "<N>"),
)]

def shape(text):
    m = PREFIX.match(text)
    if not m:
        return "?: " + text[:80]
    rest = m.group(2)
    m = IDENT.match(rest)
    if m:
        ident, msg = m.group(1), m.group(2)
    else:
        ident, msg = "?", rest
    sp = addrs_spans(msg)
    for s, e, _ in reversed(sp):
        msg = msg[:s] + "<A>" + msg[e:]
    if ident == "sudo":
        msg = re.sub(r"^\s*(\S+) : ", lambda m: uclass(m.group(1)) + " : ", msg)
    for rx in USER_EXCL:
        m = rx.match(msg)
        if m:
            msg = m.group(1) + uclass(m.group(2)) + m.group(3)
            break
    for rx in USER_ALL:
        msg = rx.sub(lambda m: m.group(1) + uclass(m.group(2)) + m.group(3), msg)
    for rx, r in SUBS:
        msg = rx.sub(r, msg)
    return ident + ": " + msg

# ---- align an in-order address list with the lines ----------------------------------
line_addrs = None
index = None

def build_index():
    global line_addrs, index
    line_addrs, index = [], {}
    for j, (_, l) in enumerate(lines):
        a = sorted({c for _, _, c in addrs_spans(l)})
        line_addrs.append(a)
        for c in a:
            index.setdefault(c, []).append(j)

def read_ips(path):
    ips = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for l in f:
            l = l.strip()
            if l:
                ips.append(canon(l) or l)   # keeps e.g. "None" (fail2ban, no address)
    return ips

def align(ips, prefer):
    """Assign each address to a distinct line containing it, in order.
    Returns (per-line address or None, number of addresses that fit nowhere)."""
    k = len(ips)
    latest = [None] * k
    bound = n
    for j in range(k - 1, -1, -1):
        lst = index.get(ips[j], ())
        p = bisect.bisect_left(lst, bound) - 1
        if p >= 0:
            latest[j] = lst[p]
            bound = lst[p]
    got = [None] * n
    pos = -1
    unplaced = 0
    for j in range(k):
        if latest[j] is None:
            unplaced += 1
            continue
        lst = index[ips[j]]
        p = bisect.bisect_right(lst, pos)
        first = None
        choice = None
        while p < len(lst) and lst[p] <= latest[j]:
            c = lst[p]
            if first is None:
                first = c
            if prefer(c):
                choice = c
                break
            p += 1
        if choice is None:
            choice = first
        if choice is None:         # cannot happen: latest[j] itself is a candidate
            unplaced += 1
            continue
        got[choice] = ips[j]
        pos = choice
    return got, unplaced

f2b_ip = b_ip = None
bsum = {}
how = None
if use_bantam:
    build_index()
    b_ips = read_ips(os.path.join(work, "bantam.ip"))
    if have_f2b:
        f2b_ips = read_ips(os.path.join(work, "f2b.ip"))
        f2b_ip, f2b_unplaced = align(f2b_ips, lambda c: f2b[c] == "M")
        b_ip, b_unplaced = align(b_ips, lambda c: f2b[c] == "M")
    else:
        b_ip, b_unplaced = align(b_ips, lambda c: True)
    b_lines_path = os.path.join(work, "bantam.line")
    if os.path.exists(b_lines_path):
        with open(b_lines_path, encoding="utf-8", errors="replace") as f:
            b_lines = [l.rstrip("\r\n").rstrip() for l in f]
        if len(b_lines) == len(b_ips):
            exact = [None] * n
            j = 0
            ok = True
            for pl, ip in zip(b_lines, b_ips):
                while j < n and lines[j][1].rstrip() != pl:
                    j += 1
                if j == n:
                    ok = False
                    break
                exact[j] = ip
            if ok:
                b_ip, b_unplaced = exact, 0
                how = "exact (bantam --out line)"
            else:
                print("warning: bantam --out line printed a line not in the log (in order); "
                      "aligning by address instead", file=sys.stderr)
        else:
            print("warning: bantam --out line and --out ip disagree in length (%d vs %d); "
                  "aligning by address instead" % (len(b_lines), len(b_ips)), file=sys.stderr)
    if b_unplaced:
        print("warning: %d of bantam's %d addresses appear in no line at a consistent position"
              % (b_unplaced, len(b_ips)), file=sys.stderr)
    try:
        with open(os.path.join(work, "bantam.json")) as f:
            bsum = json.load(f)
    except (OSError, ValueError):
        bsum = {}

# ---- aggregate per shape ----------------------------------------------------------------
stats = {}
examples = {}
dumpf = open(dump, "w") if dump else None
for j, (no, l) in enumerate(lines):
    sh = shape(l)
    st = stats.get(sh)
    if st is None:
        st = stats[sh] = {"lines": 0, "M": 0, "I": 0, "X": 0, "?": 0, "B": 0,
                          "f2b_only": 0, "bantam_only": 0, "addr_diff": 0}
    st["lines"] += 1
    v = f2b[j] or "?"
    st[v] += 1
    if not use_bantam:
        continue
    bm = b_ip[j] is not None
    st["B"] += bm
    kind = None
    if have_f2b:
        fm = v == "M"
        if fm and not bm:
            kind = "f2b_only"
        elif bm and not fm:
            kind = "bantam_only"
        elif fm and bm and f2b_ip[j] is not None and f2b_ip[j] != b_ip[j]:
            kind = "addr_diff"
    if kind:
        st[kind] += 1
        ex = examples.setdefault((sh, kind), [])
        if len(ex) < n_examples:
            ex.append((no, v, f2b_ip[j] if f2b_ip else None, b_ip[j], l))
        if dumpf:
            dumpf.write("%d\t%s %s\tbantam %s\t%s\t%s\n" % (
                no, v, (f2b_ip[j] if f2b_ip else None) or "-", b_ip[j] or "-", sh, l))
if dumpf:
    dumpf.close()

# ---- report ---------------------------------------------------------------------------------
def pct(a, b):
    return "%.1f%%" % (100.0 * a / b) if b else "-"

print("log: %s  (%d lines, mode %s)" % (log, n, mode))
if have_f2b:
    print("fail2ban: %s" % ", ".join("%s %s" % (k, v) for k, v in summary.items()))
if use_bantam:
    keys = [k for k in ("lines", "matched", "ignored", "missed", "seconds") if k in bsum]
    print("bantam:   %s" % (", ".join("%s %s" % (k, bsum[k]) for k in keys) or "(no --json summary)"))
    print("bantam --out ip: %d addresses" % len(b_ips), end="")
    if have_f2b:
        print("; fail2ban -o ip: %d addresses" % len(f2b_ips), end="")
    print()
    print("bantam's lines: %s" % (how or "aligned by address (totals exact, the split "
                                  "between shapes of one address is a best guess)"))

if use_bantam and have_f2b:
    tot = {k: sum(s[k] for s in stats.values()) for k in ("f2b_only", "bantam_only", "addr_diff")}
    print()
    print("Disagreements: %d lines fail2ban matched and bantam did not, %d the other way round, "
          "%d matched by both with a different address"
          % (tot["f2b_only"], tot["bantam_only"], tot["addr_diff"]))
    groups = sorted(((s[k], sh, k) for sh, s in stats.items()
                     for k in ("f2b_only", "bantam_only", "addr_diff") if s[k]), reverse=True)
    label = {"f2b_only": "fail2ban only", "bantam_only": "bantam only",
             "addr_diff": "different address"}
    for cnt, sh, k in groups:
        s = stats[sh]
        print()
        print("[%s] %d of %d lines  (fail2ban: %d matched %d ignored %d missed)  %s"
              % (label[k], cnt, s["lines"], s["M"], s["I"], s["X"], sh))
        for no, v, fa, ba, l in examples[(sh, k)]:
            extra = ""
            if k == "addr_diff":
                extra = "  [fail2ban %s, bantam %s]" % (fa, ba)
            elif k == "bantam_only":
                extra = "  [bantam %s; fail2ban %s]" % (ba, {"I": "ignored", "X": "missed"}.get(v, v))
            print("    %8d: %s%s" % (no, l, extra))

print()
if have_f2b:
    print("Per shape (fail2ban %s mode: M matched = failure, I ignored = no-failure helper, X missed)"
          % mode)
hdr = "%9s" % "lines"
if have_f2b:
    hdr += " %8s %8s %8s" % ("M", "I", "X")
if use_bantam:
    hdr += " %8s" % "bantam"
    if have_f2b:
        hdr += " %7s" % "diff"
print(hdr + "  shape")
for sh, s in sorted(stats.items(), key=lambda kv: (-kv[1]["lines"], kv[0])):
    row = "%9d" % s["lines"]
    if have_f2b:
        row += " %8d %8d %8d" % (s["M"], s["I"], s["X"])
    if use_bantam:
        row += " %8d" % s["B"]
        if have_f2b:
            d = s["f2b_only"] + s["bantam_only"] + s["addr_diff"]
            row += " %7s" % (d or "")
    print(row + "  " + sh)
tot_l = sum(s["lines"] for s in stats.values())
row = "%9d" % tot_l
if have_f2b:
    row += " %8d %8d %8d" % tuple(sum(s[k] for s in stats.values()) for k in "MIX")
if use_bantam:
    row += " %8d" % sum(s["B"] for s in stats.values())
print(row + "  TOTAL")
if use_bantam and have_f2b:
    fm = sum(s["M"] for s in stats.values())
    bm = sum(s["B"] for s in stats.values())
    print("bantam failures vs fail2ban matched: %d vs %d (%s)" % (bm, fm, pct(bm - fm, fm)))
PY
