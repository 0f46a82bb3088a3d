#!/usr/bin/env python3
"""ban_latency.py: the measuring half of bench/ban-latency.sh (read that first).

  ban_latency.py run --tool bantam|fail2ban --test latency|burst|idle \
      --netns NS --work DIR --out FILE.json [--bantam BIN] [options]
  ban_latency.py report [--targets-only-bantam] FILE.json ...

`run` writes a private configuration into DIR, starts the daemon inside the
network namespace NS (which the caller created and deletes), runs one test,
stops the daemon and writes the figures as JSON. Ban times come from
`nft monitor`, run in the same namespace and read line by line here, every
read stamped with time.monotonic(). `report` prints the table.

Standard library only. Every wait is bounded; every process started here is
stopped here (and the caller also kills whatever is left in the namespace).
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HOSTNAME = "bt-server"

# Addresses: only 198.18.0.0/15 (RFC 2544 benchmarking).
PROBE_TABLE = "bantam_bench_probe"     # our own table, for probes
PROBE_ADDR = "198.18.255.254"          # the monitor's readiness probe


def calib_addr(i):                     # i < 1000
    return f"198.18.{250 + i // 250}.{i % 250 + 1}"


def warmup_addr(k):
    return f"198.18.0.{k + 1}"


def latency_addr(i):                   # i < 250 * 200
    return f"198.18.{1 + i // 250}.{i % 250 + 1}"


def burst_addr(i):                     # i < 250 * 256
    return f"198.19.{i // 250}.{i % 250 + 1}"


def log(msg):
    print(f"  {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


class Terminated(BaseException):
    pass


def on_sigterm(_signo, _frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # clean up once, undisturbed
    raise Terminated()


# ---------------------------------------------------------------------------
# log lines


def stamp(date_format):
    if date_format == "rfc3339":
        now = time.time()
        t = time.localtime(now)
        off = t.tm_gmtoff
        sign = "+" if off >= 0 else "-"
        off = abs(off)
        frac = int((now % 1) * 1e6)
        return (time.strftime("%Y-%m-%dT%H:%M:%S", t)
                + f".{frac:06d}{sign}{off // 3600:02d}:{off % 3600 // 60:02d}")
    t = time.localtime()
    return f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def failure_line(addr, seq, date_format):
    pid = 10000 + seq % 50000
    port = 30000 + seq % 30000
    return (f"{stamp(date_format)} {HOSTNAME} sshd[{pid}]: Failed password for root "
            f"from {addr} port {port} ssh2\n")


def append(path, data):
    """Open, append, write, close: as syslog does. Returns the monotonic time
    taken just before the write() call."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        t = time.monotonic()
        n = os.write(fd, data)
    finally:
        os.close(fd)
    if n != len(data):
        raise BenchError(f"short write to {path}: {n} of {len(data)} bytes")
    return t


# ---------------------------------------------------------------------------
# nft monitor

ELEM_RE = re.compile(r"^add element (\S+) (\S+) (\S+) \{ (.*) \}\s*$")


