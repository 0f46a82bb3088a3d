#!/usr/bin/env python3
"""million.py: the measuring half of bench/million.sh (read that first).

  million.py bantam --bantam BIN --netns NS --work DIR --bans N [--mix] [--burst N]
  million.py fail2ban --netns NS --work DIR --bans N
  million.py report FILE.json ...

`bantam` fills a state database with N current bans, starts the daemon in
the namespace NS (created and deleted by the caller) with an empty kernel
table, and measures, in this order: restore (launch until READY=1, which
the daemon sends once the kernel holds every saved ban), RSS and database
size, `bantam banned --json` (time, peak RSS), reaction to a new attacker
with N bans in force (nft monitor, as ban_latency.py), and a burst of new
attackers in one write (until `status` counts them all, which the daemon
does only after the kernel took them). Figures go to stdout as one JSON
line. Standard library only; every wait is bounded.
"""

import argparse
import ipaddress
import json
import os
import re
import select
import socket
import sqlite3
import subprocess
import sys
import time

HOSTNAME = "bt-server"
V4_ADDRS = 1 << 17   # 198.18.0.0/15


def saved_target(i, mix):
    """The i-th saved ban: 198.18.0.0/15 first, then 2001:db8::/32. With
    `mix`, one in ten is a /64 and one in a hundred a /24 (of 512)."""
    if mix and i % 10 == 3:
        return "2001:db8:%x:%x::/64" % (0x8000 + (i >> 16), i & 0xFFFF)
    if mix and i % 100 == 7 and i // 100 < 512:
        return "198.%d.%d.0/24" % (18 + ((i // 100) >> 8), (i // 100) & 255)
    if i < V4_ADDRS:
        return "198.%d.%d.%d" % (18 + (i >> 16), (i >> 8) & 255, i & 255)
    return "2001:db8::%x:%x" % (i >> 16, i & 0xFFFF)


# New attackers each in a /64 of their own: the daemon counts IPv6 failures
# per /64 by default (`ipv6-prefix`), so addresses sharing one would be one
# attacker, one ban.
#
# A botnet's addresses arrive in no order: the i-th attacker's /64 is a
# fixed permutation of i (an odd multiplier is one modulo 2**20), so the
# store's indexes see random keys, as they do in a real attack, not the
# neighbours a counter would give.
def burst_addr(i):
    j = (i * 0x9E3779B1) & 0xFFFFF
    return "2001:db8:%x:%x::1" % (0x1000 + (j >> 16), j & 0xFFFF)


def probe_addr(i):
    # Every other /64: a network's end element is the next one's start,
    # which the monitor would take for that probe's ban.
    return "2001:db8:2:%x::1" % (2 * i + 1)


def log(msg):
    print(f"  {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def failure_line(addr, seq):
    stamp = time.strftime("%b %d %H:%M:%S")
    return (f"{stamp} {HOSTNAME} sshd[{10000 + seq % 50000}]: Failed password for root "
            f"from {addr} port {30000 + seq % 30000} ssh2\n")


def append(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        t = time.monotonic()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return t


def kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def percentile(values, p):
    if not values:
        return None
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


# ---------------------------------------------------------------------------
# bantam


def fill(db, n, mix):
    """N current bans ending in two hours, as the daemon writes them (a
    current ban is not in the history: that holds the bans that ended)."""
    now = int(time.time() * 1000)
    c = sqlite3.connect(db)
    c.execute("PRAGMA journal_mode=WAL")
    rows = [("sshd", saved_target(i, mix), now - 1000, now + 7_200_000, 1, 1, "")
            for i in range(n)]
    c.executemany("INSERT INTO bans (jail, target, start_ms, end_ms, failures, ban_count, "
                  "matches) VALUES (?,?,?,?,?,?,?)", rows)
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


def db_bytes(state):
    return sum(os.path.getsize(os.path.join(state, f)) for f in os.listdir(state)
               if f.startswith("bantam.db"))


class Daemon:
    def __init__(self, args, bantime="2h"):
        self.bin, self.ns, self.work = args.bantam, args.netns, args.work
        self.sock = os.path.join(self.work, "b.sock")
        self.log = os.path.join(self.work, "auth.log")
        self.state = os.path.join(self.work, "state")
        self.config = os.path.join(self.work, "b.toml")
        self.notify = os.path.join(self.work, "notify.sock")
        self.daemon_log = os.path.join(self.work, "daemon.log")
        open(self.log, "w").close()
        with open(self.config, "w") as f:
            f.write(f'[daemon]\nstate-dir = "{self.state}"\nsocket = "{self.sock}"\n'
                    f'[jails.sshd]\nfilter = "sshd"\nlogpath = ["{self.log}"]\nmaxretry = 1\n'
                    f'findtime = "10m"\nbantime = "{bantime}"\n')
        self.proc = None

    def start(self, timeout):
        """Launches the daemon; returns seconds until READY=1."""
        if os.path.exists(self.notify):
            os.unlink(self.notify)
        ready = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ready.bind(self.notify)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify)
        errf = open(self.daemon_log, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, self.bin, "run", "--config", self.config],
            stdin=subprocess.DEVNULL, stdout=errf, stderr=subprocess.STDOUT, env=env)
        deadline = t0 + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise BenchError(f"bantam exited with status {self.proc.returncode}")
                r, _, _ = select.select([ready], [], [], 0.5)
                if r and b"READY=1" in ready.recv(4096):
                    took = time.monotonic() - t0
                    self.pid = self.find_pid()
                    return took
            raise BenchError(f"no READY=1 within {timeout} s")
        finally:
            ready.close()

    def find_pid(self):
        # `ip netns exec` execs the binary: the pid is the daemon's.
        return self.proc.pid

    def ask(self, request, timeout=30):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(self.sock)
        s.sendall((json.dumps(request) + "\n").encode())
        answer = json.loads(s.makefile().readline())
        s.close()
        return answer

    def banned_now(self):
        status = self.ask({"command": "status"})
        return sum(j["currently_banned"] for j in status["data"]["jails"])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.ask({"command": "stop"}, timeout=10)
            except (OSError, ValueError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


LISTENER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)   # NETLINK_NETFILTER
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind((0, 1 << 6))                                         # NFNLGRP_NFTABLES
print("ready", flush=True)
while True:
    try:
        data = s.recv(1 << 16)
    except OSError:   # ENOBUFS: events were dropped (a flush of a million
        continue      # elements floods the group); the next ones still come
    now = time.monotonic()
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, off)
        if kind & 0xff == 12:                               # NFT_MSG_NEWSETELEM
            print("%.6f %s" % (now, data[off:off + length].hex()), flush=True)
        off += (length + 3) & ~3 or len(data)
"""


class Monitor:
    """A netlink listener in the namespace (nftables events): when each
    address was added. `nft monitor` is no use with a million elements in
    the table: it keeps its own copy and falls minutes behind."""

    def __init__(self, ns):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", LISTENER],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.proc.stdout.readline()
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buf, self.events = b"", []

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for raw in lines:
            t, hexed = raw.decode().split(" ", 1)
            self.events.append((float(t), hexed))

    def wait_for(self, addr, timeout):
        # The ban is of the address's /64 (the default `ipv6-prefix`): the
        # element starts at the network's first address.
        ip = ipaddress.ip_address(addr)
        if ip.version == 6:
            ip = ipaddress.ip_network(f"{addr}/64", strict=False).network_address
        key = ip.packed.hex()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, hexed in self.events:
                if key in hexed:
                    return t
            self.pump(deadline - time.monotonic())
        return None

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def probe(d, mon, i, lat):
    """Probe `i`: one failure line of a new attacker; its latency (ms,
    from the write until the kernel announced the element) joins `lat`."""
    addr = probe_addr(i)
    t = append(d.log, failure_line(addr, i).encode())
    seen = mon.wait_for(addr, 5.0)
    mon.events.clear()
    if seen is not None:
        lat.append((seen - t) * 1000.0)


def reaction(d, ns, count, interval, first=0):
    """`count` probes `interval` apart, numbered from `first`."""
    mon = Monitor(ns)
    lat = []
    try:
        for i in range(first, first + count):
            probe(d, mon, i, lat)
            time.sleep(interval)
    finally:
        mon.close()
    lat.sort()
    return {"probes": count, "seen": len(lat), "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99), "worst_ms": lat[-1] if lat else None}


def burst(d, n, timeout):
    before = d.banned_now()
    data = "".join(failure_line(burst_addr(i), i) for i in range(n)).encode()
    t0 = append(d.log, data)
    while time.monotonic() - t0 < timeout:
        if d.banned_now() >= before + n:
            return time.monotonic() - t0
        time.sleep(0.02)
    raise BenchError(f"burst of {n}: not all banned after {timeout} s")


def settle(state, timeout):
    """Seconds until the store has caught up with a burst: the kernel holds
    every ban first, and the writer commits the queued ones after (up to
    262,144 wait behind it). Caught up = database and WAL untouched for two
    seconds (modification times: a restarted WAL is rewritten from its
    start, its length unchanged); what they hold then is what the bans
    cost, not the WAL of a write still under way."""
    def touched():
        return [(f, os.stat(os.path.join(state, f)).st_mtime_ns)
                for f in sorted(os.listdir(state)) if f.startswith("bantam.db")]
    t0 = time.monotonic()
    last, still = touched(), 0
    while still < 4 and time.monotonic() - t0 < timeout:
        time.sleep(0.5)
        now = touched()
        still = still + 1 if now == last else 0
        last = now
    return time.monotonic() - t0 - 2.0


def banned_listing(d):
    out = os.path.join(d.work, "banned.json")
    times = os.path.join(d.work, "banned.time")
    t0 = time.monotonic()
    with open(out, "wb") as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", times, d.bin, "banned", "--json",
                        "--socket", d.sock], stdout=f, check=True, timeout=300)
    took = time.monotonic() - t0
    with open(times) as f:
        peak = int(f.read().split()[-1])
    with open(out) as f:
        count = len(json.load(f))
    return took, peak, count


def cmd_bantam(args):
    d = Daemon(args)
    res = {"tool": "bantam", "bans": args.bans, "mix": args.mix}
    # A first start creates the schema; the namespace's table goes with it.
    d.start(30)
    d.stop()
    fill(os.path.join(d.state, "bantam.db"), args.bans, args.mix)
    res["db_bytes_per_ban"] = db_bytes(d.state) / max(1, args.bans)
    subprocess.run(["ip", "netns", "exec", d.ns, "nft", "delete", "table", "inet", "bantam"],
                   stderr=subprocess.DEVNULL)
    try:
        res["restore_s"] = d.start(args.timeout)
        log(f"{args.bans} bans: ready after {res['restore_s']:.2f} s")
        # A restart, not a reboot: the kernel still holds every ban.
        d.stop()
        res["restart_s"] = d.start(args.timeout)
        log(f"{args.bans} bans, table full: ready after {res['restart_s']:.2f} s")
        time.sleep(1.0)   # actions and history: what waits after READY=1
        res["banned_after_restore"] = d.banned_now()
        res["rss_kb"] = kb(d.pid, "VmRSS")
        res["rss_per_ban"] = res["rss_kb"] * 1024 / max(1, args.bans)
        took, peak, count = banned_listing(d)
        res.update(banned_s=took, banned_cli_peak_kb=peak, banned_count=count)
        res["daemon_hwm_kb"] = kb(d.pid, "VmHWM")
        if args.ref_netns and args.bans > 0:
            res["reaction"], res["reaction_beside_empty"] = scenarios.paired_reaction(
                d, args, args.probes, 0.05)
        else:
            res["reaction"] = reaction(d, d.ns, args.probes, 0.05)
        log(f"reaction: {res['reaction']}")
        if args.burst:
            res["burst"] = args.burst
            res["burst_s"] = burst(d, args.burst, args.timeout)
            log(f"burst of {args.burst}: all banned after {res['burst_s']:.2f} s")
            res["rss_at_burst_end_kb"] = kb(d.pid, "VmRSS")
            res["db_at_burst_end_bytes"] = db_bytes(d.state)
            res["store_caught_up_s"] = settle(d.state, args.timeout)
            res["rss_after_burst_kb"] = kb(d.pid, "VmRSS")
            res["db_after_burst_bytes"] = db_bytes(d.state)
    finally:
        d.stop()
    print(json.dumps(res), flush=True)


# ---------------------------------------------------------------------------
# fail2ban


def cmd_fail2ban(args):
    """fail2ban 1.0.2 restoring N bans from its database with the nftables
    action: time from start until the kernel set holds them all."""
    work, ns = args.work, args.netns
    # The installed configuration, copied, with no jail but ours.
    subprocess.run(["cp", "-a", "/etc/fail2ban/.", work], check=True)
    subprocess.run(["sh", "-c", f"rm -f {work}/jail.d/* {work}/jail.local"], check=True)
    os.makedirs(os.path.join(work, "run"), exist_ok=True)
    logpath = os.path.join(work, "auth.log")
    open(logpath, "w").close()
    db = os.path.join(work, "f2b.sqlite3")
    sock = os.path.join(work, "run", "f2b.sock")
    with open(os.path.join(work, "fail2ban.local"), "w") as f:
        f.write(f"[Definition]\nloglevel = INFO\nlogtarget = {work}/f2b.log\n"
                f"socket = {sock}\npidfile = {work}/run/f2b.pid\ndbfile = {db}\n"
                "dbpurgeage = 30d\n")
    with open(os.path.join(work, "jail.local"), "w") as f:
        f.write("[DEFAULT]\nbanaction = nftables-multiport\nbackend = polling\n"
                f"[sshd]\nenabled = true\nlogpath = {logpath}\nport = 22\n"
                "maxretry = 1\nbantime = 2h\nfindtime = 10m\n")
    client = ["ip", "netns", "exec", ns, "fail2ban-client", "-c", work, "-s", sock]

    def start():
        subprocess.run(client + ["-b", "start"], check=True, capture_output=True, timeout=60)

    def stop():
        subprocess.run(client + ["stop"], capture_output=True, timeout=120)

    start()
    for _ in range(100):
        if subprocess.run(client + ["ping"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    stop()
    now = int(time.time())
    c = sqlite3.connect(db)
    rows = [("sshd", saved_target(i, False), now - 1, 7200, 1,
             '{"matches": [], "failures": 1}') for i in range(args.bans)]
    c.executemany("INSERT INTO bans (jail, ip, timeofban, bantime, bancount, data) "
                  "VALUES (?,?,?,?,?,?)", rows)
    c.execute("INSERT OR REPLACE INTO bips (ip, jail, timeofban, bantime, bancount, data) "
              "SELECT ip, jail, timeofban, bantime, bancount, data FROM bans")
    c.commit()
    c.close()
    subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "ruleset"], check=True)
    t0 = time.monotonic()
    start()
    done = None
    try:
        while time.monotonic() - t0 < args.timeout:
            time.sleep(5)
            p = subprocess.run(client + ["status", "sshd"], capture_output=True, text=True)
            m = re.search(r"Currently banned:\s*(\d+)", p.stdout)
            got = int(m.group(1)) if m else 0
            log(f"fail2ban: {got} of {args.bans} after {time.monotonic() - t0:.0f} s")
            if got >= args.bans:
                done = time.monotonic() - t0
                break
    finally:
        stop()
    print(json.dumps({"tool": "fail2ban", "bans": args.bans, "restore_s": done}), flush=True)


# ---------------------------------------------------------------------------
# report


def cmd_report(args):
    rows = [json.loads(line) for path in args.files for line in open(path) if line.strip()]
    print("| saved bans | kind | restore → READY=1 | restart (table full) → READY=1 | "
          "burst of N new → all banned | "
          "reaction p50 / p99 | RSS (per ban) | database (per ban) | `banned --json` "
          "(CLI peak RSS) | after the burst, store caught up: RSS / database (per ban in force) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["tool"] in ("wave", "ops"):
            continue
        if r["tool"] == "fail2ban":
            s = r["restore_s"]
            print(f"| {r['bans']:,} | fail2ban 1.0.2 | "
                  f"{'%.0f s' % s if s else 'not done'} | | | | | | | |")
            continue
        re_ = r.get("reaction", {})
        burst = f"{r['burst_s']:.2f} s ({r['burst']:,})" if r.get("burst_s") else "—"
        fmt = (lambda v: "%.2f" % v if v is not None else "—")
        restart = f"{r['restart_s']:.2f} s" if r.get("restart_s") is not None else "—"
        print(f"| {r['bans']:,} | {'mix' if r['mix'] else 'addresses'} | {r['restore_s']:.2f} s | "
              f"{restart} | "
              f"{burst} | {fmt(re_.get('p50_ms'))} / {fmt(re_.get('p99_ms'))} ms{scenarios.beside(r)} | "
              f"{r['rss_kb'] / 1024:.0f} MB ({r['rss_per_ban']:.0f} B) | "
              f"{r['db_bytes_per_ban'] * r['bans'] / 1e6:.1f} MB "
              f"({r['db_bytes_per_ban']:.0f} B) | {r['banned_s']:.2f} s "
              f"({r['banned_cli_peak_kb'] / 1024:.0f} MB) | {after_burst(r)} |")
    scenarios.report_waves(rows)
    scenarios.report_ops(rows)


def after_burst(r):
    """RSS and database once the burst's bans are in force too and the
    store has caught up: these bans carry what the daemon writes for real
    ones (the matched line, a history row), which the saved bans of `fill`
    do not."""
    if not r.get("burst_s"):
        return "—"
    n = r["bans"] + r["burst"]
    rss = r["rss_after_burst_kb"] * 1024
    db = r["db_after_burst_bytes"]
    return f"{rss / 2**20:.0f} MB ({rss / n:.0f} B) / {db / 1e6:.0f} MB ({db / n:.0f} B)"


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bantam")
    b.add_argument("--bantam", required=True)
    for q in (b, sub.add_parser("fail2ban")):
        q.add_argument("--netns", required=True)
        q.add_argument("--work", required=True)
        q.add_argument("--bans", type=int, required=True)
        q.add_argument("--timeout", type=float, default=600)
    b.add_argument("--mix", action="store_true")
    b.add_argument("--burst", type=int, default=0)
    b.add_argument("--probes", type=int, default=1000)
    b.add_argument("--ref-netns", help="probe an empty-table daemon there in turn")
    for name in ("wave", "ops"):
        q = sub.add_parser(name)
        q.add_argument("--bantam", required=True)
        q.add_argument("--netns", required=True)
        q.add_argument("--work", required=True)
        q.add_argument("--bans", type=int, required=True)
        q.add_argument("--timeout", type=float, default=600)
        if name == "wave":
            q.add_argument("--bantime", type=int, default=30)
    r = sub.add_parser("report")
    r.add_argument("files", nargs="+")
    args = p.parse_args()
    try:
        commands = {"bantam": cmd_bantam, "wave": scenarios.cmd_wave, "ops": scenarios.cmd_ops,
                    "fail2ban": cmd_fail2ban, "report": cmd_report}
        commands[args.cmd](args)
    except BenchError as e:
        print(f"million.py: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    # One module, whichever name it runs under: the scenarios import it.
    sys.modules.setdefault("million", sys.modules["__main__"])
    import million_scenarios as scenarios
    main()
else:
    import million_scenarios as scenarios
