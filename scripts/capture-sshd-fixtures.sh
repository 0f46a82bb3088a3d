#!/usr/bin/env bash
# capture-sshd-fixtures.sh - capture REAL OpenSSH sshd log lines for the
# bantam sshd filter test fixtures.
#
# What it does (everything is torn down again at exit, also on failure):
#   * creates two network namespaces joined by one veth pair: a server
#     namespace (sshd, rsyslogd, a tiny DNS responder) and a client namespace
#     holding every "attacker" and "legitimate" source address.  Only
#     documentation prefixes are used (198.51.100.0/24, 203.0.113.0/24,
#     192.0.2.0/24, 2001:db8::/32); no packet ever leaves the two namespaces.
#   * creates two temporary local users (btuser: can log in; btdenied: listed
#     in DenyUsers) and deletes them again at exit.
#   * runs the system's /usr/sbin/sshd with a private sshd_config and private
#     host key, drives it with ssh (askpass), sshpass, curl's sftp:// (a
#     libssh2 client) and a few raw Python TCP clients, one
#     client source address per scenario, so every log line can be attributed
#     to exactly one scenario and therefore to one known client behaviour.
#   * phase 1 logs through syslog: a private rsyslogd writes the same messages
#     twice, in RFC 3339 framing (Debian 12's default) and in the traditional
#     BSD framing.  Phase 2 runs the same scenarios against `sshd -E FILE`,
#     which writes bare messages (no date, no host, no "sshd[pid]:").
#   * labels every captured line from the scenario ground truth and rewrites
#       crates/bantam-filter/filters/sshd/{rfc3339,traditional,bare}.log
#     (legacy.log in the same directory is hand-written and NOT touched).
#
# Usage: sudo scripts/capture-sshd-fixtures.sh [--keep-workdir] [--no-crosscheck]
#        scripts/capture-sshd-fixtures.sh --crosscheck-only   (no capture, no root)
# After capturing, if fail2ban-regex is installed, the fixtures (and the
# hand-written legacy.log) are run through fail2ban's stock sshd filter in
# normal and aggressive mode and the differences to our expectations are
# printed.  That is informational only; it never changes the fixtures.
# Needs: root, iproute2, openssh-server, openssh-client, sshpass, rsyslog,
#        util-linux (unshare, logger), procps (pgrep), python3, curl.
#
# Why a private mount namespace for sshd: glibc's syslog(3) always writes to
# the fixed path /dev/log, and /dev is shared by all network namespaces.  To
# make sure sshd's messages reach OUR rsyslogd (and nothing of the host's
# logging setup is touched or even needed), sshd runs in its own mount
# namespace (`unshare --mount`, private propagation) in which /dev is a fresh
# tmpfs holding a handful of device nodes plus /dev/log as a symlink to the
# rsyslogd socket in our work directory.  That works the same whether the
# host has no syslog daemon, rsyslog, or journald owning /dev/log, and the
# host's /dev/log is never looked at.  The same mount namespace also gets a
# private /run (so /run/sshd, sshd's privilege-separation directory, and
# /run/utmp exist without touching the host), private empty copies of
# /var/log/{btmp,wtmp,lastlog} (sshd records failed logins in btmp), and a
# private /etc/{hosts,resolv.conf,nsswitch.conf} pointing name resolution at
# our DNS responder.  Mounts made there never propagate to the host.
#
# Why a DNS responder instead of an /etc/hosts file for the UseDNS checks:
# glibc 2.36's files backend merges every /etc/hosts line carrying a name
# into the forward answer, so a reverse entry always "maps back" and OpenSSH
# never complains.  A 60-line UDP responder on 127.0.0.1 inside the server
# namespace answers PTR/A/AAAA exactly as scripted (mismatching forward
# answers, NXDOMAIN, numeric-looking PTR names), which produces all three of
# OpenSSH 9.2's reverse-mapping messages for real.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=$REPO/crates/bantam-filter/filters/sshd

KEEP_WORKDIR=0
CROSSCHECK=1
CROSSCHECK_ONLY=0
for arg in "$@"; do
    case $arg in
        --keep-workdir) KEEP_WORKDIR=1 ;;
        --no-crosscheck) CROSSCHECK=0 ;;
        --crosscheck-only) CROSSCHECK_ONLY=1 ;;
        -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done

# fail2ban cross-check (see the docstring).
CROSSCHECK_PY=$(cat <<'PYEOF'
"""Cross-check the fixtures against fail2ban's stock sshd filter.

argv: fixture files.  For every log line, compares our expectation with
fail2ban-regex's verdict in normal mode (filter.d/sshd.conf) and in
aggressive mode (sshd[mode=aggressive]), and prints the differences grouped
by message shape.  fail2ban reports a failure per line (its multi-line logic
may turn an earlier "nofail" line of the same sshd[pid] into a failure); a
line counts as matched when it is the message of a reported failure.
Informational only: the fixtures are never changed.
"""
import collections, json, os, re, subprocess, sys, tempfile

SEP = " |#| "
ADDR = re.compile(r"(?<![\w:.])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})(?![\w:])")


def load(path):
    entries, exp = [], None
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        line = line.rstrip("\n")
        if line.startswith("# expect: "):
            exp = json.loads(line[len("# expect: "):])
        elif line.startswith("#") or not line:
            continue
        else:
            entries.append((exp, line))
            exp = None
    return entries


def f2b(lines, filt, bare):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False, encoding="utf-8",
                                     errors="surrogateescape") as t:
        t.write("\n".join(lines) + "\n")
    cmd = ["fail2ban-regex", "-o", "<ip>" + SEP + "<F-USER>" + SEP + "<msg>"]
    if bare:
        cmd += ["--datepattern", "{NONE}"]
    cmd += [t.name, filt]
    res = subprocess.run(cmd, capture_output=True, text=True, errors="surrogateescape")
    os.unlink(t.name)
    if res.returncode != 0:
        sys.exit("fail2ban-regex failed: " + res.stderr)
    hits = collections.defaultdict(list)
    for row in res.stdout.splitlines():
        if SEP not in row:
            continue
        ip, user, msg = row.split(SEP, 2)
        hits[msg].append((ip, user))
    return hits


def shape(line):
    m = re.search(r"sshd\[\d+\]: (.*)$", line)
    msg = m.group(1) if m else line
    msg = ADDR.sub("ADDR", msg)
    msg = re.sub(r"port \d+", "port N", msg)
    msg = re.sub(r"(for|user) (invalid user |illegal user )?(?!ADDR)[^\s,]+", r"\1 \2U", msg)
    msg = re.sub(r"\d+", "N", msg)
    return msg[:110]


def main():
    total = collections.Counter()
    for path in sys.argv[1:]:
        entries = load(path)
        bare = os.path.basename(path) == "bare.log"
        lines = [l for _, l in entries]
        normal = f2b(lines, "/etc/fail2ban/filter.d/sshd.conf", bare)
        aggr = f2b(lines, "sshd[mode=aggressive]", bare)
        diffs = collections.defaultdict(list)
        for exp, line in entries:
            ours_n = exp["fail"] and exp.get("mode") != "aggressive"
            ours_a = exp["fail"]
            for mode, ours, hits in (("normal", ours_n, normal), ("aggressive", ours_a, aggr)):
                h = hits.get(line, [])
                theirs = bool(h)
                if ours and not theirs:
                    kind = "we: failure, fail2ban: no match"
                elif theirs and not ours:
                    kind = "we: no failure, fail2ban: failure"
                elif ours and h[0][0] != exp["host"]:
                    kind = "host differs: we %s, fail2ban %s" % (exp["host"], h[0][0])
                else:
                    continue
                diffs[(mode, kind, shape(line))].append((line, h[0][0] if h else None))
        n = sum(len(v) for v in diffs.values())
        total[path] = n
        print("\n== %s: %d log lines, %d line/mode differences" % (os.path.basename(path), len(entries), n))
        for (mode, kind, shp), ls in sorted(diffs.items()):
            ips = sorted({ip for _, ip in ls if ip})
            print("  [%s] %s  x%d%s\n      shape:   %s\n      example: %s"
                  % (mode, kind, len(ls), ("  (fail2ban ip: %s)" % ", ".join(ips)) if ips else "",
                     shp, ls[0][0]))


main()
PYEOF
)
crosscheck() {
    if ! command -v fail2ban-regex >/dev/null 2>&1; then
        echo "[capture] fail2ban-regex not installed; skipping the fail2ban cross-check"
        return 0
    fi
    echo "[capture] fail2ban cross-check (stock filter.d/sshd.conf; informational only)"
    local files=() f
    for f in rfc3339.log traditional.log bare.log legacy.log; do
        [[ -f $OUTDIR/$f ]] && files+=("$OUTDIR/$f")
    done
    python3 -c "$CROSSCHECK_PY" "${files[@]}"
}
if [[ $CROSSCHECK_ONLY -eq 1 ]]; then
    crosscheck
    exit 0