class Monitor:
    """`nft monitor` in the namespace; `seen` maps address -> first time seen
    in an `add element` event of one of the watched (table, set)s."""

    def __init__(self, netns, family, table, sets, errlog, rawlog=None):
        self.family, self.table, self.sets = family, table, set(sets)
        self.seen = {}
        self.other = {}                # (table, set) -> count, for diagnostics
        self.lost = 0
        self.buf = b""
        self.probe = {}                # our own probe table's elements
        self.errf = open(errlog, "wb")
        # Every line as read, with its stamp (ms since the monitor started).
        self.raw = open(rawlog, "w", buffering=1 << 16) if rawlog else None
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "nft", "monitor"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.errf,
            start_new_session=True)
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)

    def pump(self, timeout):
        """Waits up to `timeout` seconds for output; handles what is there.
        Returns the number of newly seen watched addresses."""
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return 0
        new = 0
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                break
            now = time.monotonic()
            if not chunk:
                raise BenchError(f"nft monitor exited (status {self.proc.poll()})")
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
            for raw in lines:
                text = raw.decode("utf-8", "replace")
                new += self._line(text, now)
                if self.raw:
                    self.raw.write(f"{(now - self.t_start) * 1000.0:12.3f} {text}\n")
            if len(chunk) < (1 << 20):
                break
        return new

    def _line(self, line, now):
        if line.startswith("# ERROR"):
            self.lost += 1
            return 0
        m = ELEM_RE.match(line)
        if not m:
            return 0
        family, table, sname, body = m.groups()
        addrs = [e.strip().split(" ", 1)[0] for e in body.split(",")]
        if table == PROBE_TABLE:
            for a in addrs:
                self.probe.setdefault(a, now)
            return 0
        if family != self.family or table != self.table or sname not in self.sets:
            self.other[f"{family} {table} {sname}"] = self.other.get(f"{family} {table} {sname}", 0) + len(addrs)
            return 0
        new = 0
        for a in addrs:
            if a not in self.seen:
                self.seen[a] = now
                new += 1
        return new

    def wait(self, pred, timeout):
        """Pumps until pred() or timeout; returns pred()."""
        deadline = time.monotonic() + timeout
        while not pred():
            rem = deadline - time.monotonic()
            if rem <= 0:
                return pred()
            self.pump(min(rem, 0.5))
        return True

    def ready(self, netns, timeout=10.0):
        """Proves the monitor is listening (and its output not buffered): adds
        an element to a throw-away table and waits for the event."""
        script = (f"add table inet {PROBE_TABLE}\n"
                  f"add set inet {PROBE_TABLE} probe {{ type ipv4_addr; }}\n"
                  f"add element inet {PROBE_TABLE} probe {{ {PROBE_ADDR} }}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"nft monitor exited with status {self.proc.returncode}")
            nft(netns, f"delete table inet {PROBE_TABLE}", check=False)
            nft(netns, script, stdin=True)
            if self.wait(lambda: PROBE_ADDR in self.probe, 1.0):
                nft(netns, f"delete table inet {PROBE_TABLE}", check=False)
                self.pump(0.05)
                return
        raise BenchError("nft monitor never reported the probe element")

    def close(self):
        stop_process(self.proc, "nft monitor", grace=2.0)
        self.errf.close()
        if self.raw:
            self.raw.close()


def nft(netns, text, stdin=False, check=True, timeout=20):
    if stdin:
        argv = ["ip", "netns", "exec", netns, "nft", "-f", "-"]
        p = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=timeout)
    else:
        argv = ["ip", "netns", "exec", netns, "nft"] + text.split()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise BenchError(f"nft {text!r} failed: {p.stderr.strip()}")
    return p


def set_size(netns, family, table, sets):
    """Elements in the sets now (nft list set), or None if unreadable."""
    total = 0
    for s in sets:
        p = nft(netns, f"list set {family} {table} {s}", check=False)
        if p.returncode != 0:
            continue
        m = re.search(r"elements = \{(.*?)\}", p.stdout, re.S)
        if m:
            total += len([e for e in m.group(1).split(",") if e.strip()])
    return total


# ---------------------------------------------------------------------------
# processes


