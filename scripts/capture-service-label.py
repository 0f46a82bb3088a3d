#!/usr/bin/env python3
"""Label the lines captured by capture-service-fixtures.sh and write fixtures.

argv: WORKDIR FILTERS_DIR SERVICE...

Ground truth comes from the scenarios, not from bantam's filters: every
scenario used its own client source address, so a line belongs to the
scenario between whose markers (syslog) or file offsets (daemons' own log
files) it was written, and the expected host is the address that client
really used, whatever addresses a user name or HELO name carried. What is
decided per line is which EVENT it reports; that is recognised from the
daemon's fixed message texts in EVENTS below, and each event has a fixed
verdict:
  normal      a failure in every mode
  aggressive  a failure only in the filter's aggressive mode
  success     a successful login (not a failure; a success rule's match)
  none        nothing to count
  (modes...)  a failure only in the filter's modes named
A line no pattern knows stops the labelling, and so does a failure or
success line outside a scenario or not containing the scenario's address.
Fixture format (read by crates/bantam-filter/tests/service_filters.rs): each
log line is preceded by `# expect: {json}`.
"""
import json
import os
import re
import sys

W, FILTERS, SERVICES = sys.argv[1], sys.argv[2], sys.argv[3:]
HOSTNAME = os.environ.get("BT_HOSTNAME", "bt-server")
DATE = os.environ.get("BT_CAPTURE_DATE", "unknown date")

# service -> list of (filter, source, [(event, regex on the message, verdict)])
# source is "syslog:PROGRAM-REGEX" or "file:NAME" (a file in WORKDIR/logs).
A, N, S, X = "aggressive", "normal", "success", "none"
# exim's optional "[PID] " (log_selector +pid) and message id.
EXIM = r"^(?:\[\d+\] )?(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} )?"
# OpenVPN's lines: "ADDR:PORT MESSAGE" (the client instance's prefix; an
# IPv6 client without the port), or no prefix for the server's own.
OPENVPN = [
    ("auth-failed", r"^\S+ TLS Auth Error: Auth Username/Password verification failed for peer$", N),
    ("verify-error", r"^\S+ VERIFY (?:[A-Z0-9]+ )?ERROR", N),
    ("handshake-failed", r"^\S+ TLS Error: TLS handshake failed$", A),
    ("hmac-failed", r"^TLS Error: (?:incoming packet authentication failed|cannot locate HMAC in incoming packet) from \[AF_INET6?\]\S+$", A),
    ("tls-crypt-failed", r"^\S+ TLS Error: tls-crypt unwrapping failed from \[AF_INET6?\]\S+$", A),
    ("succeeded", r"^\S+ TLS: Username/Password authentication succeeded for username '.*' ?$", S),
    ("session", r"^\S+ (?:VERIFY OK|peer info|TLS: |Delayed exit|SENT CONTROL|Control Channel|\[.*\] Peer Connection Initiated|Connection reset|SIG(?:USR1|TERM)\[|Sent fatal SSL alert|OpenSSL: |TLS_ERROR: |TLS Error: TLS object|TLS Error: TLS key negotiation failed|Fatal TLS error|tls-crypt unwrap error|MULTI|Data Channel|Timers|Protocol options|write UDPv6|Outgoing|Incoming)", X),
    ("server", r"^(?:Authenticate/Decrypt packet error|TCP connection established with|read UDPv6|event_wait|Closing TUN/TAP|SIGTERM\[hard|Note: |OpenVPN 2|library versions|DCO version|WARNING: |net_|TUN/TAP|Socket Buffers|setsockopt|UDPv6 link|TCPv4_SERVER link|MULTI: |IFCONFIG POOL|Initialization Sequence Completed|NOTE: |Could not determine|Listening for incoming)", X),
]

