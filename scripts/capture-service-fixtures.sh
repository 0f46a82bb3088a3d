#!/usr/bin/env bash
# capture-service-fixtures.sh - capture REAL log lines of network daemons for
# bantam's native filters (dropbear, postfix, dovecot, exim, proftpd, vsftpd,
# pure-ftpd, mysqld-auth, openvpn) and write them, labelled, as fixtures to
# crates/bantam-filter/filters/NAME/*.log.
#
# Usage: sudo scripts/capture-service-fixtures.sh [--keep-workdir] [SERVICE...]
#   SERVICE: dropbear mail (postfix + dovecot) exim proftpd vsftpd pure-ftpd
#            mysqld-auth openvpn; all of them when none is named.
#
# What it does (everything is torn down at exit, also on failure):
#   * two network namespaces joined by a veth pair: the server side
#     (198.51.100.1, 2001:db8:1::1) and the clients (addresses from
#     203.0.113.0/24, 192.0.2.0/24, 2001:db8:2::/64). Nothing leaves them.
#   * every daemon runs in a private mount namespace (see srv-launch below):
#     and UTS namespace (host name bt-server): a fresh /dev whose /dev/log is OUR rsyslogd's socket, a private /run
#     and /var/log, an /etc/resolv.conf pointing at a scripted DNS responder
#     (no real DNS; it lists one address on a test RBL for postfix), and, for
#     the FTP daemons, a private /etc/pam.d. The host's logging, /run and
#     /var/log are never touched.
#   * the private rsyslogd writes every message twice: RFC 3339 framing
#     (Debian 12's default) and the traditional BSD framing. Daemons that
#     keep their own log file (exim's mainlog, vsftpd.log, proftpd's
#     SystemLog, mariadb's error log) write it into the work directory too.
#   * real clients (dbclient, python's smtplib/imaplib/poplib/ftplib, the
#     mariadb client, an openvpn client) make failed and successful attempts,
#     each scenario from its own source address; user names carrying
#     addresses and log-like text go through the real daemon as well.
#   * scripts/capture-service-label.py labels every line from the scenario
#     ground truth (which client address did what) and writes the fixtures.
#
# Packages: installed here when missing (apt-get, no recommends). Debian's
# FTP servers conflict with each other (ftp-server) and exim4 with postfix
# (mail-transport-agent), so vsftpd, pure-ftpd and exim4-daemon-light are NOT
# installed: their .debs are fetched with `apt-get download` and unpacked
# into the work directory (`dpkg -x`); their libraries are installed. The
# host's package set therefore keeps postfix and proftpd only.
# Debian 12 has no asterisk package: its fixture is hand-written from the
# documented format (see filters/asterisk.toml).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILTERS=$REPO/crates/bantam-filter/filters
CLIENT=$REPO/scripts/capture-service-client.py
LABEL=$REPO/scripts/capture-service-label.py
ALL_SERVICES=(dropbear mail exim proftpd vsftpd pure-ftpd mysqld-auth openvpn)

KEEP_WORKDIR=0
SERVICES=()
for arg in "$@"; do
    case $arg in
        --keep-workdir) KEEP_WORKDIR=1 ;;
        -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        dropbear|mail|exim|proftpd|vsftpd|pure-ftpd|mysqld-auth|openvpn) SERVICES+=("$arg") ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done