def stop_process(proc, name, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` seconds; bounded."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {proc.pid}) ignored SIGTERM for {grace:.0f} s: SIGKILL")
        proc.kill()
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no output)"


def daemon_pid(proc, comm_prefixes):
    """`ip netns exec` execs the command (no fork), so the pid is the
    daemon's; this checks it (and looks at children just in case)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            comm = open(f"/proc/{proc.pid}/comm").read().strip()
        except OSError:
            raise BenchError(f"the daemon (pid {proc.pid}) is gone")
        if any(comm.startswith(c) for c in comm_prefixes):
            return proc.pid
        time.sleep(0.02)
    raise BenchError(f"pid {proc.pid} runs {comm!r}, not the daemon: cannot measure it")


class Bantam:
    name = "bantam"
    family, table, sets = "inet", "bantam", ("addr4", "addr6")

    def __init__(self, binary, netns, work, logs):
        self.bin, self.netns, self.work, self.logs = binary, netns, work, logs
        self.socket = os.path.join(work, "bantam.sock")
        self.config = os.path.join(work, "bantam.toml")
        self.stderr_path = os.path.join(work, "bantam.stderr")
        self.proc = None
        jails = []
        for k, path in enumerate(logs):
            name = "sshd" if k == 0 else f"sshd{k + 1}"
            jails.append(
                f'[jails.{name}]\nfilter = "sshd"\nlogpath = ["{path}"]\nmaxretry = 1\n'
                f'findtime = "10m"\nbantime = "1h"\nignoreip = ["127.0.0.0/8"]\n')
        with open(self.config, "w") as f:
            f.write(f'[daemon]\nstate-dir = "{os.path.join(work, "state")}"\n'
                    f'socket = "{self.socket}"\n\n' + "\n".join(jails))

    def cli(self, *args, timeout=5):
        return subprocess.run([self.bin, *args, "--socket", self.socket],
                              capture_output=True, text=True, timeout=timeout)

    def start(self, timeout=20.0):
        self.errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, self.bin, "run", "--config", self.config],
            stdin=subprocess.DEVNULL, stdout=self.errf, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"bantam run exited with status {self.proc.returncode}:\n"
                                 + tail(self.stderr_path))
            if os.path.exists(self.socket):
                try:
                    if self.cli("status").returncode == 0:
                        self.pid = daemon_pid(self.proc, ("bantam",))
                        return
                except subprocess.TimeoutExpired:
                    pass
            time.sleep(0.05)
        raise BenchError(f"bantam's control socket did not answer within {timeout:.0f} s:\n"
                         + tail(self.stderr_path))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.cli("stop", timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log("bantam did not stop within 10 s of `bantam stop`")
            stop_process(self.proc, "bantam")
        self.errf.close()

    def banned_count(self):
        try:
            p = self.cli("banned", "--json")
            return len(json.loads(p.stdout)) if p.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError, TypeError):
            return None

    def diagnostics(self):
        return tail(self.stderr_path)


class Fail2ban:
    name = "fail2ban"
    family, table = "inet", "f2b-table"

    def __init__(self, netns, work, logs, backend="pyinotify"):
        self.netns, self.work, self.logs = netns, work, logs
        self.conf = os.path.join(work, "fail2ban")
        self.socket = os.path.join(work, "f2b.sock")
        self.pidfile = os.path.join(work, "f2b.pid")
        self.logfile = os.path.join(work, "fail2ban.log")
        self.stderr_path = os.path.join(work, "fail2ban.stderr")
        self.backend = backend
        self.proc = None
        self.jails = ["sshd" if k == 0 else f"sshd{k + 1}" for k in range(len(logs))]
        self.sets = tuple(f"addr-set-{j}" for j in self.jails)
        shutil.copytree("/etc/fail2ban", self.conf, symlinks=True)
        # Only the jails written here: Debian's jail.d enables sshd on the
        # real auth.log.
        jd = os.path.join(self.conf, "jail.d")
        for entry in os.listdir(jd):
            p = os.path.join(jd, entry)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        with open(os.path.join(self.conf, "fail2ban.local"), "w") as f:
            f.write(f"[DEFAULT]\nloglevel = INFO\nlogtarget = {self.logfile}\n"
                    f"socket = {self.socket}\npidfile = {self.pidfile}\n"
                    f"dbfile = {os.path.join(work, 'f2b.sqlite3')}\n\n"
                    f"[Definition]\nloglevel = INFO\nlogtarget = {self.logfile}\n"
                    f"socket = {self.socket}\npidfile = {self.pidfile}\n"
                    f"dbfile = {os.path.join(work, 'f2b.sqlite3')}\n")
        jails = []
        for j, path in zip(self.jails, logs):
            jails.append(f"[{j}]\nenabled = true\nfilter = sshd\nport = ssh\nlogpath = {path}\n"
                         f"backend = {backend}\n")
        with open(os.path.join(self.conf, "jail.local"), "w") as f:
            f.write("[DEFAULT]\nbackend = " + backend + "\nbanaction = nftables-multiport\n"
                    "banaction_allports = nftables-allports\nmaxretry = 1\nfindtime = 10m\n"
                    "bantime = 1h\nignoreip = 127.0.0.0/8 ::1\nusedns = no\n\n" + "\n".join(jails))

    def client(self, *args, timeout=10):
        return subprocess.run(["fail2ban-client", "-c", self.conf, "-s", self.socket, *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self, timeout=60.0):
        self.errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "fail2ban-server", "-f", "-x",
             "-c", self.conf, "-s", self.socket, "-p", self.pidfile,
             "--logtarget", self.logfile, "--loglevel", "INFO"],
            stdin=subprocess.DEVNULL, stdout=self.errf, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"fail2ban-server exited with status {self.proc.returncode}:\n"
                                 + tail(self.stderr_path) + "\n" + tail(self.logfile))
            if os.path.exists(self.socket):
                try:
                    p = self.client("status")
                    m = re.search(r"Number of jail:\s*(\d+)", p.stdout)
                    if p.returncode == 0 and m and int(m.group(1)) == len(self.jails):
                        self.pid = daemon_pid(self.proc, ("fail2ban", "python"))
                        return
                except subprocess.TimeoutExpired:
                    pass
            time.sleep(0.1)
        raise BenchError(f"fail2ban did not report {len(self.jails)} jail(s) within {timeout:.0f} s:\n"
                         + tail(self.logfile))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.client("stop", timeout=15)
        except (subprocess.TimeoutExpired, OSError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log("fail2ban-server did not stop within 15 s of `fail2ban-client stop`")
            stop_process(self.proc, "fail2ban-server")
        self.errf.close()

    def banned_count(self):
        try:
            p = self.client("status", "sshd")
            m = re.search(r"Currently banned:\s*(\d+)", p.stdout)
            return int(m.group(1)) if m else None
        except subprocess.TimeoutExpired:
            return None

    def diagnostics(self):
        return tail(self.logfile)


# ---------------------------------------------------------------------------
# the tests


def percentile(sorted_values, p):
    """Nearest rank."""
    if not sorted_values:
        return None
    k = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(k) - 1]


def warm_up(daemon, mon, logpath, args, timeout):
    """One ban before measuring: proves the whole path works and leaves
    fail2ban's on-demand table creation out of the figures."""
    for k in range(3):
        addr = warmup_addr(k)
        t0 = append(logpath, failure_line(addr, k, args.date).encode())
        if mon.wait(lambda: addr in mon.seen, timeout):
            return (mon.seen[addr] - t0) * 1000.0
        log(f"warm-up: {addr} not banned within {timeout:.0f} s")
        timeout = 5.0
    raise BenchError(f"{daemon.name} never banned a warm-up address "
                     f"(monitor saw {len(mon.seen)} watched, other sets {mon.other}, "
                     f"lost-event errors {mon.lost}); daemon says banned={daemon.banned_count()}\n"
                     f"--- {daemon.name} output (tail) ---\n{daemon.diagnostics()}")


def calibrate(mon, netns, count, interval):
    """The harness's own floor: a long-lived `nft -i` in the namespace adds
    elements to our probe table; time from writing the command to its pipe
    until the monitor reports the element. This is netlink + nft monitor +
    this script, plus nft's own parsing: an upper bound on what the
    measuring path adds to a daemon's figure."""
    count = min(count, 1000)
    mon.probe.clear()
    nft(netns, f"add table inet {PROBE_TABLE}\nadd set inet {PROBE_TABLE} calib {{ type ipv4_addr; flags timeout; timeout 1h; }}\n",
        stdin=True)
    p = subprocess.Popen(["ip", "netns", "exec", netns, "nft", "-i"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sent = {}
    try:
        nxt = time.monotonic() + 0.1
        for i in range(count):
            while True:
                rem = nxt - time.monotonic()
                if rem <= 0:
                    break
                mon.pump(rem)
            addr = calib_addr(i)
            cmd = f"add element inet {PROBE_TABLE} calib {{ {addr} }}\n".encode()
            sent[addr] = time.monotonic()
            p.stdin.write(cmd)
            p.stdin.flush()
            nxt += interval
        mon.wait(lambda: all(a in mon.probe for a in sent), 5.0)
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        stop_process(p, "nft -i", grace=2.0)
        nft(netns, f"delete table inet {PROBE_TABLE}", check=False)
    lat = sorted((mon.probe[a] - t) * 1000.0 for a, t in sent.items() if a in mon.probe)
    return {"floor_seen": len(lat), "floor_sent": len(sent), "floor_p50_ms": percentile(lat, 50),
            "floor_p99_ms": percentile(lat, 99), "floor_max_ms": lat[-1] if lat else None}


def calibrate_burst(mon, netns, count, timeout=30.0):
    """The harness's floor for a burst: `count` elements in one command (one
    netlink batch) to a long-lived `nft -i`; time until the monitor printed
    the first and the last. nft monitor prints one line per element, so the
    spread between first and last is mostly its own printing rate."""
    mon.probe.clear()
    nft(netns, f"add table inet {PROBE_TABLE}\nadd set inet {PROBE_TABLE} calib {{ type ipv4_addr; flags timeout; timeout 1h; }}\n",
        stdin=True)
    p = subprocess.Popen(["ip", "netns", "exec", netns, "nft", "-i"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    addrs = [burst_addr(i) for i in range(count)]
    try:
        p.stdin.write(f"add element inet {PROBE_TABLE} calib {{ {PROBE_ADDR} }}\n".encode())
        p.stdin.flush()
        if not mon.wait(lambda: PROBE_ADDR in mon.probe, 5.0):
            raise BenchError("nft -i did not add the probe element")
        cmd = f"add element inet {PROBE_TABLE} calib {{ {', '.join(addrs)} }}\n".encode()
        t0 = time.monotonic()
        p.stdin.write(cmd)
        p.stdin.flush()
        mon.wait(lambda: len(mon.probe) > count, timeout)
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        stop_process(p, "nft -i", grace=2.0)
        nft(netns, f"delete table inet {PROBE_TABLE}", check=False)
    times = sorted((mon.probe[a] - t0) * 1000.0 for a in addrs if a in mon.probe)
    return {"floor_seen": len(times), "floor_first_ms": times[0] if times else None,
            "floor_last_ms": times[-1] if times else None}


def test_latency(daemon, mon, logpath, args):
    res = {"first_ban_ms": warm_up(daemon, mon, logpath, args, args.warmup_timeout)}
    sent = {}
    interval = args.interval_ms / 1000.0
    nxt = time.monotonic() + 0.1
    for i in range(args.count):
        while True:
            rem = nxt - time.monotonic()
            if rem <= 0:
                break
            mon.pump(rem)
        addr = latency_addr(i)
        sent[addr] = append(logpath, failure_line(addr, 100 + i, args.date).encode())
        nxt += interval
    last_sent = time.monotonic()
    mon.wait(lambda: all(a in mon.seen for a in sent), args.tail_timeout)
    lat = sorted((mon.seen[a] - t) * 1000.0 for a, t in sent.items() if a in mon.seen)
    res.update({
        "sent": len(sent), "seen": len(lat),
        "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
        "p99_ms": percentile(lat, 99), "max_ms": lat[-1] if lat else None,
        "min_ms": lat[0] if lat else None,
        "waited_after_last_write_s": round(time.monotonic() - last_sent, 3),
        "lost_event_errors": mon.lost,
        # in the order sent; None: never seen
        "latencies_ms": [round((mon.seen[a] - t) * 1000.0, 3) if a in mon.seen else None
                         for a, t in sent.items()],
    })
    return res


def test_burst(daemon, mon, logpath, args):
    res = {"first_ban_ms": warm_up(daemon, mon, logpath, args, args.warmup_timeout)}
    addrs = [burst_addr(i) for i in range(args.lines)]
    data = "".join(failure_line(a, 1000 + i, args.date) for i, a in enumerate(addrs)).encode()
    mon.pump(0.2)
    t0 = append(logpath, data)
    deadline = t0 + args.burst_timeout
    want = set(addrs)
    got = 0
    last_progress = time.monotonic()
    next_note = t0 + 10
    while True:
        now = time.monotonic()
        if got == len(want) or now >= deadline:
            break
        if now - last_progress > args.burst_stall:
            log(f"burst: no new ban for {args.burst_stall:.0f} s; stopping at {got}")
            break
        n = mon.pump(min(deadline - now, 0.5))
        if n:
            got += n                   # only burst addresses are new now
            last_progress = time.monotonic()
        if now >= next_note:
            log(f"burst: {got} of {len(want)} after {now - t0:.0f} s")
            next_note += 10
    times = sorted((mon.seen[a] - t0) * 1000.0 for a in addrs if a in mon.seen)
    res.update({
        "lines": len(addrs), "bytes": len(data), "seen": len(times),
        "first_ms": times[0] if times else None,
        "half_ms": times[len(addrs) // 2 - 1] if len(times) >= len(addrs) // 2 else None,
        "last_ms": times[-1] if times else None,
        "all_ms": times[-1] if len(times) == len(addrs) else None,
        "gave_up_after_s": None if len(times) == len(addrs) else round(time.monotonic() - t0, 1),
        "lost_event_errors": mon.lost,
        "in_sets_at_end": set_size(args.netns, daemon.family, daemon.table, daemon.sets),
        "daemon_banned_at_end": daemon.banned_count(),
    })
    return res


def task_switches(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                txt = f.read()
        except OSError:
            continue
        v = int(re.search(r"^voluntary_ctxt_switches:\s*(\d+)", txt, re.M).group(1))
        n = int(re.search(r"^nonvoluntary_ctxt_switches:\s*(\d+)", txt, re.M).group(1))
        out[tid] = (v, n)
    return out


def mem_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        txt = f.read()
    get = lambda k: int(re.search(rf"^{k}:\s*(\d+) kB", txt, re.M).group(1))
    return get("VmRSS"), get("VmHWM")


def test_idle(daemon, args):
    pid = daemon.pid
    time.sleep(args.settle)
    if daemon.proc.poll() is not None:
        raise BenchError(f"{daemon.name} exited while settling:\n{daemon.diagnostics()}")
    before = task_switches(pid)
    t0 = time.monotonic()
    time.sleep(args.idle_seconds)
    after = task_switches(pid)
    elapsed = time.monotonic() - t0
    rss, hwm = mem_kb(pid)
    if daemon.proc.poll() is not None:
        raise BenchError(f"{daemon.name} exited during the idle window:\n{daemon.diagnostics()}")
    vol = sum(v for v, _ in after.values()) - sum(before[t][0] for t in after if t in before)
    inv = sum(n for _, n in after.values()) - sum(before[t][1] for t in after if t in before)
    per_thread = {t: (after[t][0] + after[t][1]) - sum(before.get(t, (0, 0))) for t in after}
    return {
        "pid": pid, "jails": len(daemon.logs), "seconds": round(elapsed, 2),
        "wakeups": vol + inv, "voluntary": vol, "nonvoluntary": inv,
        "threads_before": len(before), "threads_after": len(after),
        "threads_exited": len(set(before) - set(after)),
        "busiest_threads": sorted(per_thread.values(), reverse=True)[:4],
        "vmrss_kb": rss, "vmhwm_kb": hwm,
    }


def cmd_run(args):
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGHUP, on_sigterm)
    os.makedirs(args.work, exist_ok=True)
    nlogs = 3 if args.test == "idle" else 1
    logs = []
    for k in range(nlogs):
        p = os.path.join(args.work, "auth.log" if k == 0 else f"auth{k + 1}.log")
        open(p, "w").close()
        logs.append(p)
    if args.tool == "bantam":
        daemon = Bantam(args.bantam, args.netns, args.work, logs)
    else:
        daemon = Fail2ban(args.netns, args.work, logs, backend=args.f2b_backend)
    result = {"tool": args.tool, "test": args.test, "ok": False}
    if args.tool == "fail2ban":
        result["backend"] = args.f2b_backend
    mon = None
    try:
        if args.test != "idle":
            mon = Monitor(args.netns, daemon.family, daemon.table, daemon.sets,
                          os.path.join(args.work, "monitor.stderr"),
                          os.path.join(args.work, "monitor.log"))
            mon.ready(args.netns)
        result["loadavg_before"] = open("/proc/loadavg").read().split()[:3]
        if args.test == "latency":
            result.update(calibrate(mon, args.netns, args.count, args.interval_ms / 1000.0))
        elif args.test == "burst":
            result.update(calibrate_burst(mon, args.netns, args.lines))
        t = time.monotonic()
        daemon.start()
        result["startup_s"] = round(time.monotonic() - t, 3)
        if args.test == "latency":
            result.update(test_latency(daemon, mon, logs[0], args))
        elif args.test == "burst":
            result.update(test_burst(daemon, mon, logs[0], args))
        else:
            result.update(test_idle(daemon, args))
        if daemon.proc.poll() is not None:
            raise BenchError(f"{daemon.name} exited during the test:\n{daemon.diagnostics()}")
        result["ok"] = True
    except BenchError as e:
        result["error"] = str(e)
        print(f"ban_latency: {args.tool} {args.test}: {e}", file=sys.stderr)
    except (KeyboardInterrupt, Terminated):
        result["error"] = "interrupted"
        raise
    finally:
        try:
            daemon.stop()
        finally:
            if mon:
                mon.close()
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
    return 0 if result["ok"] else 1


# ---------------------------------------------------------------------------
# the report


def fmt_ms(v):
    if v is None:
        return "-"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def cmd_report(args):
    res = {}
    for path in args.files:
        try:
            with open(path) as f:
                r = json.load(f)
            res[(r["tool"], r["test"])] = r
        except (OSError, ValueError, KeyError):
            continue
    tools = [t for t in ("bantam", "fail2ban") if any(k[0] == t for k in res)]
    rows = []   # (metric, {tool: text}, target text, missed?)

    def get(tool, test):
        r = res.get((tool, test))
        if r is None:
            return None, "not run"
        if not r.get("ok"):
            return r, "FAILED"
        return r, None

    def row(metric, test, fn, target="", check=None):
        cells = {}
        verdict = ""
        for t in tools:
            r, bad = get(t, test)
            if bad:
                cells[t] = bad if bad == "FAILED" else "-"
                if t == "bantam" and check and bad == "FAILED":
                    verdict = "MISSED"
                continue
            cells[t] = fn(r)
            if t == "bantam" and check:
                verdict = check(r)
        rows.append((metric, cells, target, verdict))

    def aim(ok, aimed):
        return ("ok, aim met" if aimed else "ok") if ok else "MISSED"

    tests = {k[1] for k in res}
    if "latency" in tests:
        row("latency: bans seen", "latency", lambda r: f"{r['seen']}/{r['sent']}")
        row("latency p50 (ms)", "latency", lambda r: fmt_ms(r["p50_ms"]))
        row("latency p90 (ms)", "latency", lambda r: fmt_ms(r["p90_ms"]))
        row("latency p99 (ms)", "latency", lambda r: fmt_ms(r["p99_ms"]), "<= 2 (aim 1)",
            lambda r: aim(r["seen"] == r["sent"] and r["p99_ms"] is not None and r["p99_ms"] <= 2,
                          r["p99_ms"] is not None and r["p99_ms"] <= 1))
        row("latency max (ms)", "latency", lambda r: fmt_ms(r["max_ms"]))
        row("first ban after start (ms)", "latency", lambda r: fmt_ms(r["first_ban_ms"]))
        row("harness floor p50/p99 (ms)", "latency",
            lambda r: f"{fmt_ms(r['floor_p50_ms'])}/{fmt_ms(r['floor_p99_ms'])}")
    if "burst" in tests:
        row("burst: bans seen", "burst", lambda r: f"{r['seen']}/{r['lines']}", "all",
            lambda r: aim(r["seen"] == r["lines"], True))
        row("burst: time to last (ms)", "burst",
            lambda r: fmt_ms(r["last_ms"]) + ("" if r["seen"] == r["lines"] else " (partial)"),
            "<= 1000 (aim 100)",
            lambda r: aim(r["all_ms"] is not None and r["all_ms"] <= 1000,
                          r["all_ms"] is not None and r["all_ms"] <= 100))
        row("burst: time to first (ms)", "burst", lambda r: fmt_ms(r["first_ms"]))
        row("burst: time to half (ms)", "burst", lambda r: fmt_ms(r["half_ms"]))
        row("harness floor last-first (ms)", "burst",
            lambda r: fmt_ms(r["floor_last_ms"] - r["floor_first_ms"]) if r["floor_seen"] == r["lines"]
            else f"({r['floor_seen']} seen)")
    if "idle" in tests:
        row("idle: wakeups in window", "idle",
            lambda r: f"{r['wakeups']} ({r['seconds']:.0f} s)", "<= 2 in 20 s",
            lambda r: aim(r["wakeups"] * 20.0 / max(r["seconds"], 1e-9) <= 2, True))
        row("idle: threads", "idle", lambda r: str(r["threads_after"]))
        row("idle: VmRSS (MB)", "idle", lambda r: f"{r['vmrss_kb'] / 1024:.1f}", "<= 16",
            lambda r: aim(r["vmrss_kb"] <= 16 * 1024, True))
        row("idle: VmHWM (MB)", "idle", lambda r: f"{r['vmhwm_kb'] / 1024:.1f}")

    w0 = max([len("metric")] + [len(r[0]) for r in rows])
    wt = {t: max([len(t)] + [len(r[1].get(t, "")) for r in rows]) for t in tools}
    wg = max([len("target")] + [len(r[2]) for r in rows])
    head = f"{'metric':<{w0}}  " + "  ".join(f"{t:>{wt[t]}}" for t in tools) + f"  {'target (bantam)':<{wg}}"
    print(head.rstrip())
    print("-" * len(head.rstrip()))
    for metric, cells, target, verdict in rows:
        line = f"{metric:<{w0}}  " + "  ".join(f"{cells.get(t, '-'):>{wt[t]}}" for t in tools)
        line += f"  {target:<{wg}}  {verdict}".rstrip()
        print(line)
    notes = []
    for (tool, test), r in sorted(res.items()):
        if not r.get("ok"):
            err = r.get("error", "?").strip()
            notes.append(f"{tool} {test} FAILED: {err}")
        if r.get("lost_event_errors"):
            notes.append(f"{tool} {test}: nft monitor lost events {r['lost_event_errors']} time(s); "
                         f"counts are lower bounds (sets held {r.get('in_sets_at_end')} at the end)")
        if test == "burst" and r.get("ok"):
            notes.append(f"{tool} burst: {r['in_sets_at_end']} elements in the set(s) at the end, "
                         f"daemon reports {r['daemon_banned_at_end']} banned")
        if test == "idle" and r.get("ok") and r.get("threads_exited"):
            notes.append(f"{tool} idle: {r['threads_exited']} thread(s) exited during the window; "
                         "their switches are not counted")
    if any(k[0] == "fail2ban" for k in res):
        b = next(r.get("backend") for k, r in res.items() if k[0] == "fail2ban")
        notes.insert(0, f"fail2ban: backend {b}, banaction nftables-multiport")
    loads = [f"{tool} {test} {r['loadavg_before'][0]}" for (tool, test), r in sorted(res.items())
             if r.get("loadavg_before")]
    if loads:
        notes.append("1-minute load average before each run: " + ", ".join(loads))
    if notes:
        print()
        for n in notes:
            print("note: " + n.replace("\n", "\n      "))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--tool", choices=("bantam", "fail2ban"), required=True)
    r.add_argument("--test", choices=("latency", "burst", "idle"), required=True)
    r.add_argument("--netns", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--bantam", default="target/release/bantam")
    r.add_argument("--f2b-backend", default="pyinotify")
    r.add_argument("--date", choices=("syslog", "rfc3339"), default="syslog")
    r.add_argument("--count", type=int, default=200)
    r.add_argument("--interval-ms", type=float, default=20.0)
    r.add_argument("--tail-timeout", type=float, default=30.0)
    r.add_argument("--warmup-timeout", type=float, default=30.0)
    r.add_argument("--lines", type=int, default=5000)
    r.add_argument("--burst-timeout", type=float, default=120.0)
    r.add_argument("--burst-stall", type=float, default=60.0)
    r.add_argument("--settle", type=float, default=2.0)
    r.add_argument("--idle-seconds", type=float, default=20.0)
    p = sub.add_parser("report")
    p.add_argument("files", nargs="*")
    args = ap.parse_args()
    if args.cmd == "run":
        if args.count > 50000 or args.lines > 64000:
            ap.error("--count at most 50000, --lines at most 64000 (address range)")
        args.bantam = os.path.abspath(args.bantam)
        return cmd_run(args)
    return cmd_report(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Terminated):
        sys.exit(130)