EVENTS = {
    "dropbear": [("dropbear", "syslog:dropbear", [
        ("bad-password", r"^Bad password attempt for '.*' from \S+$", N),
        ("max-tries-unknown-user", r"^Exit before auth from <\S+>: Max auth tries reached - user 'is invalid'$", N),
        ("exit-before-auth", r"^Exit before auth from <\S+>: ", A),
        ("nonexistent-no-address", r"^Login attempt for nonexistent user$", X),
        ("succeeded", r"^(?:Password|Pubkey) auth succeeded for '.*' from \S+$", S),
        ("connection", r"^Child connection from \S+$", X),
        ("session-exit", r"^Exit \(.*\) from <\S+>: ", X),
        ("daemon", r"^(?:Running in background|Early exit: Terminated by signal|Not backgrounding)", X),
    ])],
    "mail": [("postfix", "syslog:postfix/.*", [
        ("sasl-failed", r"^warning: [-._A-Za-z0-9]+\[\S+\]: SASL \S+ authentication failed:", N),
        ("rbl", r"^NOQUEUE: reject: RCPT from \S+: 554 5\.7\.1 Service unavailable; Client host \[\S+\] blocked using ", ("rbl", "aggressive")),
        ("relay", r"^NOQUEUE: reject: RCPT from \S+: 454 4\.7\.1 <.*>: Relay access denied;", ("relay", "aggressive")),
        ("unknown-recipient", r"^NOQUEUE: reject: RCPT from \S+: 550 5\.1\.1 <.*>: Recipient address rejected: User unknown", A),
        ("bad-helo", r"^NOQUEUE: reject: RCPT from \S+: 501 5\.5\.2 <.*>: Helo command rejected:", A),
        ("sasl-login", r"^[0-9A-F]+: client=\S+, sasl_method=\S+, sasl_username=", S),
        ("session", r"^(?:connect from|disconnect from|lost connection after CONNECT from) ", X),
        ("queue", r"^[0-9A-F]+: (?:message-id=|from=<|to=<|removed)", X),
        ("daemon", r"^(?:daemon started|terminating on signal|warning: not owned by|warning: group or other writable|starting the Postfix mail system|stopping the Postfix mail system)", X),
    ]), ("dovecot", "syslog:dovecot", [
        ("auth-failed", r"^(?:imap|pop3|submission|managesieve)-login: (?:Disconnected|Aborted login)[^(]*\(auth failed, \d+ attempts? in \d+ secs\): user=<", N),
        ("no-auth", r"^(?:imap|pop3)-login: Disconnected[^(]*\(no auth attempts in \d+ secs\): user=<", A),
        ("login", r"^(?:imap|pop3)-login: Login: user=<", S),
        ("auth-process", r"^auth: \S+?\(", X),
        ("session", r"^(?:imap|pop3)\(.*\)<\d+><\S+>: Disconnected: ", X),
        ("daemon", r"^master: ", X),
    ])],
    "exim": [("exim", "file:" + f, [
        ("auth-failed", EXIM + r"\S+ authenticator failed for .*\[\S+\](?::\d+)?: 535 Incorrect authentication data", N),
        ("sync-greeting", EXIM + r"SMTP protocol synchronization error \(input sent without waiting for greeting\): rejected connection from H=", N),
        ("sync-next", EXIM + r"SMTP protocol synchronization error \(next input sent too soon: ", N),
        ("relay", EXIM + r"H=.* F=<.*> rejected RCPT <.*>: relay not permitted$", ("relay", "aggressive")),
        ("unknown-recipient", EXIM + r"H=.* F=<.*> rejected RCPT <.*>: Unrouteable address$", A),
        ("bad-helo", EXIM + r"rejected (?:EHLO|HELO) from .*: syntactically invalid argument", A),
        ("helo-acl", EXIM + r"H=.* rejected EHLO or HELO ", A),
        ("no-helo", EXIM + r"rejected MAIL from .*: no HELO/EHLO given$", A),
        ("too-many", EXIM + r"SMTP call from .* dropped: too many ", A),
        ("auth-arrival", EXIM + r'<= [^\s"\\]+ H=(?:\S+ )?(?:\(\S*\) )?\[\S+\](?::\d+)? P=\S*smtps?a A=', S),
        ("arrival", EXIM + r"<= ", X),
        ("delivery", EXIM + r"(?:=> |-> |Completed$)", X),
        ("session", EXIM + r"(?:no host name found for IP address |SMTP connection from |unexpected disconnection while reading SMTP command from )", X),
        # An artefact of the capture's -C (a config not in exim's trusted list).
        ("capture-artefact", EXIM + r"exim user lost privilege for using -C option$", X),
        ("daemon", EXIM + r"exim \S+ daemon started: ", X),
    ]) for f in ("mainlog.log", "mainlog-selectors.log")],
    "openvpn": [("openvpn", src, OPENVPN) for src in ("syslog:ovpn-server", "file:openvpn.log")],
    "proftpd": [("proftpd", "file:proftpd.log", [
        ("incorrect-password", r"^\S+ proftpd\[\d+\] \S+ \(\S+\[\S+\]\): USER .* \(Login failed\): Incorrect password\.?\s*$", N),
        ("no-such-user", r"^\S+ proftpd\[\d+\] \S+ \(\S+\[\S+\]\): USER .*: no such user found from ", N),
        ("max-attempts", r"^\S+ proftpd\[\d+\] \S+ \(\S+\[\S+\]\): Maximum login attempts \(\d+\) exceeded", A),
        ("login", r"^\S+ proftpd\[\d+\] \S+ \(\S+\[\S+\]\): USER .*: Login successful\.?\s*$", S),
        ("session", r"^\S+ proftpd\[\d+\] \S+ \(\S+\[\S+\]\): (?:FTP session (?:opened|closed)\.|FTP no transfer timeout|Preparing to chroot to directory)", X),
        ("daemon", r"^\S+ proftpd\[\d+\] \S+: (?:ProFTPD .* standalone mode (?:START|SHUTDOWN)|.*signal|.*[Ss]hutdown|.*ProFTPD killed)", X),
    ])],
    "vsftpd": [("vsftpd", "file:vsftpd.log", [
        ("fail-login", r'^\[pid \d+\] \[.*\] FAIL LOGIN: Client "\S+"(?:, ".*")?\s*$', N),
        ("ok-login", r'^\[pid \d+\] \[.*\] OK LOGIN: Client "\S+"', S),
        ("connect", r'^\[pid \d+\] CONNECT: Client "\S+"', X),
    ])],
    "pure-ftpd": [("pure-ftpd", "syslog:pure-ftpd", [
        ("auth-failed", r"^\(\?@\S+\) \[WARNING\] Authentication failed for user \[.*\]$", N),
        ("logged-in", r"^\(\?@\S+\) \[INFO\] .* is now logged in$", S),
        ("session", r"^\(.*@\S+\) \[INFO\] (?:New connection from|Logout\.|Timeout)", X),
    ])],
    "mysqld-auth": [("mysqld-auth", "file:mariadb-error.log", [
        ("access-denied", r"^\d+ \[(?:Warning|Note)\] Access denied for user '.*'@'\S+' \(using password: (?:YES|NO)\)$", N),
        ("aborted", r"^\d+ \[Warning\] Aborted connection \d+ to db: ", X),
        ("daemon", r"^\d+ \[(?:Note|Warning|ERROR|System)\] ", X),
        ("startup", r"^(?:Version: |mariadbd: |/usr/sbin/mariadbd)", X),
    ])],
}