fi

if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
    echo "capture-sshd-fixtures.sh: must be run as root (it creates network" \
         "namespaces and temporary users and runs sshd); try: sudo $0" >&2
    exit 1
fi

# --- fixed names and addresses ---------------------------------------------
NS_SRV=bt-cap-srv            # network namespace of sshd/rsyslogd/DNS
NS_CLI=bt-cap-cli            # network namespace of all clients
VETH_SRV=bt-veth-s
VETH_CLI=bt-veth-c
SRV4=198.51.100.1
SRV6=2001:db8:1::1
CLI4=198.51.100.2            # base address of the client end (not used by scenarios)
CLI6=2001:db8:1::2
USER_OK=btuser               # real local user with a known password
USER_DENIED=btdenied         # real local user, but listed in DenyUsers
USER_COMMENT='bantam fixture capture (temporary)'
PW_OK='bt-Correct-Horse-42'
PW_BAD='hunter2-wrong'
LOGIN_GRACE=12               # seconds; the timeout scenario waits this long
HOSTNAME_IN_LOGS=bt-server   # replaces the real host name in syslog framings

log() { printf '[capture] %s\n' "$*"; }
die() { printf '[capture] ERROR: %s\n' "$*" >&2; exit 1; }

for cmd in ip /usr/sbin/sshd ssh ssh-keygen sshpass rsyslogd logger unshare \
           python3 useradd userdel chpasswd pgrep mknod timeout ss curl; do
    command -v "$cmd" >/dev/null 2>&1 || die "missing command: $cmd (apt-get install -y iproute2 openssh-server openssh-client sshpass rsyslog util-linux procps python3 curl)"
done

# Refuse to clobber anything that is not ours.
for ns in "$NS_SRV" "$NS_CLI"; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
        die "network namespace $ns already exists (left over from a crashed run?); remove it with: ip netns del $ns"
    fi
done
for u in "$USER_OK" "$USER_DENIED"; do
    if getent passwd "$u" >/dev/null; then
        if [[ $(getent passwd "$u" | cut -d: -f5) == "$USER_COMMENT" ]]; then
            log "removing leftover temporary user $u from an earlier run"
            userdel "$u" >/dev/null 2>&1 || true
        else
            die "user $u already exists and was not created by this script; refusing to touch it"
        fi
    fi
done

W=$(mktemp -d /tmp/bantam-sshd-capture.XXXXXX)
chmod 0755 "$W"
CREATED_USERS=()
SSHD_PID=
RSYSLOG_PID=
DNS_PID=

# --- cleanup (runs on every exit path) --------------------------------------
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    # Every process we started lives in one of our two network namespaces;
    # end exactly those, by pid (TERM first, then KILL for stragglers).
    local ns pids pid i
    for ns in "$NS_SRV" "$NS_CLI"; do
        if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
            pids=$(ip netns pids "$ns" 2>/dev/null)
            for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
            for i in $(seq 1 30); do
                pids=$(ip netns pids "$ns" 2>/dev/null)
                [[ -z $pids ]] && break
                sleep 0.1
            done
            for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
            ip netns del "$ns" 2>/dev/null
        fi
    done
    local u
    for u in "${CREATED_USERS[@]}"; do
        userdel "$u" >/dev/null 2>&1 || log "warning: could not delete user $u"
    done
    if [[ $KEEP_WORKDIR -eq 1 || $rc -ne 0 ]]; then
        log "work directory kept for inspection: $W"
    else
        rm -rf "$W"
    fi
    if [[ $rc -ne 0 ]]; then
        log "FAILED (exit $rc); namespaces, processes and users were cleaned up"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$W"/{keys,run,sock,out,priv,etc,home,conn,rsyslog}
chmod 0700 "$W/keys"

# --- temporary users ----------------------------------------------------------
for u in "$USER_OK" "$USER_DENIED"; do
    useradd --no-create-home --shell /bin/sh --comment "$USER_COMMENT" "$u"
    CREATED_USERS+=("$u")
    printf '%s:%s\n' "$u" "$PW_OK" | chpasswd
done
log "created temporary users: ${CREATED_USERS[*]}"

# --- network ----------------------------------------------------------------
# The veth pair is created directly inside the namespaces, so no interface
# ever appears in the host namespace.  All client source addresses live on the
# client end; the server reaches them through on-link routes.  nodad: no IPv6
# duplicate address detection delay.
CLIENT_ADDRS=(
    198.51.100.7 198.51.100.8 198.51.100.9 198.51.100.10 198.51.100.11
    198.51.100.12 198.51.100.20 198.51.100.21 198.51.100.22 198.51.100.23
    198.51.100.24 198.51.100.25 198.51.100.26 198.51.100.27 198.51.100.28
    198.51.100.29 198.51.100.30 198.51.100.31 198.51.100.32 198.51.100.33
    198.51.100.50
    203.0.113.10 203.0.113.12 203.0.113.50 203.0.113.60 203.0.113.61
    203.0.113.62
    192.0.2.10 192.0.2.11
    2001:db8:2::7 2001:db8:2::8 2001:db8:2::9 2001:db8:2::10 2001:db8:2::11
    2001:db8:2::20 2001:db8:2::21 2001:db8:2::22 2001:db8:2::30
    2001:db8:2::31 2001:db8:2::32 2001:db8:2::33 2001:db8:2::50
    2001:db8:2::60 2001:db8:2::61 2001:db8:2::62
    2001:db8:3::10
)
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip -n "$NS_SRV" link add "$VETH_SRV" type veth peer name "$VETH_CLI" netns "$NS_CLI"
ip -n "$NS_SRV" link set lo up
ip -n "$NS_CLI" link set lo up
ip -n "$NS_SRV" addr add "$SRV4/24" dev "$VETH_SRV"
ip -n "$NS_SRV" addr add "$SRV6/64" dev "$VETH_SRV" nodad
ip -n "$NS_CLI" addr add "$CLI4/24" dev "$VETH_CLI"
ip -n "$NS_CLI" addr add "$CLI6/64" dev "$VETH_CLI" nodad
for a in "${CLIENT_ADDRS[@]}"; do
    if [[ $a == *:* ]]; then
        ip -n "$NS_CLI" addr add "$a/128" dev "$VETH_CLI" nodad
    else
        ip -n "$NS_CLI" addr add "$a/32" dev "$VETH_CLI"
    fi
done
ip -n "$NS_SRV" link set "$VETH_SRV" up
ip -n "$NS_CLI" link set "$VETH_CLI" up
for p in 203.0.113.0/24 192.0.2.0/24; do
    ip -n "$NS_SRV" route add "$p" dev "$VETH_SRV"
done
for p in 2001:db8:2::/64 2001:db8:3::/64; do
    ip -n "$NS_SRV" -6 route add "$p" dev "$VETH_SRV"
done
log "network namespaces $NS_SRV ($SRV4, $SRV6) and $NS_CLI (${#CLIENT_ADDRS[@]} client addresses) are up"

# --- helper programs (written into the work directory) ------------------------

# Raw TCP client for the pre-authentication noise scenarios.  bash's /dev/tcp
# cannot choose a source address, hence Python.
cat >"$W/rawclient.py" <<'EOF'
import os, socket, struct, sys, time
src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else ""
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((src, 0))
s.settimeout(5)
if mode == "probe":            # before sshd runs: expect "connection refused"
    try:
        s.connect((dst, 22))
    except ConnectionRefusedError:
        sys.exit(0)
    sys.exit("unexpected: something already listens on %s port 22" % dst)
s.connect((dst, 22))

def read_for(seconds):
    """Read until the server closes or `seconds` pass; return the bytes."""
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not d:
            break
        buf += d
    return buf

if mode == "close":            # TCP connect, send nothing, close
    pass
elif mode == "garbage":        # something that is not an SSH banner
    data = {"http": b"GET / HTTP/1.1\r\nHost: 198.51.100.1\r\n\r\n",
            "tls": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32}[arg]
    s.sendall(data)
    read_for(5)
elif mode == "line":           # arbitrary text where the banner belongs
    s.sendall(arg.encode() + b"\r\n")
    read_for(5)
elif mode == "kexinit":        # valid banner, then a KEXINIT whose only key
    s.sendall(b"SSH-2.0-bt_probe_1.0\r\n")   # exchange "algorithm" is `arg`
    read_for(1)
    def namelist(v):
        return struct.pack(">I", len(v)) + v
    payload = (bytes([20]) + os.urandom(16) + namelist(arg.encode())
               + namelist(b"ssh-ed25519") + namelist(b"aes128-ctr") * 2
               + namelist(b"hmac-sha2-256") * 2 + namelist(b"none") * 2
               + namelist(b"") * 2 + b"\x00" + b"\x00\x00\x00\x00")
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    s.sendall(struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + b"\x00" * pad)
    read_for(5)
