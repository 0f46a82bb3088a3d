#!/usr/bin/env python3
"""Labels the logs capture-web-fixtures.sh captured, from the ledger the
driver wrote (which address did what), and writes the fixtures.

Attribution uses only facts of the capture: the set of client addresses the
driver used (injected addresses are never among them), the field each server
writes the client into, and the order of each client's requests. No bantam
rule is involved."""
import json
import os
import re
import sys

W, OUT = sys.argv[1], sys.argv[2]
ledger = [json.loads(l) for l in open(os.path.join(W, "ledger.jsonl"))]
scenarios = {e["addr"]: e for e in ledger if "scenario" in e}
# Requests whose lines differ from their scenario's default, per (addr, server).
overrides = {}
for e in ledger:
    if e.get("request") and e["access"]:
        overrides.setdefault((e["addr"], e["server"]), []).append(e)
CLIENTS = set(scenarios)

HEADER = """# bantam {filter} filter fixture: {kind}
#
# CAPTURED from a real {daemon} (not hand-written) by
# scripts/capture-web-fixtures.sh on {date}.  Regenerate by re-running that
# script as root; do not edit by hand.
#   apache2: {apache}
#   nginx:   {nginx}
#   caddy:   {caddy}
#
# Every scenario used its own client source address (documentation prefixes,
# inside network namespaces), so each line is attributed to one client and its
# expectation follows from what that client did (scenario notes below name
# it).  Addresses inside user names, URLs, agents and referers (203.0.113.9,
# 2001:db8::66, ...) are injection attempts and never a client's.
#
# Format: lines starting with '#' are comments; "# expect: JSON" applies to
# the next log line:
#   {{"fail": false}}                                   not a failure
#   {{"fail": false, "success": true, "host": "ADDR"}}   a success (login)
#   {{"fail": true, "host": "ADDR"}}                    a failure from ADDR
#   ... "mode": "aggressive"                          only in aggressive mode
"""


def env(k):
    return os.environ.get(k, "unknown")


def lines_of(name):
    path = os.path.join(W, name)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return [l.rstrip(b"\n").decode("utf-8", "surrogateescape") for l in f if l.strip()]


def client_of_error(line, server):
    if server == "apache":
        found = re.findall(r"\[client ([^\]]+)\]", line)
        found = [re.sub(r":\d+$", "", c) for c in found]
    else:
        found = re.findall(r"client: ([^,]+),", line)
    real = {c for c in found if c in CLIENTS}
    if len(real) > 1:
        raise SystemExit(f"ambiguous client in {line!r}")
    return real.pop() if real else None


def request_of_access(line, server):
    """(addr, method, target) of one access-log line."""
    if server == "caddy":
        rec = json.loads(line)
        req = rec.get("request", {})
        return req.get("remote_ip"), req.get("method"), req.get("uri")
    addr = line.split(" ", 1)[0]
    m = re.search(r'\] "(\S+) (\S+)', line)
    return addr, (m.group(1) if m else None), (m.group(2) if m else None)


def norm(target):
    return (target or "").replace("\\", "")


def expect_json(verdict, addr):
    if verdict == "fail":
        return {"fail": True, "host": addr}
    if verdict == "fail-aggressive":
        return {"fail": True, "host": addr, "mode": "aggressive"}
    if verdict == "success":
        return {"fail": False, "success": True, "host": addr}
    return {"fail": False}


def write(filter_name, fname, kind, daemon, labelled):
    d = os.path.join(OUT, filter_name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(HEADER.format(filter=filter_name, kind=kind, daemon=daemon, date=env("BT_DATE"),
                              apache=env("BT_APACHE"), nginx=env("BT_NGINX"), caddy=env("BT_CADDY")))
        last = object()
        for addr, verdict, line in labelled:
            if addr != last:
                sc = scenarios.get(addr)
                note = f"scenario {sc['scenario']} ({addr}): {sc['what']}" if sc else "server's own message (no client)"
                f.write(f"\n# {note}\n")
                last = addr
            f.write("# expect: " + json.dumps(expect_json(verdict, addr)) + "\n")
            f.write(line + "\n")
    print(f"  {filter_name}/{fname}: {len(labelled)} lines", file=sys.stderr)


def label_error(server, filter_name):
    out = []
    for line in lines_of(f"{server}-error.log") or []:
        addr = client_of_error(line, server)
        verdict = scenarios[addr]["error"].get(filter_name, "ignore") if addr else "ignore"
        out.append((addr, verdict, line))
    return out


def label_access(server, filter_name):
    lines = lines_of(f"{server}-access.log")
    if lines is None:
        return None
    pending = {k: list(v) for k, v in overrides.items()}
    out = []
    for line in lines:
        addr, method, target = request_of_access(line, server)
        if addr not in CLIENTS:
            raise SystemExit(f"unknown client in {line!r}")
        verdict = scenarios[addr]["access"].get(filter_name, "ignore")
        queue = pending.get((addr, server), [])
        for i, e in enumerate(queue):
            garbage = e["target"] is None and (method or "").startswith("\\x")
            if garbage or (e["method"] == method and norm(e["target"]) == norm(target)):
                verdict = e["access"].get(filter_name, verdict)
                del queue[: i + 1]
                break
        out.append((addr, verdict, line))
    return out


APACHE = "Apache httpd (Debian package apache2)"
NGINX = "nginx (Debian package nginx)"
CADDY = "Caddy (Debian package caddy)"
write("apache-auth", "apache-error.log", "Apache 2.4 error log (default ErrorLogFormat)", APACHE,
      label_error("apache", "apache-auth"))
write("nginx-http-auth", "nginx-error.log", "nginx error log, level info", NGINX,
      label_error("nginx", "nginx-http-auth"))
write("nginx-limit-req", "nginx-error.log", "nginx error log, level info", NGINX,
      label_error("nginx", "nginx-limit-req"))
for server, daemon, kind in (("apache", APACHE, "Apache access log, combined format"),
                             ("nginx", NGINX, "nginx access log, combined format"),
                             ("caddy", CADDY, "Caddy access log, JSON (format json)")):
    labelled = label_access(server, "scanner")
    if labelled is not None:
        write("scanner", f"{server}-access.log", kind, daemon, labelled)
    if server != "caddy":
        write("apache-badbots", f"{server}-access.log", kind, daemon, label_access(server, "apache-badbots"))
write("wordpress", "apache-access.log", "Apache access log, combined format; /wp-login.php is a CGI "
      "stand-in answering as WordPress does (failed login 200, success 302)", APACHE,
      label_access("apache", "wordpress"))