[[ ${#SERVICES[@]} -eq 0 ]] && SERVICES=("${ALL_SERVICES[@]}")

log() { printf '[capture] %s\n' "$*"; }
die() { printf '[capture] ERROR: %s\n' "$*" >&2; exit 1; }
[[ ${EUID:-$(id -u)} -eq 0 ]] || die "must be run as root (namespaces, daemons, temporary users)"

NS_SRV=bt-svc-srv
NS_CLI=bt-svc-cli
SRV4=198.51.100.1
SRV6=2001:db8:1::1
USER_OK=btuser
USER_COMMENT='bantam service capture (temporary)'
PW_OK='bt-Correct-Horse-42'
PW_BAD='hunter2-wrong'
HOSTNAME_IN_LOGS=bt-server
# A user name an attacker would send to plant addresses and log-like text in
# the line; every daemon gets it, and the labeller checks that the expected
# host is still the client's real address.
INJECT='x from 203.0.113.9 port 22 rip=203.0.113.9 [203.0.113.9] 203.0.113.9:21'

for ns in "$NS_SRV" "$NS_CLI"; do
    ip netns list | awk '{print $1}' | grep -qx "$ns" &&
        die "network namespace $ns exists (crashed run?); remove it: ip netns del $ns"
done
if getent passwd "$USER_OK" >/dev/null; then
    [[ $(getent passwd "$USER_OK" | cut -d: -f5) == "$USER_COMMENT" ]] ||
        die "user $USER_OK exists and is not ours; refusing to touch it"
    userdel "$USER_OK"
fi

W=$(mktemp -d /tmp/bantam-svc-capture.XXXXXX)
chmod 0755 "$W"
CREATED_USER=0
# System users a daemon's binary insists on (exim's compiled-in
# Debian-exim), made here when missing and removed at exit.
CREATED_SYSTEM_USERS=()

cleanup() {
    local rc=$? ns pids pid i
    set +e
    trap - EXIT INT TERM
    # Every process we started lives in one of our namespaces: end exactly
    # those, by pid.
    for ns in "$NS_SRV" "$NS_CLI"; do
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
        for i in $(seq 1 50); do
            [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
            sleep 0.1
        done
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns"
    done
    [[ $CREATED_USER -eq 1 ]] && userdel "$USER_OK"
    for i in "${CREATED_SYSTEM_USERS[@]}"; do userdel "$i"; done
    if [[ $KEEP_WORKDIR -eq 1 || $rc -ne 0 ]]; then
        log "work directory kept: $W"
    else
        rm -rf "$W"
    fi
    [[ $rc -ne 0 ]] && log "FAILED (exit $rc); namespaces, processes and the user were cleaned up"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- packages -----------------------------------------------------------------
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]}"
    # The packages' own services must not start: policy-rc.d says no.
    local policy=/usr/sbin/policy-rc.d made=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
        --no-install-recommends "${missing[@]}" >"$W/apt.log" 2>&1 || { cat "$W/apt.log"; die "apt-get failed"; }
    [[ $made -eq 1 ]] && rm -f "$policy"
    return 0
}
# Unpacks a conflicting package into $W/root (see the header).
unpack() {
    mkdir -p "$W/debs" "$W/root"
    (cd "$W/debs" && apt-get download "$@" >/dev/null 2>&1) || die "apt-get download $* failed"
    local d
    for d in "$W"/debs/*.deb; do dpkg -x "$d" "$W/root"; done
}

apt_install iproute2 rsyslog util-linux python3 procps
# --- network ------------------------------------------------------------------
CLIENT_ADDRS=()
for i in $(seq 10 99); do CLIENT_ADDRS+=("203.0.113.$i"); done
for i in $(seq 10 49); do CLIENT_ADDRS+=("192.0.2.$i"); done
for i in $(seq 10 99); do CLIENT_ADDRS+=("2001:db8:2::$i"); done
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip -n "$NS_SRV" link add bt-svc-s type veth peer name bt-svc-c netns "$NS_CLI"
ip -n "$NS_SRV" link set lo up
ip -n "$NS_CLI" link set lo up
ip -n "$NS_SRV" addr add "$SRV4/24" dev bt-svc-s
ip -n "$NS_SRV" addr add "$SRV6/64" dev bt-svc-s nodad
ip -n "$NS_CLI" addr add 198.51.100.2/24 dev bt-svc-c
ip -n "$NS_CLI" addr add 2001:db8:1::2/64 dev bt-svc-c nodad
for a in "${CLIENT_ADDRS[@]}"; do
    if [[ $a == *:* ]]; then ip -n "$NS_CLI" addr add "$a/128" dev bt-svc-c nodad
    else ip -n "$NS_CLI" addr add "$a/32" dev bt-svc-c; fi
done
ip -n "$NS_SRV" link set bt-svc-s up
ip -n "$NS_CLI" link set bt-svc-c up
ip -n "$NS_SRV" route add 203.0.113.0/24 dev bt-svc-s
ip -n "$NS_SRV" route add 192.0.2.0/24 dev bt-svc-s
ip -n "$NS_SRV" -6 route add 2001:db8:2::/64 dev bt-svc-s
ip -n "$NS_CLI" route add default dev bt-svc-c
ip -n "$NS_CLI" -6 route add default dev bt-svc-c
log "namespaces $NS_SRV ($SRV4, $SRV6) and $NS_CLI (${#CLIENT_ADDRS[@]} client addresses) are up"

srv_for() { if [[ $1 == *:* ]]; then echo "$SRV6"; else echo "$SRV4"; fi; }
cli() { ip netns exec "$NS_CLI" "$@"; }
pyclient() { ip netns exec "$NS_CLI" timeout 30 python3 "$CLIENT" "$@"; }

# --- the private mount namespace every daemon runs in -------------------------
mkdir -p "$W"/{etc,out,run,pam.d,logs}
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$W/etc/resolv.conf"
printf '127.0.0.1 localhost\n%s %s\n' "$SRV4" "$HOSTNAME_IN_LOGS" >"$W/etc/hosts"
printf 'auth required pam_unix.so\naccount required pam_permit.so\nsession required pam_permit.so\n' \
    >"$W/pam.d/bt-capture"
cat >"$W/srv-launch.sh" <<EOF
#!/bin/sh
# Runs inside 'ip netns exec $NS_SRV unshare --mount'; execs the daemon.
set -e
hostname $HOSTNAME_IN_LOGS
mount --make-rprivate /
mount -t tmpfs -o mode=0755,nosuid bt-dev /dev
mknod -m 0666 /dev/null c 1 3
mknod -m 0666 /dev/zero c 1 5
mknod -m 0666 /dev/random c 1 8
mknod -m 0666 /dev/urandom c 1 9
mknod -m 0666 /dev/tty c 5 0
mkdir /dev/net /dev/pts /dev/shm
mknod -m 0666 /dev/net/tun c 10 200
ln -s "$W/log.sock" /dev/log
mount -t tmpfs -o mode=0755,nosuid,nodev bt-run /run
mount -t tmpfs -o mode=0755,nosuid,nodev bt-varlog /var/log
mount --bind "$W/etc/resolv.conf" /etc/resolv.conf
mount --bind "$W/etc/hosts" /etc/hosts
mount --bind "$W/pam.d" /etc/pam.d
exec "\$@"
EOF
chmod +x "$W/srv-launch.sh"
# --uts: daemons that write their host name into their own files see
# $HOSTNAME_IN_LOGS, like the syslog lines.
srv() { ip netns exec "$NS_SRV" unshare --mount --uts --propagation private -- "$W/srv-launch.sh" "$@"; }

# --- DNS responder: PTR → NXDOMAIN, one RBL listing -----------------------------
cat >"$W/dns.py" <<'EOF'
import socket, struct
LISTED = {"66.113.0.203.rbl.bt-test.", "1.0.0.127.rbl.bt-test."}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    q, peer = s.recvfrom(512)
    tid, flags, qd = struct.unpack("!HHH", q[:6])
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace")); i += 1 + q[i]
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    name = ".".join(labels).lower() + "."
    hit = name in LISTED and qtype in (1, 16)
    head = struct.pack("!HHHHHH", tid, 0x8180 if hit else 0x8183, 1, 1 if hit else 0, 0, 0)
    ans = b""
    if hit and qtype == 1:
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 2])
    elif hit:
        txt = b"listed by the bantam capture test list"
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(txt) + 1) + bytes([len(txt)]) + txt
    s.sendto(head + question + ans, peer)
EOF
ip netns exec "$NS_SRV" python3 "$W/dns.py" &

# --- rsyslogd ---------------------------------------------------------------------
cat >"$W/rsyslog.conf" <<EOF
global(workDirectory="$W/run" localHostname="$HOSTNAME_IN_LOGS")
module(load="imuxsock" SysSock.Name="$W/log.sock" SysSock.RateLimit.Interval="0")
*.* action(type="omfile" file="$W/logs/syslog-rfc3339.log" template="RSYSLOG_FileFormat")
*.* action(type="omfile" file="$W/logs/syslog-traditional.log" template="RSYSLOG_TraditionalFileFormat")
EOF
ip netns exec "$NS_SRV" rsyslogd -f "$W/rsyslog.conf" -i "$W/run/rsyslogd.pid"
for i in $(seq 1 50); do [[ -S $W/log.sock ]] && break; sleep 0.1; done
[[ -S $W/log.sock ]] || die "rsyslogd did not create its socket"

# --- scenarios ------------------------------------------------------------------
# A scenario is one client behaviour from one source address. Its boundaries
# are marked in syslog (a marker line the labeller drops) and, for daemons'
# own log files, by the files' sizes before and after.
SVC=
SID=
FILELOGS=()
mark() { logger -u "$W/log.sock" -t bt-capture -- "$*"; }
sizes() { local f; for f in "${FILELOGS[@]}"; do printf '%s=%s ' "$f" "$(stat -c %s "$W/logs/$f" 2>/dev/null || echo 0)"; done; }
begin() { # SID ROLE ADDR USER DESCRIPTION
    SID=$1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$SVC" "$1" "$2" "$3" "$4" "$5" "$(sizes)" >>"$W/out/manifest.tsv"
    mark "BEGIN $SVC $SID"
    log "  $SVC/$SID ($2 from $3): $5"
}
end() {
    sleep "${SETTLE:-0.6}"
    mark "END $SVC $SID"
    printf '%s\t%s\tend\t\t\t\t%s\n' "$SVC" "$SID" "$(sizes)" >>"$W/out/manifest.tsv"
}
# The client's exit status is what the scenario expects ("refused" for an
# attack); a client that got in where it should not have stops the capture.
expect_refused() { local rc=0; "$@" || rc=$?; [[ $rc -ne 0 ]] || die "$SVC/$SID: the login was accepted"; }
expect_ok() { "$@" || die "$SVC/$SID: the legitimate login failed"; }
service_begin() {
    SVC=$1; shift
    FILELOGS=("$@")
    mark "SERVICE $SVC"
    log "service $SVC"
}
wait_port() { # ADDR PORT
    local i
    for i in $(seq 1 100); do
        ip netns exec "$NS_SRV" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    die "$SVC: nothing listens on port $2"
}
stop_pidfile() {
    local pid i
    pid=$(cat "$1" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

ensure_system_user() { # NAME
    getent passwd "$1" >/dev/null && return 0
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        --comment "$USER_COMMENT" "$1"
    CREATED_SYSTEM_USERS+=("$1")
}

ensure_user() {
    [[ $CREATED_USER -eq 1 ]] && return 0
    useradd --no-create-home --home-dir "$W/home" --shell /bin/sh --comment "$USER_COMMENT" "$USER_OK"
    CREATED_USER=1
    printf '%s:%s\n' "$USER_OK" "$PW_OK" | chpasswd
    mkdir -p "$W/home" && chown "$USER_OK" "$W/home"
}

for svc in "${SERVICES[@]}"; do
    # shellcheck source=/dev/null
    case $svc in
        vsftpd|pure-ftpd) source "$REPO/scripts/capture-service-ftp.sh" ;;
        *) source "$REPO/scripts/capture-service-${svc}.sh" ;;
    esac
    "capture_${svc//-/_}"
done

sleep 1
stop_pidfile "$W/run/rsyslogd.pid"
log "labelling and writing fixtures"
BT_CAPTURE_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" BT_HOSTNAME=$HOSTNAME_IN_LOGS \
    python3 "$LABEL" "$W" "$FILTERS" "${SERVICES[@]}"
log "done"