class LabelError(Exception):
    pass


def manifest():
    """Scenarios in order: dicts with svc, sid, role, addr, user, sizes."""
    rows, open_ = [], {}
    for row in open(os.path.join(W, "out", "manifest.tsv"), encoding="utf-8"):
        svc, sid, role, addr, user, desc, sizes = row.rstrip("\n").split("\t")
        sz = dict(kv.split("=") for kv in sizes.split())
        if role == "end":
            open_.pop((svc, sid))["end"] = {k: int(v) for k, v in sz.items()}
            continue
        sc = dict(svc=svc, sid=sid, role=role, addr=addr, user=user, desc=desc,
                  start={k: int(v) for k, v in sz.items()})
        open_[(svc, sid)] = sc
        rows.append(sc)
    return rows


SYSLOG_RFC = re.compile(r"^(\S+) (\S+) ([^:\[\s]+)(?:\[(\d+)\])?: ?(.*)$")
SYSLOG_TRAD = re.compile(r"^(\w{3} [ \d]\d [\d:]{8}) (\S+) ([^:\[\s]+)(?:\[(\d+)\])?: ?(.*)$")


def syslog_entries(path, scenarios):
    """(line, program, message, scenario or None) for every non-marker line."""
    pattern = SYSLOG_RFC if path.endswith("rfc3339.log") else SYSLOG_TRAD
    by_key = {(s["svc"], s["sid"]): s for s in scenarios}
    current, out = None, []
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        line = line.rstrip("\n")
        m = pattern.match(line)
        if not m:
            raise LabelError("not a syslog line: %r" % line)
        prog, msg = m.group(3), m.group(5)
        if prog == "bt-capture":
            kind, _, rest = msg.partition(" ")
            if kind == "BEGIN":
                current = by_key[tuple(rest.split(" ", 1))]
            elif kind == "END":
                current = None
            continue
        out.append((line, prog, msg, current))
    return out


