#!/usr/bin/env python3
"""notify_latency.py: the measuring half of bench/notify-latency.sh (read
that first). One dry-run daemon per case, reading standard input; latency
from a line's write() to the daemon's "would ban ADDR" log line."""

import argparse
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

CASES = ["none", "smtp-dead", "smtp-hanging", "webhook-hanging"]


def addr(i):
    return f"198.18.{i // 250}.{i % 250 + 1}"


def hanging_server():
    """Accepts connections and never answers; returns its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    held = []

    def serve():
        while True:
            conn, _ = listener.accept()
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def notify_section(case):
    mail = ("[notify.mail]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"bantam@example.org\"\n"
            "to = [\"ops@example.org\"]\n")
    if case == "smtp-dead":
        return mail.format(port=closed_port())
    if case == "smtp-hanging":
        return mail.format(port=hanging_server())
    if case == "webhook-hanging":
        return f"[notify.webhook]\nurl = \"http://127.0.0.1:{hanging_server()}/hook\"\n"
    return ""


def run(binary, case, count, interval):
    work = tempfile.mkdtemp(prefix="notify-latency.")
    sock = os.path.join(work, "bantam.sock")
    config = os.path.join(work, "bantam.toml")
    with open(config, "w") as f:
        f.write(f"[daemon]\nstate-dir = \"{work}/state\"\nserver-name = \"bench\"\n"
                "[jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"-\"]\nmaxretry = 1\n"
                "bantime = \"1h\"\n" + notify_section(case))
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    daemon = subprocess.Popen([binary, "run", "--dry-run", "--config", config, "--socket", sock],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    seen = {}
    started = threading.Event()

    def read():
        for raw in daemon.stderr:
            line = raw.decode(errors="replace")
            if "started:" in line:
                started.set()
            if "would ban " in line:
                seen[line.split("would ban ")[1].split()[0]] = time.monotonic()

    threading.Thread(target=read, daemon=True).start()
    if not started.wait(20):
        raise SystemExit(f"{case}: the daemon did not start")

    def send(a):
        daemon.stdin.write(f"Failed password for root from {a} port 4242 ssh2\n".encode())
        daemon.stdin.flush()

    send("198.19.0.1")                                  # warm-up
    deadline = time.monotonic() + 10
    while "198.19.0.1" not in seen and time.monotonic() < deadline:
        time.sleep(0.001)
    written = {}
    for i in range(count):
        a = addr(i)
        written[a] = time.monotonic()
        send(a)
        time.sleep(interval / 1000)
    deadline = time.monotonic() + 30
    while len([a for a in written if a in seen]) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    lat = sorted((seen[a] - t) * 1000 for a, t in written.items() if a in seen)
    status = subprocess.run([binary, "status", "--json", "--socket", sock],
                            capture_output=True, text=True)
    channels = json.loads(status.stdout or "{}").get("notify", [])
    subprocess.run([binary, "stop", "--socket", sock], capture_output=True)
    try:
        daemon.wait(15)
    except subprocess.TimeoutExpired:
        daemon.kill()
    return lat, channels


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bantam", required=True)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--interval-ms", type=float, default=5)
    args = ap.parse_args()
    print(f"ban latency, dry-run daemon, {args.count} bans {args.interval_ms:g} ms apart (ms)")
    print(f"{'case':<16} {'banned':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}  channel")
    for case in CASES:
        lat, channels = run(args.bantam, case, args.count, args.interval_ms)
        chan = "; ".join(f"{c['channel']}: sent {c['sent']}, given up {c['failed']}, "
                         f"dropped {c['dropped']}, queued {c['queued']}" for c in channels)
        print(f"{case:<16} {len(lat):>7} {pct(lat, .5):>7.2f} {pct(lat, .9):>7.2f} "
              f"{pct(lat, .99):>7.2f} {max(lat, default=float('nan')):>7.2f}  {chan or '-'}",
              flush=True)


if __name__ == "__main__":
    main()