elif mode == "banner-close":   # valid banner, wait for server KEXINIT, hang up
    s.sendall(b"SSH-2.0-bt_probe_1.0\r\n")
    got = b""
    end = time.monotonic() + 5
    while b"\n" not in got or len(got) < 100:
        if time.monotonic() > end:
            break
        got += read_for(0.5)
elif mode == "banner-junk":    # valid banner, then a corrupt binary packet
    s.sendall(b"SSH-2.0-bt_probe_1.0\r\n")
    read_for(1)
    s.sendall(b"\xff\xff\xff\xf0" + b"\x00" * 60)
    read_for(5)
elif mode == "banner-wait":    # valid banner, then never continue (timeout)
    s.sendall(b"SSH-2.0-bt_probe_1.0\r\n")
    read_for(float(arg))
else:
    sys.exit("unknown mode " + mode)
s.close()
EOF

# SSH_ASKPASS helper: ssh runs it once per password / keyboard-interactive
# prompt.  It hands out the passwords listed in BT_PW_SEQ one by one (the last
# one repeats) and records every answer, so the script knows exactly how many
# wrong passwords each client really sent (the ground truth).
cat >"$W/askpass.sh" <<'EOF'
#!/bin/bash
set -u
n=$(wc -l <"$BT_ANSWERS")
read -r -a seq <<<"$BT_PW_SEQ"
i=$(( n < ${#seq[@]} ? n : ${#seq[@]} - 1 ))
kind=${seq[$i]}
printf '%s\t%s\n' "$kind" "$1" >>"$BT_ANSWERS"
if [[ $kind == good ]]; then printf '%s\n' "$BT_PW_OK"; else printf '%s\n' "$BT_PW_BAD"; fi
EOF
chmod 0755 "$W/askpass.sh"

# Scripted DNS responder (UDP, 127.0.0.1:53 inside the server namespace).
cat >"$W/dns.py" <<'EOF'
import ipaddress, socket, struct, sys
ptr = {   # client address -> PTR name
    "203.0.113.60": "mail.example.com",        # forward A points elsewhere
    "2001:db8:2::60": "mail6.example.com",     # forward AAAA points elsewhere
    "203.0.113.61": "ghost.example.net",       # forward lookup: NXDOMAIN
    "2001:db8:2::61": "ghost6.example.net",    # forward lookup: NXDOMAIN
    "203.0.113.62": "198.51.100.200",          # numeric-looking PTR name
    "2001:db8:2::62": "192.0.2.201",           # numeric-looking PTR name
    "198.51.100.12": "scanner.example.org",    # consistent forward/reverse
}
fwd = {   # (name, qtype) -> addresses; qtype 1 = A, 28 = AAAA
    ("mail.example.com", 1): ["192.0.2.200"],
    ("mail6.example.com", 28): ["2001:db8:2::6666"],
    ("scanner.example.org", 1): ["198.51.100.12"],
}
ptr_by_qname = {ipaddress.ip_address(a).reverse_pointer: n for a, n in ptr.items()}
known = set(ptr_by_qname) | {n for n, _ in fwd}

def enc(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
logf = open(sys.argv[1], "a", buffering=1)
open(sys.argv[2], "w").close()            # readiness flag
while True:
    data, peer = s.recvfrom(4096)
    try:
        qid, flags, qd = struct.unpack(">HHH", data[:6])
        off, labels = 12, []
        while data[off]:
            labels.append(data[off + 1:off + 1 + data[off]].decode("ascii", "replace"))
            off += 1 + data[off]
        qtype, qclass = struct.unpack(">HH", data[off + 1:off + 5])
        question = data[12:off + 5]
    except Exception:
        continue
    qname = ".".join(labels).lower()
    rrs, rcode = [], 0
    if qtype == 12 and qname in ptr_by_qname:
        rrs = [enc(ptr_by_qname[qname])]
    elif (qname, qtype) in fwd:
        rrs = [socket.inet_pton(socket.AF_INET if qtype == 1 else socket.AF_INET6, a)
               for a in fwd[(qname, qtype)]]
    elif qname not in known:
        rcode = 3                               # NXDOMAIN
    oflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
    out = struct.pack(">HHHHHH", qid, oflags, 1, len(rrs), 0, 0) + question
    for rd in rrs:
        out += b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 60, len(rd)) + rd
    s.sendto(out, peer)
    logf.write("%s type=%d -> rcode=%d answers=%d\n" % (qname, qtype, rcode, len(rrs)))
EOF

# Labeller: turns the raw capture into the fixture files (see its docstring).
cat >"$W/label.py" <<'PYEOF'
"""Turn the raw capture into labelled fixture files.

argv: WORKDIR OUTDIR.  Environment: BT_HOSTNAME, BT_SSHD_VERSION,
BT_SSHD_PACKAGE, BT_RSYSLOG_VERSION, BT_GLIBC_VERSION, BT_CAPTURE_DATE,
BT_LOGIN_GRACE.

Expectations come from the scenario ground truth: each scenario used its own
client address, so every line belongs to exactly one scenario (by position
between the scenario's markers, never by parsing an address out of the line)
and the expected host is the address that client really used.  What remains
to be decided per line is which EVENT the line reports (an authentication
attempt that failed, a pre-authentication disconnect, a session message, a
PAM module message, ...); that is recognised from OpenSSH's fixed message
texts below.  The verdict for an event is fixed by the rules in RULES_TEXT.
Ground-truth checks: the number of lines reporting rejected passwords must
equal the number of passwords the client sent without logging in (counted on
the client side), and every failure line must contain the expected host and
user verbatim.  Anything unrecognised stops the script.
"""
import collections
import json
import os
import re
import sys

W, OUTDIR = sys.argv[1], sys.argv[2]
OUT = os.path.join(W, "out")
HOSTNAME = os.environ["BT_HOSTNAME"]


class LabelError(Exception):
    pass


# ---------------------------------------------------------------- inputs
scenarios = {}                      # (phase, id) -> dict
for row in open(os.path.join(OUT, "manifest.tsv"), encoding="utf-8"):
    phase, sid, role, addr, user, rhost, desc = row.rstrip("\n").split("\t")
    scenarios[(phase, sid)] = dict(id=sid, role=role, addr=addr, rhost=rhost, desc=desc,
                                   user=None if user == "-" else user)
connections = collections.defaultdict(list)
for row in open(os.path.join(OUT, "connections.tsv"), encoding="utf-8"):
    phase, sid, method, sent, loggedin, counted = row.rstrip("\n").split("\t")
    connections[(phase, sid)].append(dict(method=method, sent=int(sent),
                                          loggedin=int(loggedin), counted=int(counted)))


def sshd_user(name):
    # sshd splits the requested user name at the first ':' ("user:style",
    # BSD auth styles) and only ever logs the part before it.
    return name.split(":", 1)[0]


# ---------------------------------------------------------------- events
# (event, names_user) for a bare sshd message; literal OpenSSH 9.2 texts.
def classify(msg):
    # In syslog sshd prefixes error-level messages with "error: "; the bare
    # `sshd -E` output has no such prefix.
    if msg.startswith("error: "):
        msg = msg[len("error: "):]
    if msg.startswith(("Failed password for ", "Failed keyboard-interactive/pam for ")):
        return "auth-failed", True
    if re.match(r"Failed \S+ for ", msg):
        return "auth-failed-other", True
    if msg.startswith("PAM: Authentication failure for "):
        return "pam-auth-failed", True
    if msg.startswith("Invalid user "):
        return "invalid-user", True
    if msg.startswith("User ") and " not allowed because " in msg:
        return "user-not-allowed", True
    if msg.startswith("maximum authentication attempts exceeded for "):
        return "max-attempts", True
    if msg.startswith("Disconnecting ") and ": Too many authentication failures" in msg:
        return "too-many-failures", True
    if msg.startswith("Address ") and msg.endswith("but this does not map back to the address."):
        return "dns-no-map-back", False
    if msg.startswith("reverse mapping checking getaddrinfo for "):
        return "dns-forward-failed", False
    if msg.startswith("Nasty PTR record "):
        return "dns-numeric-ptr", False
    if msg.startswith(("Connection closed by authenticating user ", "Connection closed by invalid user ",
                       "Disconnected from authenticating user ", "Disconnected from invalid user ")):
        return "preauth-disconnect", True
    if msg.startswith("Disconnected from user "):
        return "session-end", True
    if msg.startswith(("Connection closed by ", "Connection reset by ", "Disconnected from ")):
        return "preauth-disconnect", False
    if msg.startswith("Received disconnect from "):
        return "received-disconnect", False
    if msg.startswith("banner exchange: Connection from "):
        return "bad-banner", False
    if msg.startswith("Unable to negotiate with "):
        return "negotiation-failed", False
    if msg.startswith("ssh_dispatch_run_fatal: Connection from "):
        return "protocol-error", False
    if msg.startswith("Accepted "):
        return "accepted", True
    if msg.startswith(("Server listening on ", "Received signal ")):
        return "daemon", False
    if msg.startswith(("pam_unix(", "pam_limits(", "pam_env(", "PAM ")):
        return "pam-module", False
    if msg.startswith(("kex_exchange_identification: ", "Bad packet length ", "Postponed ")):
        return "detail", False
    raise LabelError("unrecognised sshd message: %r" % msg)


NORMAL = {"auth-failed", "auth-failed-other", "pam-auth-failed", "invalid-user", "user-not-allowed",
          "max-attempts", "dns-no-map-back", "dns-forward-failed", "dns-numeric-ptr"}
# "Disconnecting ...: Too many authentication failures" is written for the same
# event as the "maximum authentication attempts exceeded" line just before it;
# counting both in normal mode would count one event twice.
AGGRESSIVE = {"preauth-disconnect", "bad-banner", "negotiation-failed", "protocol-error",
              "too-many-failures"}
NEVER = {"pam-module", "detail", "accepted", "session-end", "daemon"}

RULES_TEXT = """\
# Verdict rules (the "event" is recognised from OpenSSH's fixed message text;
# host and user always come from the scenario, i.e. from what the client did):
#   failure (normal mode): a rejected password or keyboard-interactive answer
#     ("Failed password|keyboard-interactive/pam for ...", "error: PAM:
#     Authentication failure for ..."), "Invalid user ...", "User ... not
#     allowed because ...", "error: maximum authentication attempts exceeded
#     ...", and the
#     three reverse-mapping complaints of UseDNS ("Address A maps to N, but
#     this does not map back ...", "reverse mapping checking getaddrinfo for N
#     [A] failed.", "Nasty PTR record ... is set up for A, ignoring").
#   failure in aggressive mode only: "Disconnecting ... Too many
#     authentication failures" (the same event as "maximum authentication
#     attempts exceeded", which precedes it), pre-authentication disconnects and
#     protocol noise that name the client address ("Connection closed by
#     [authenticating|invalid user U] A port P [preauth]", "Connection closed
#     by A port P", "Received disconnect from A ... [preauth]", "Disconnected
#     from authenticating|invalid user ...", "banner exchange: ... invalid
#     format", "Unable to negotiate with ...", "ssh_dispatch_run_fatal: ...").
#   not a failure: PAM module lines (pam_unix, "PAM n more authentication
#     failures", ...), lines that name no client address (e.g. "error:
#     kex_exchange_identification: ...", "Bad packet length ..."), "Postponed
#     keyboard-interactive ...", successful logins and their session lines
#     ("Accepted ...", "Received disconnect ...: disconnected by user",
#     "Disconnected from user ..."), daemon start/stop lines.
#   "host" is the client's real source address, never an address injected
#     through a user name, banner or algorithm list.  Exception: the
#     "error: PAM: Authentication failure for U from H" line carries PAM's
#     rhost, which with UseDNS yes is the client's forward-confirmed DNS name
#     when it has one (scenario s4-kbd-dnsname: scanner.example.org); the
#     line contains no address, so its "host" is that name.
#   The "error: " prefix of error-level messages exists only in syslog; the
#     bare `sshd -E` output omits it.
#   "user" is the user name as sshd logs it (sshd drops everything from the
#     first ':' of a requested user name), present only when the line names one.
"""


def host_in(msg, host):
    return re.search(r"(?<![\w.:-])" + re.escape(host) + r"(?![\w:-]|\.\w)", msg) is not None


def expectation(event, names_user, msg, scen):
    """Return the expectation dict for one line of scenario `scen` (None: daemon)."""
    where = scen["id"] if scen else "outside any scenario"
    if scen is None:
        if event != "daemon":
            raise LabelError("%s: unexpected line outside scenarios: %r" % (where, msg))
        return {"fail": False}
    if event == "daemon":
        raise LabelError("%s: daemon line inside a scenario: %r" % (where, msg))
    preauth = msg.endswith("[preauth]")
    if event in ("accepted", "session-end") or (event == "received-disconnect" and not preauth):
        if scen["role"] != "legit":
            raise LabelError("%s: attack client logged in?! %r" % (where, msg))
        return {"fail": False}
    if event in NEVER:
        return {"fail": False}
    if event == "received-disconnect":
        event = "preauth-disconnect"
    if event in AGGRESSIVE and scen["role"] == "legit":
        raise LabelError("%s: pre-auth noise from a legitimate client: %r" % (where, msg))
    host = scen["rhost"] if event == "pam-auth-failed" else scen["addr"]
    exp = {"fail": True, "host": host}
    if names_user:
        if scen["user"] is None:
            raise LabelError("%s: line names a user but the client sent none: %r" % (where, msg))
        exp["user"] = sshd_user(scen["user"])
        if exp["user"] not in msg:
            raise LabelError("%s: expected user %r not in %r" % (where, exp["user"], msg))
    if not host_in(msg, host):
        raise LabelError("%s: expected host %s not in %r" % (where, host, msg))
    if event in AGGRESSIVE:
        exp["mode"] = "aggressive"
    elif event not in NORMAL:
        raise LabelError("no verdict for event %s" % event)
    return exp


def check_ground_truth(phase, sid, events):
    """Compare what the client did with what sshd logged for one scenario."""
    conns = connections.get((phase, sid), [])
    if any(not c["counted"] for c in conns):
        return
    rejected = collections.Counter()
    for c in conns:
        rejected[c["method"]] += c["sent"] - c["loggedin"]
    logins = sum(c["loggedin"] for c in conns)
    n = collections.Counter()
    for ev, msg in events:
        if msg.startswith("Failed password for "):
            n["pw"] += 1
        elif msg.startswith("Failed keyboard-interactive/pam for "):
            n["kbd"] += 1
        elif ev == "pam-auth-failed":
            n["pam"] += 1
        elif ev == "auth-failed-other":
            n["other"] += 1
        elif ev == "accepted":
            n["accepted"] += 1
    problems = []
    if n["pw"] != rejected["password"]:
        problems.append("%d 'Failed password' lines, client had %d passwords rejected"
                        % (n["pw"], rejected["password"]))
    if n["pam"] != rejected["keyboard-interactive"]:
        problems.append("%d 'error: PAM: Authentication failure' lines, client had %d answers rejected"
                        % (n["pam"], rejected["keyboard-interactive"]))
    if n["kbd"] > rejected["keyboard-interactive"]:
        problems.append("more 'Failed keyboard-interactive' lines than rejected answers")
    if n["other"]:
        problems.append("unexpected 'Failed <method>' lines")
    if n["accepted"] != logins:
        problems.append("%d 'Accepted' lines for %d logins" % (n["accepted"], logins))
    if problems:
        raise LabelError("%s/%s: logged lines disagree with the client: %s" % (phase, sid, "; ".join(problems)))


# ---------------------------------------------------------------- readers
RFC_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+) (.*)$")
TRAD_RE = re.compile(r"^([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) (\S+) (.*)$")
TAG_RE = re.compile(r"^([^\s\[:]+)(?:\[(\d+)\])?: (.*)$")


def read_syslog(path, stamp_re):
    """-> list of (scenario id or None, line, message)."""
    out, cur = [], None
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        line = line.rstrip("\n")
        m = stamp_re.match(line)
        if not m:
            raise LabelError("%s: unparsable line %r" % (path, line))
        if m.group(2) != HOSTNAME:
            raise LabelError("%s: host name %r is not %s" % (path, m.group(2), HOSTNAME))
        t = TAG_RE.match(m.group(3))
        if not t:
            raise LabelError("%s: no syslog tag in %r" % (path, line))
        tag, msg = t.group(1), t.group(3)
        if tag == "bt-capture":
            word, sid = msg.split(" ", 1)
            if word == "BEGIN":
                cur = sid
            elif word == "END":
                if cur != sid:
                    raise LabelError("marker mismatch %s/%s" % (cur, sid))
                cur = None
            continue
        if tag != "sshd":
            raise LabelError("%s: line not from sshd: %r" % (path, line))
        out.append((cur, line, msg))
    return out


def read_bare(path, segpath):
    data = open(path, "rb").read()
    segs = []
    for row in open(segpath, encoding="utf-8"):
        sid, a, b = row.rstrip("\n").split("\t")
        segs.append((int(a), int(b), sid))
    out, pos = [], 0
    bounds = []
    for a, b, sid in segs:
        bounds += [(pos, a, None), (a, b, sid)]
        pos = b
    bounds.append((pos, len(data), None))
    for a, b, sid in bounds:
        chunk = data[a:b].decode("utf-8", "surrogateescape")
        if chunk and not chunk.endswith("\n"):
            raise LabelError("bare segment does not end at a line end")
        for line in chunk.splitlines():
            # sshd -E terminates every message with CR LF; the CR is dropped here
            line = line.rstrip("\r")
            out.append((sid, line, line))
    return out


# ---------------------------------------------------------------- writer
def header(title, framing_notes):
    e = os.environ
    return """\
# bantam sshd filter fixture: {title}
#
# CAPTURED from a real OpenSSH sshd (not hand-written) by
# scripts/capture-sshd-fixtures.sh on {date}.  Regenerate by re-running that
# script as root; do not edit by hand.
#   sshd:    {sshd} (Debian package openssh-server {pkg}), UsePAM yes,
#            UseDNS yes, LogLevel INFO, LoginGraceTime {grace}, Debian's PAM stack
#   libc:    {glibc}
{framing}#
# Every scenario below used its own client source address (documentation
# prefixes only, inside network namespaces), so each line is attributed to
# exactly one client and its expectation follows from what that client did.
# Timestamps and pids are real; the real host name was replaced by {host}.
# Trailing blanks belong to the log line (pam_unix writes "rhost=ADDR ").
#
# Format: lines starting with '#' are comments; "# expect: JSON" applies to
# the next log line and every log line has exactly one:
#   {{"fail": false}}                                   not a failure
#   {{"fail": true, "host": ADDR, "user": NAME}}        failure in normal mode
#                                                     ("user" only if the line names one)
#   {{..., "mode": "aggressive"}}                        failure only in aggressive mode
#
{rules}""".format(title=title, date=e["BT_CAPTURE_DATE"], sshd=e["BT_SSHD_VERSION"],
                   pkg=e["BT_SSHD_PACKAGE"], grace=e["BT_LOGIN_GRACE"], glibc=e["BT_GLIBC_VERSION"],
                   framing=framing_notes, host=HOSTNAME, rules=RULES_TEXT)


def write_fixture(path, title, framing_notes, phase, entries):
    order = [sid for (ph, sid) in scenarios if ph == phase]
    by_sid = collections.defaultdict(list)
    for sid, line, msg in entries:
        by_sid[sid].append((line, msg))
    stats = collections.Counter()
    body = []

    def emit(line, msg, scen):
        event, names_user = classify(msg)
        exp = expectation(event, names_user, msg, scen)
        body.append("# expect: " + json.dumps(exp))
        body.append(line)
        stats["lines"] += 1
        stats["normal" if exp["fail"] and "mode" not in exp else
              "aggressive" if exp["fail"] else "no-fail"] += 1
        return event

    # lines outside scenarios: sshd start-up (before the first) and shut-down
    first_scen_idx = next((i for i, x in enumerate(entries) if x[0] is not None), len(entries))
    body.append("")
    body.append("# === sshd start-up")
    for sid, line, msg in entries[:first_scen_idx]:
        emit(line, msg, None)
    empty = []
    for sid in order:
        scen = scenarios[(phase, sid)]
        body.append("")
        body.append("# === scenario %s: client %s (%s)" % (sid, scen["addr"], scen["role"]))
        body.append("# %s" % scen["desc"])
        if scen["user"] is not None:
            body.append("# user name sent by the client: %s" % json.dumps(scen["user"]))
        events = []
        for line, msg in by_sid.get(sid, []):
            events.append((emit(line, msg, scen), msg))
        if not events:
            body.append("# (sshd wrote no line for this scenario)")
            empty.append(sid)
        check_ground_truth(phase, sid, events)
    tail = [x for x in entries[first_scen_idx:] if x[0] is None]
    body.append("")
    body.append("# === sshd shut-down")
    for sid, line, msg in tail:
        emit(line, msg, None)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(header(title, framing_notes))
        f.write("\n".join(body) + "\n")
    return stats, empty


def main():
    os.makedirs(OUTDIR, exist_ok=True)
    rs = os.environ["BT_RSYSLOG_VERSION"]
    jobs = [
        ("rfc3339.log", "syslog, RFC 3339 framing (Debian 12 rsyslog default)",
         "#   syslog:  %s, imuxsock, template RSYSLOG_FileFormat\n"
         "#            (\"2026-01-02T03:04:05.123456+00:00 host sshd[pid]: msg\")\n" % rs,
         "syslog", read_syslog(os.path.join(OUT, "rfc3339.raw"), RFC_RE)),
        ("traditional.log", "syslog, traditional BSD framing",
         "#   syslog:  %s, imuxsock, template RSYSLOG_TraditionalFileFormat\n"
         "#            (\"Jan  2 03:04:05 host sshd[pid]: msg\")\n" % rs,
         "syslog", read_syslog(os.path.join(OUT, "traditional.raw"), TRAD_RE)),
        ("bare.log", "bare messages written by `sshd -E FILE`",
         "#   output:  sshd -E FILE: bare messages, no date/host/pid.  sshd ends each\n"
         "#            line with CR LF; the CR was removed here.  PAM modules log\n"
         "#            through syslog(3), not -E, so pam_unix lines are absent.\n",
         "bare", read_bare(os.path.join(OUT, "bare.raw"), os.path.join(OUT, "bare-segments.tsv"))),
    ]
    for name, title, notes, phase, entries in jobs:
        stats, empty = write_fixture(os.path.join(OUTDIR, name), title, notes, phase, entries)
        print("  %-16s %3d log lines: %3d failures (normal), %3d aggressive-only, %3d not failures%s"
              % (name, stats["lines"], stats["normal"], stats["aggressive"], stats["no-fail"],
                 ("; no line from: " + ", ".join(empty)) if empty else ""))


try:
    main()
except LabelError as e:
    sys.exit("labelling failed: %s" % e)
PYEOF

# --- server-side configuration ------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C bt-capture -f "$W/keys/ssh_host_ed25519_key"

# MaxAuthTries 2 only for the "maximum authentication attempts" clients (a
# Match block), so the other scenarios can make several attempts per
# connection with the default limit.
cat >"$W/sshd_config" <<EOF
# private sshd_config for capture-sshd-fixtures.sh (the system one is unused)
Port 22
ListenAddress $SRV4
ListenAddress $SRV6
HostKey $W/keys/ssh_host_ed25519_key
PidFile $W/run/sshd.pid
SyslogFacility AUTH
LogLevel INFO
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
AuthorizedKeysFile none
PermitRootLogin prohibit-password
UseDNS yes
LoginGraceTime $LOGIN_GRACE
MaxAuthTries 6
DenyUsers $USER_DENIED
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
Match Address 198.51.100.50,2001:db8:2::50,203.0.113.50
    MaxAuthTries 2
EOF

printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n%s %s\n' \
    "$SRV4" "$HOSTNAME_IN_LOGS" >"$W/etc/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$W/etc/resolv.conf"
sed 's/^hosts:.*/hosts: files dns/' /etc/nsswitch.conf >"$W/etc/nsswitch.conf"
grep -q '^hosts:' "$W/etc/nsswitch.conf" || echo 'hosts: files dns' >>"$W/etc/nsswitch.conf"

# Launcher: runs inside `ip netns exec $NS_SRV unshare --mount`; builds the
# private /dev, /run, /var/log and /etc views described at the top, then
# starts sshd (which daemonizes and keeps the mount namespace alive).
cat >"$W/srv-launch.sh" <<EOF
#!/bin/bash
set -euo pipefail
mount --make-rprivate /
mount -t tmpfs -o mode=0755,nosuid bt-dev /dev
mknod -m 0666 /dev/null    c 1 3
mknod -m 0666 /dev/zero    c 1 5
mknod -m 0666 /dev/full    c 1 7
mknod -m 0666 /dev/random  c 1 8
mknod -m 0666 /dev/urandom c 1 9
mknod -m 0666 /dev/tty     c 5 0
ln -s /proc/self/fd /dev/fd
ln -s "$W/sock/log" /dev/log
mount -t tmpfs -o mode=0755,nosuid,nodev bt-run /run
mkdir -m 0755 /run/sshd
: >/run/utmp
for f in /var/log/btmp /var/log/wtmp /var/log/lastlog; do
    if [[ -f \$f ]]; then
        # same owner and mode as the real file: sshd refuses (and logs
        # "Excess permission or bad ownership") if btmp is world-readable
        : >"$W/priv/\${f##*/}"
        chown --reference="\$f" "$W/priv/\${f##*/}"
        chmod --reference="\$f" "$W/priv/\${f##*/}"
        mount --bind "$W/priv/\${f##*/}" "\$f"
    fi
done
mount --bind "$W/etc/hosts" /etc/hosts
mount --bind "$W/etc/resolv.conf" /etc/resolv.conf
mount --bind "$W/etc/nsswitch.conf" /etc/nsswitch.conf
/usr/sbin/sshd -t -f "$W/sshd_config"
exec /usr/sbin/sshd -f "$W/sshd_config" "\$@"
EOF
chmod 0755 "$W/srv-launch.sh"

# rsyslogd: one input socket, every auth/authpriv message written twice.
cat >"$W/rsyslog.conf" <<EOF
global(workDirectory="$W/rsyslog" localHostname="$HOSTNAME_IN_LOGS")
module(load="imuxsock" SysSock.Name="$W/sock/log" SysSock.RateLimit.Interval="0")
auth,authpriv.* action(type="omfile" file="$W/out/rfc3339.raw" template="RSYSLOG_FileFormat")
auth,authpriv.* action(type="omfile" file="$W/out/traditional.raw" template="RSYSLOG_TraditionalFileFormat")
EOF

# --- process control ----------------------------------------------------------
start_dns() {
    ip netns exec "$NS_SRV" python3 "$W/dns.py" "$W/out/dns-queries.log" "$W/run/dns.ready" \
        </dev/null >"$W/run/dns.out" 2>&1 &
    DNS_PID=$!
    local i
    for i in $(seq 1 50); do [[ -e $W/run/dns.ready ]] && return 0; sleep 0.1; done
    die "DNS responder did not start: $(cat "$W/run/dns.out")"
}

start_rsyslog() {
    rm -f "$W/sock/log" "$W/run/rsyslogd.pid"
    ip netns exec "$NS_SRV" rsyslogd -f "$W/rsyslog.conf" -i "$W/run/rsyslogd.pid"
    local i
    for i in $(seq 1 50); do
        [[ -S $W/sock/log && -s $W/run/rsyslogd.pid ]] && break
        sleep 0.1
    done
    [[ -S $W/sock/log ]] || die "rsyslogd did not create $W/sock/log"
    RSYSLOG_PID=$(cat "$W/run/rsyslogd.pid")
    log "rsyslogd running (pid $RSYSLOG_PID), socket $W/sock/log"
}

stop_rsyslog() {
    kill -TERM "$RSYSLOG_PID"
    local i
    for i in $(seq 1 50); do kill -0 "$RSYSLOG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$RSYSLOG_PID" 2>/dev/null && die "rsyslogd (pid $RSYSLOG_PID) did not stop"
    RSYSLOG_PID=
    rm -f "$W/sock/log"
}

# $@: extra sshd options (e.g. -E FILE)
start_sshd() {
    rm -f "$W/run/sshd.pid"
    ip netns exec "$NS_SRV" unshare --mount --propagation private -- "$W/srv-launch.sh" "$@"
    local i
    for i in $(seq 1 50); do
        [[ -s $W/run/sshd.pid ]] &&
            ip netns exec "$NS_SRV" ss -Hltn "sport = :22" | grep -q "\[$SRV6\]:22" &&
            ip netns exec "$NS_SRV" ss -Hltn "sport = :22" | grep -q "$SRV4:22" && break
        sleep 0.1
    done
    [[ -s $W/run/sshd.pid ]] || die "sshd did not start"
    SSHD_PID=$(cat "$W/run/sshd.pid")
    [[ $(readlink "/proc/$SSHD_PID/exe") == /usr/sbin/sshd ]] || die "pid $SSHD_PID is not sshd"
    log "sshd running (pid $SSHD_PID) $*"
}

stop_sshd() {
    wait_idle
    kill -TERM "$SSHD_PID"
    local i
    for i in $(seq 1 50); do kill -0 "$SSHD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SSHD_PID" 2>/dev/null && die "sshd (pid $SSHD_PID) did not stop"
    SSHD_PID=
}

# Wait until the sshd listener has no per-connection children left, i.e.
# everything a connection will ever log has been logged.
wait_idle() {
    local i
    for i in $(seq 1 200); do
        pgrep -P "$SSHD_PID" >/dev/null || return 0
        sleep 0.1
    done
    die "sshd still has connection processes 20s after the client finished"
}

# --- scenario bookkeeping -----------------------------------------------------
PHASE=          # syslog | bare
BARE_FILE=$W/out/bare.raw
MANIFEST=$W/out/manifest.tsv      # phase id role addr user pam-rhost description
SEGMENTS=$W/out/bare-segments.tsv # id start-offset end-offset (bare phase)
CONNS=$W/out/connections.tsv      # phase id method passwords-sent logged-in counted
CUR=
CUR_START=

# begin ID ROLE ADDR USER DESCRIPTION [PAM_RHOST]
#   ROLE: attack | legit.  USER "-" when the client never sends a user name.
#   PAM_RHOST: what sshd hands PAM as the remote host; the client address
#   unless UseDNS finds a forward-confirmed name (only 198.51.100.12 here).
begin() {
    CUR=$1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PHASE" "$1" "$2" "$3" "$4" "${6:-$3}" "$5" >>"$MANIFEST"
    if [[ $PHASE == syslog ]]; then
        logger -u "$W/sock/log" -p authpriv.info -t bt-capture -- "BEGIN $CUR"
    else
        CUR_START=$(stat -c %s "$BARE_FILE")
    fi
    log "[$PHASE] $1: $5"
}
end() {
    wait_idle
    if [[ $PHASE == syslog ]]; then
        logger -u "$W/sock/log" -p authpriv.info -t bt-capture -- "END $CUR"
    else
        printf '%s\t%s\t%s\n' "$CUR" "$CUR_START" "$(stat -c %s "$BARE_FILE")" >>"$SEGMENTS"
    fi
    CUR=
}

# record METHOD SENT RC COUNTED: one client connection, for the ground-truth
# checks of the labeller (every password sent without logging in is a
# rejected attempt that sshd must have logged).
record() {
    local in=0
    [[ $3 -eq 0 ]] && in=1
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$PHASE" "$CUR" "$1" "$2" "$in" "$4" >>"$CONNS"
    LAST_RC=$3
}

SSH_OPTS=(-F /dev/null -T -p 22
          -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR
          -o ConnectTimeout=3 -o PubkeyAuthentication=no
          -o GSSAPIAuthentication=no -o HostbasedAuthentication=no
          -o UpdateHostKeys=no)
CLIENT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$W/home" LC_ALL=C)

srv_for() { if [[ $1 == *:* ]]; then echo "$SRV6"; else echo "$SRV4"; fi; }

# ssh_askpass SRC USER METHOD PW_SEQ PROMPTS [extra ssh options...]
#   METHOD: password | keyboard-interactive | none (BatchMode: no password)
#   PW_SEQ: e.g. "bad bad" or "bad good"; answers handed out in this order
ssh_askpass() {
    local src=$1 user=$2 method=$3 seq=$4 prompts=$5; shift 5
    local conn rc=0 sent
    conn=$(mktemp "$W/conn/answers.XXXXXX")
    local -a auth=(-o "PreferredAuthentications=$method" -o "NumberOfPasswordPrompts=$prompts")
    [[ $method == none ]] && auth=(-o BatchMode=yes -o PreferredAuthentications=password,keyboard-interactive)
    ip netns exec "$NS_CLI" "${CLIENT_ENV[@]}" \
        SSH_ASKPASS="$W/askpass.sh" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        BT_ANSWERS="$conn" BT_PW_SEQ="$seq" BT_PW_OK="$PW_OK" BT_PW_BAD="$PW_BAD" \
        timeout 30 ssh "${SSH_OPTS[@]}" "${auth[@]}" "$@" -b "$src" -l "$user" "$(srv_for "$src")" true \
        </dev/null >"$conn.out" 2>&1 || rc=$?
    sent=$(wc -l <"$conn")
    printf '      ssh -b %s -l %q (%s): exit %s, %s password(s) sent\n' "$src" "$user" "$method" "$rc" "$sent"
    record "$method" "$sent" "$rc" 1
}

# sshpass_once SRC USER PW_KIND: one password via sshpass (sshpass gives up
# and drops the connection if it sees a second prompt).  `sshpass -v` reports
# each password it types, which is what gets counted.
sshpass_once() {
    local src=$1 user=$2 kind=$3 pw rc=0 out sent
    pw=$PW_BAD; [[ $kind == good ]] && pw=$PW_OK
    out=$(mktemp "$W/conn/sshpass.XXXXXX")
    ip netns exec "$NS_CLI" "${CLIENT_ENV[@]}" \
        timeout 30 sshpass -v -p "$pw" ssh "${SSH_OPTS[@]}" -o PreferredAuthentications=password \
        -b "$src" -l "$user" "$(srv_for "$src")" true </dev/null >"$out" 2>&1 || rc=$?
    sent=$(grep -c 'detected prompt. Sending password' "$out" || true)
    printf '      sshpass ssh -b %s -l %q: exit %s, %s password(s) sent\n' "$src" "$user" "$rc" "$sent"
    record password "$sent" "$rc" 1
}

# curl_sftp SRC USER [CONNECT_TIMEOUT]: a libssh2 client (curl's sftp://)
# with a wrong password.  curl's connect timeout covers the whole SSH
# handshake including authentication: with 15 s libssh2 tries password and
# keyboard-interactive and then drops the TCP connection; with 3 s curl gives
# up while sshd is still delaying the failed-password answer, and then
# libssh2 sends SSH_MSG_DISCONNECT (which OpenSSH's ssh never does).
# How many methods/passwords libssh2 tries is not observable here, so the
# attempt count of these connections is not checked (counted=0).
curl_sftp() {
    local src=$1 user=$2 ctimeout=${3:-15} rc=0 url
    url="sftp://$SRV4/"; [[ $src == *:* ]] && url="sftp://[$SRV6]/"
    ip netns exec "$NS_CLI" "${CLIENT_ENV[@]}" \
        timeout 30 curl --globoff --silent --show-error --insecure --max-time 20 \
        --connect-timeout "$ctimeout" --interface "$src" --user "$user:$PW_BAD" "$url" \
        >"$W/conn/curl.out" 2>&1 || rc=$?
    printf '      curl sftp --interface %s --user %q: exit %s (%s)\n' "$src" "$user" "$rc" \
        "$(tr '\n' ' ' <"$W/conn/curl.out")"
    record libssh2 0 "$rc" 0
}

# raw SRC MODE [ARG]
raw() {
    local rc=0
    ip netns exec "$NS_CLI" timeout $((LOGIN_GRACE + 15)) python3 "$W/rawclient.py" \
        "$1" "$(srv_for "$1")" "$2" "${3:-}" || rc=$?
    printf '      raw client %s %s %q: exit %s\n' "$1" "$2" "${3:-}" "$rc"
    [[ $rc -eq 0 ]] || die "raw client failed"
}

expect_rc() {  # expect_rc ok|fail
    if [[ $1 == ok && $LAST_RC -ne 0 ]]; then die "$CUR: login should have succeeded (exit $LAST_RC)"; fi
    if [[ $1 == fail && $LAST_RC -eq 0 ]]; then die "$CUR: login unexpectedly succeeded"; fi
    return 0
}

# --- the scenarios ------------------------------------------------------------
# Every scenario uses its own client source address (and, where it matters, its
# own user name); the labeller relies on that.
run_scenarios() {
    # 1. wrong password for an existing user
    begin s1-pw-v4 attack 198.51.100.7 "$USER_OK" "wrong password for existing user $USER_OK: 3 attempts in one connection, then 1 more connection with 1 attempt"
    ssh_askpass 198.51.100.7 "$USER_OK" password "bad bad bad" 3; expect_rc fail
    sshpass_once 198.51.100.7 "$USER_OK" bad; expect_rc fail
    end
    begin s1-pw-v6 attack 2001:db8:2::7 root "wrong password for existing user root (PermitRootLogin prohibit-password): 2 attempts in one connection, then 1 more connection"
    ssh_askpass 2001:db8:2::7 root password "bad bad" 2; expect_rc fail
    sshpass_once 2001:db8:2::7 root bad; expect_rc fail
    end

    # 2. wrong password for a non-existent user
    begin s2-invalid-v4 attack 198.51.100.8 oracle "non-existent user oracle: 2 attempts in one connection, then 1 more connection"
    ssh_askpass 198.51.100.8 oracle password "bad bad" 2; expect_rc fail
    sshpass_once 198.51.100.8 oracle bad; expect_rc fail
    end
    begin s2-invalid-v6 attack 2001:db8:2::8 test "non-existent user test: 2 attempts in one connection"
    ssh_askpass 2001:db8:2::8 test password "bad bad" 2; expect_rc fail
    end

    # 3. user names that try to inject an address
    begin s3-inject-v4 attack 198.51.100.9 "admin from 203.0.113.9 port 22" "user name injecting an IPv4 address: 2 attempts"
    ssh_askpass 198.51.100.9 "admin from 203.0.113.9 port 22" password "bad bad" 2; expect_rc fail
    end
    begin s3-inject-root-v6 attack 2001:db8:2::9 "root from 192.0.2.66" "user name injecting an IPv4 address, client on IPv6: 2 attempts"
    ssh_askpass 2001:db8:2::9 "root from 192.0.2.66" password "bad bad" 2; expect_rc fail
    end
    begin s3-inject-ipv6 attack 198.51.100.10 "oracle from 2001:db8:2::66 port 22" "user name injecting an IPv6 address: 1 attempt"
    ssh_askpass 198.51.100.10 "oracle from 2001:db8:2::66 port 22" password "bad" 1; expect_rc fail
    end
    begin s3-inject-ssh2 attack 203.0.113.10 "x from 203.0.113.9 port 22 ssh2" "user name imitating a whole 'from ADDR port N ssh2' tail: 1 attempt"
    ssh_askpass 203.0.113.10 "x from 203.0.113.9 port 22 ssh2" password "bad" 1; expect_rc fail
    end
    begin s3-inject-kbd-v6 attack 2001:db8:2::10 "pi from 198.51.100.66 port 2222" "user name injecting an address, keyboard-interactive: 1 attempt"
    ssh_askpass 2001:db8:2::10 "pi from 198.51.100.66 port 2222" keyboard-interactive "bad" 1; expect_rc fail
    end
    # sshd cuts user names at the first ':' (BSD auth style), so an IPv6
    # address cannot survive in a user name (see s3-inject-ipv6 above).  The
    # other client-controlled texts that reach the log are the identification
    # banner and the algorithm lists of the key exchange:
    begin s3-inject-banner-v4 attack 198.51.100.30 - "identification banner is the text 'Failed password for root from 203.0.113.9 port 22 ssh2'"
    raw 198.51.100.30 line "Failed password for root from 203.0.113.9 port 22 ssh2"
    end
    begin s3-inject-banner-v6 attack 2001:db8:2::30 - "identification banner is the text 'Invalid user admin from 2001:db8:2::66 port 22'"
    raw 2001:db8:2::30 line "Invalid user admin from 2001:db8:2::66 port 22"
    end
    begin s3-inject-kexoffer-v4 attack 198.51.100.31 - "key exchange offer is the single name 'x from 2001:db8:2::66 port 22'"
    raw 198.51.100.31 kexinit "x from 2001:db8:2::66 port 22"
    end
    begin s3-inject-kexoffer-v6 attack 2001:db8:2::31 - "key exchange offer is the single name 'x from 203.0.113.9 port 22'"
    raw 2001:db8:2::31 kexinit "x from 203.0.113.9 port 22"
    end

    # 4. keyboard-interactive (PAM) failures
    begin s4-kbd-v4 attack 198.51.100.11 "$USER_OK" "keyboard-interactive/pam, existing user: 2 wrong answers in one connection"
    ssh_askpass 198.51.100.11 "$USER_OK" keyboard-interactive "bad bad" 2; expect_rc fail
    end
    begin s4-kbd-invalid-v6 attack 2001:db8:2::11 guest "keyboard-interactive/pam, non-existent user guest: 2 wrong answers"
    ssh_askpass 2001:db8:2::11 guest keyboard-interactive "bad bad" 2; expect_rc fail
    end
    begin s4-kbd-dnsname attack 198.51.100.12 "$USER_OK" "keyboard-interactive/pam, existing user, client address has a consistent PTR (scanner.example.org): 1 wrong answer" scanner.example.org
    ssh_askpass 198.51.100.12 "$USER_OK" keyboard-interactive "bad" 1; expect_rc fail
    end

    # 5. maximum authentication attempts exceeded (MaxAuthTries 2 via Match)
    begin s5-maxtries-v4 attack 198.51.100.50 "$USER_OK" "MaxAuthTries 2, client willing to try 5 passwords for $USER_OK"
    ssh_askpass 198.51.100.50 "$USER_OK" password "bad" 5; expect_rc fail
    end
    begin s5-maxtries-invalid-v6 attack 2001:db8:2::50 ubnt "MaxAuthTries 2, client willing to try 5 passwords for non-existent ubnt"
    ssh_askpass 2001:db8:2::50 ubnt password "bad" 5; expect_rc fail
    end
    begin s5-maxtries-kbd attack 203.0.113.50 "$USER_OK" "MaxAuthTries 2, keyboard-interactive, client willing to answer 5 times"
    ssh_askpass 203.0.113.50 "$USER_OK" keyboard-interactive "bad" 5; expect_rc fail
    end

    # 6. pre-authentication noise
    begin s6-batch-v4 attack 198.51.100.20 "$USER_OK" "BatchMode client without keys for $USER_OK: gives up without sending a password"
    ssh_askpass 198.51.100.20 "$USER_OK" none "" 1; expect_rc fail
    end
    begin s6-batch-invalid-v6 attack 2001:db8:2::20 support "BatchMode client without keys for non-existent support"
    ssh_askpass 2001:db8:2::20 support none "" 1; expect_rc fail
    end
    begin s6-tcp-close-v4 attack 198.51.100.21 - "bare TCP connect, nothing sent, close"
    raw 198.51.100.21 close
    end
    begin s6-tcp-close-v6 attack 2001:db8:2::21 - "bare TCP connect, nothing sent, close"
    raw 2001:db8:2::21 close
    end
    begin s6-http-v4 attack 198.51.100.22 - "HTTP request instead of an SSH banner"
    raw 198.51.100.22 garbage http
    end
    begin s6-tls-v6 attack 2001:db8:2::22 - "TLS ClientHello bytes instead of an SSH banner"
    raw 2001:db8:2::22 garbage tls
    end
    begin s6-kex-close attack 198.51.100.23 - "valid banner, hang up during key exchange"
    raw 198.51.100.23 banner-close
    end
    begin s6-kex-mismatch attack 198.51.100.24 "$USER_OK" "client offers only diffie-hellman-group1-sha1"
    ssh_askpass 198.51.100.24 "$USER_OK" password "bad" 1 -o KexAlgorithms=diffie-hellman-group1-sha1; expect_rc fail
    end
    begin s6-hostkey-mismatch attack 198.51.100.25 "$USER_OK" "client accepts only rsa-sha2-512 host keys (server has ed25519 only)"
    ssh_askpass 198.51.100.25 "$USER_OK" password "bad" 1 -o HostKeyAlgorithms=rsa-sha2-512; expect_rc fail
    end
    begin s6-cipher-mismatch attack 198.51.100.28 "$USER_OK" "client offers only aes128-cbc"
    ssh_askpass 198.51.100.28 "$USER_OK" password "bad" 1 -o Ciphers=aes128-cbc; expect_rc fail
    end
    begin s6-timeout attack 198.51.100.26 - "valid banner, then silence until LoginGraceTime ($LOGIN_GRACE s) expires"
    raw 198.51.100.26 banner-wait $((LOGIN_GRACE + 5))
    end
    begin s6-corrupt attack 198.51.100.29 - "valid banner, then a corrupt binary packet"
    raw 198.51.100.29 banner-junk
    end
    begin s6-libssh2-v4 attack 198.51.100.32 "$USER_OK" "libssh2 client (curl sftp://) with a wrong password for $USER_OK"
    curl_sftp 198.51.100.32 "$USER_OK"; expect_rc fail
    end
    begin s6-libssh2-invalid-v6 attack 2001:db8:2::32 ftpuser "libssh2 client (curl sftp://) with a wrong password for non-existent ftpuser"
    curl_sftp 2001:db8:2::32 ftpuser; expect_rc fail
    end
    begin s6-libssh2-abort-v4 attack 198.51.100.33 "$USER_OK" "libssh2 client (curl sftp://, 3 s timeout) gives up during authentication of $USER_OK and sends a disconnect message"
    curl_sftp 198.51.100.33 "$USER_OK" 3; expect_rc fail
    end
    begin s6-libssh2-abort-invalid-v6 attack 2001:db8:2::33 ftpadmin "libssh2 client (curl sftp://, 3 s timeout) gives up during authentication of non-existent ftpadmin"
    curl_sftp 2001:db8:2::33 ftpadmin 3; expect_rc fail
    end
    begin s6-one-try-quit attack 198.51.100.27 "$USER_OK" "one wrong password, client gives up (NumberOfPasswordPrompts=1)"
    ssh_askpass 198.51.100.27 "$USER_OK" password "bad" 1; expect_rc fail
    end

    # 7. legitimate logins (must never count as failures)
    begin s7-legit-v4 legit 192.0.2.10 "$USER_OK" "legitimate login with the right password (sshpass), runs true"
    sshpass_once 192.0.2.10 "$USER_OK" good; expect_rc ok
    end
    begin s7-legit-kbd-v6 legit 2001:db8:3::10 "$USER_OK" "legitimate login, keyboard-interactive, right password, runs true"
    ssh_askpass 2001:db8:3::10 "$USER_OK" keyboard-interactive "good" 1; expect_rc ok
    end
    begin s7-typo-then-ok legit 192.0.2.11 "$USER_OK" "legitimate user mistypes once, then logs in"
    ssh_askpass 192.0.2.11 "$USER_OK" password "bad good" 2; expect_rc ok
    end

    # 8. reverse-mapping checks (UseDNS yes + scripted DNS)
    begin s8-nomapback-v4 attack 203.0.113.60 "$USER_OK" "PTR mail.example.com, whose A record is 192.0.2.200; BatchMode client, no password"
    ssh_askpass 203.0.113.60 "$USER_OK" none "" 1; expect_rc fail
    end
    begin s8-nomapback-v6 attack 2001:db8:2::60 "$USER_OK" "PTR mail6.example.com, whose AAAA is 2001:db8:2::6666; one wrong password"
    ssh_askpass 2001:db8:2::60 "$USER_OK" password "bad" 1; expect_rc fail
    end
    begin s8-fwdfail-v4 attack 203.0.113.61 "$USER_OK" "PTR ghost.example.net, whose forward lookup is NXDOMAIN; BatchMode client"
    ssh_askpass 203.0.113.61 "$USER_OK" none "" 1; expect_rc fail
    end
    begin s8-fwdfail-v6 attack 2001:db8:2::61 admin "PTR ghost6.example.net, forward NXDOMAIN; non-existent user admin, one wrong password"
    ssh_askpass 2001:db8:2::61 admin password "bad" 1; expect_rc fail
    end
    begin s8-nastyptr-v4 attack 203.0.113.62 "$USER_OK" "PTR record is the numeric string 198.51.100.200; BatchMode client"
    ssh_askpass 203.0.113.62 "$USER_OK" none "" 1; expect_rc fail
    end
    begin s8-nastyptr-v6 attack 2001:db8:2::62 "$USER_OK" "PTR record is the numeric string 192.0.2.201; one wrong password"
    ssh_askpass 2001:db8:2::62 "$USER_OK" password "bad" 1; expect_rc fail
    end

    # 9. user exists but is refused by DenyUsers
    begin s9-denyusers attack 203.0.113.12 "$USER_DENIED" "existing user $USER_DENIED listed in DenyUsers: 2 attempts (right password!)"
    ssh_askpass 203.0.113.12 "$USER_DENIED" password "good good" 2; expect_rc fail
    end
}

# --- main -----------------------------------------------------------------------
for a in "${CLIENT_ADDRS[@]}"; do
    ip netns exec "$NS_CLI" timeout 5 python3 "$W/rawclient.py" "$a" "$(srv_for "$a")" probe ||
        die "no connectivity from $a to $(srv_for "$a")"
done
log "connectivity check passed for all client addresses"
start_dns

CAPTURE_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
PHASE=syslog
log "phase 1: sshd logging through syslog (rsyslogd writes RFC 3339 and traditional framings)"
start_rsyslog
start_sshd
run_scenarios
stop_sshd
stop_rsyslog

PHASE=bare
log "phase 2: sshd -E (bare messages)"
: >"$BARE_FILE"
start_sshd -E "$BARE_FILE"
run_scenarios
stop_sshd

log "labelling the capture and writing fixtures to ${OUTDIR#$REPO/}"
BT_HOSTNAME=$HOSTNAME_IN_LOGS \
BT_SSHD_VERSION="$(/usr/sbin/sshd -V 2>&1 | grep -m1 -o 'OpenSSH_[^,]*')" \
BT_SSHD_PACKAGE="$(dpkg-query -W -f='${Version}' openssh-server 2>/dev/null || echo unknown)" \
BT_RSYSLOG_VERSION="$(rsyslogd -v | head -1 | awk '{print "rsyslogd " $2}')" \
BT_GLIBC_VERSION="$(ldd --version | head -1 | sed 's/^ldd //')" \
BT_CAPTURE_DATE="$CAPTURE_DATE" BT_LOGIN_GRACE="$LOGIN_GRACE" \
    python3 "$W/label.py" "$W" "$OUTDIR"
log "fixtures written; legacy.log (hand-written) was not touched"
[[ $CROSSCHECK -eq 1 ]] && crosscheck
log "done"