def file_entries(name, scenarios):
    path = os.path.join(W, "logs", name)
    data = open(path, "rb").read()
    out = []
    for line_start, line in iter_lines(data):
        owner = None
        for s in scenarios:
            if name in s["start"] and s["start"][name] <= line_start < s["end"][name]:
                owner = s
        text = line.decode("utf-8", "surrogateescape")
        out.append((text, name, strip_date(text), owner))
    return out


def iter_lines(data):
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        nl = len(data) if nl < 0 else nl
        yield pos, data[pos:nl]
        pos = nl + 1


DATES = [
    re.compile(r"^\d{4}-\d\d-\d\d[ T]\s?\d?\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? "),
    re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} "),
    re.compile(r"^\d{6} [ \d]\d:\d\d:\d\d "),
    re.compile(r"^\d{4}-\d\d-\d\d\s+\d?\d:\d\d:\d\d "),
]


def strip_date(text):
    for d in DATES:
        m = d.match(text)
        if m:
            return text[m.end():]
    return text


def label(entries, events, program):
    """Yields (expect dict, line)."""
    compiled = [(e, re.compile(rx), v) for e, rx, v in events]
    for line, prog, msg, scen in entries:
        if program is not None and not re.fullmatch(program, prog):
            continue
        event = next(((e, v) for e, rx, v in compiled if rx.search(msg)), None)
        if event is None:
            raise LabelError("unrecognised message of %s: %r" % (prog, msg))
        name, verdict = event
        if verdict == X:
            yield {"fail": False}, line
            continue
        if scen is None:
            raise LabelError("%s line outside every scenario: %r" % (name, line))
        if scen["addr"] not in line:
            raise LabelError("%s line without its client address %s: %r" % (name, scen["addr"], line))
        if verdict == S:
            if scen["role"] != "legit":
                raise LabelError("success in a %s scenario: %r" % (scen["role"], line))
            yield {"fail": False, "success": True, "host": scen["addr"]}, line
            continue
        exp = {"fail": True, "host": scen["addr"]}
        if verdict == A:
            exp["mode"] = "aggressive"
        elif isinstance(verdict, tuple):
            exp["modes"] = list(verdict)
        exp["event"] = name
        yield exp, line


HEADER = """\
# bantam {name} filter fixture: {what}
#
# CAPTURED from a real daemon ({version}) by
# scripts/capture-service-fixtures.sh on {date}; regenerate by re-running
# it as root, do not edit by hand. Each line's verdict comes from the
# scenario that made it (the client's real source address) and the event
# its fixed text reports; see scripts/capture-service-label.py.
"""


def write(filt, fname, what, pairs, versions, svc):
    os.makedirs(os.path.join(FILTERS, filt), exist_ok=True)
    path = os.path.join(FILTERS, filt, fname)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(HEADER.format(name=filt, what=what, version=versions.get(svc, svc), date=DATE))
        for exp, line in pairs:
            f.write("\n# expect: " + json.dumps(exp, ensure_ascii=False) + "\n" + line + "\n")
    fails = sum(1 for e, _ in pairs if e["fail"])
    print("[label] %s: %d lines, %d failures" % (os.path.relpath(path, FILTERS), len(pairs), fails))


def main():
    scenarios = manifest()
    versions = {}
    vpath = os.path.join(W, "out", "versions.tsv")
    if os.path.exists(vpath):
        for row in open(vpath, encoding="utf-8"):
            k, v = row.rstrip("\n").split("\t", 1)
            versions[k] = v
    frames = {"syslog-rfc3339.log": "syslog, RFC 3339 framing (Debian 12 rsyslog)",
              "syslog-traditional.log": "syslog, traditional BSD framing"}
    for svc in SERVICES:
        mine = [s for s in scenarios if s["svc"] == svc]
        for filt, source, events in EVENTS[svc]:
            kind, _, arg = source.partition(":")
            if kind == "syslog":
                for fname, what in frames.items():
                    entries = syslog_entries(os.path.join(W, "logs", fname), scenarios)
                    entries = [e for e in entries if e[3] is None or e[3]["svc"] == svc]
                    pairs = list(label(entries, events, arg))
                    write(filt, fname, what, pairs, versions, svc)
            else:
                pairs = list(label(file_entries(arg, mine), events, None))
                write(filt, arg, "the daemon's own log file", pairs, versions, svc)


if __name__ == "__main__":
    try:
        main()
    except LabelError as e:
        sys.exit("[label] ERROR: %s" % e)
