#!/usr/bin/env python3
"""slow_action.py: the measuring half of bench/slow-action.sh (read that first).

  slow_action.py run --tool bantam|fail2ban --slow on|off \
      --netns NS --work DIR --out FILE.json [--bantam BIN] [options]
  slow_action.py report FILE.json ...

`run` starts one daemon in the namespace NS (created and deleted by the
caller) with two jails: `sshd`, banning in nftables, and `slow`, whose only
action is fail2ban's `action.d` command `sleep 5`. With `--slow on` the slow
jail is fed a few failures first, so that its action is busy (and more
queued) for the whole measurement; with `--slow off` it is fed nothing.
Then the sshd jail's ban latency is measured as in ban_latency.py: one line
appended per address, timed from just before the write() to the `nft
monitor` event. `report` prints the table.

Everything but the slow jail comes from ban_latency.py (imported): the
daemons' configurations, the monitor, the log lines, the addresses.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

# No __pycache__ in the repository for the imported helper.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ban_latency as bl  # noqa: E402

SLOW_SECONDS = 5
SLOW_ACTION = (
    "[Definition]\nactionstart = \nactionstop = \nactioncheck = \n"
    f"actionban = sleep {SLOW_SECONDS}\nactionunban = \n\n[Init]\ntimeout = 60\n"
)


def slow_addr(i):                      # the slow jail's attackers, i < 250
    return f"198.19.250.{i + 1}"


def write_slow_action(conf_dir):
    with open(os.path.join(conf_dir, "action.d", "slowsleep.conf"), "w") as f:
        f.write(SLOW_ACTION)


def slow_section(logpath, backend=None):
    return (f"[slow]\nenabled = true\nfilter = sshd\nlogpath = {logpath}\nmaxretry = 1\n"
            f"findtime = 10m\nbantime = 1h\naction = slowsleep\n"
            + (f"backend = {backend}\n" if backend else "backend = auto\n"))


class SlowBantam(bl.Bantam):
    """bantam with its native sshd jail, plus the slow jail from a fail2ban
    configuration directory (`[daemon] fail2ban-config`)."""

    def __init__(self, binary, netns, work, logs, slow_log):
        super().__init__(binary, netns, work, logs)
        conf = os.path.join(work, "fail2ban")
        bl.shutil.copytree("/etc/fail2ban", conf, symlinks=True)
        empty_dir(os.path.join(conf, "jail.d"))
        write_slow_action(conf)
        with open(os.path.join(conf, "jail.local"), "w") as f:
            f.write(slow_section(slow_log))
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("[daemon]\n", f'[daemon]\nfail2ban-config = "{conf}"\n', 1))

    def status_ms(self):
        t = time.monotonic()
        ok = self.cli("status").returncode == 0
        return (time.monotonic() - t) * 1000.0 if ok else None


class SlowFail2ban(bl.Fail2ban):
    """fail2ban with the same two jails (sshd: nftables-multiport)."""

    def __init__(self, netns, work, logs, slow_log, backend="pyinotify"):
        super().__init__(netns, work, logs, backend=backend)
        write_slow_action(self.conf)
        with open(os.path.join(self.conf, "jail.local"), "a") as f:
            f.write("\n" + slow_section(slow_log, backend))
        # start() waits for this many jails; the monitor still watches only
        # the sshd jail's set (computed already).
        self.jails = self.jails + ["slow"]

    def status_ms(self):
        t = time.monotonic()
        ok = self.client("status", "sshd").returncode == 0
        return (time.monotonic() - t) * 1000.0 if ok else None


def empty_dir(path):
    for entry in os.listdir(path):
        p = os.path.join(path, entry)
        if os.path.isdir(p) and not os.path.islink(p):
            bl.shutil.rmtree(p)
        else:
            os.unlink(p)


def slow_running(netns):
    """How many `sleep 5` processes run in the namespace now."""
    p = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    want = f"sleep\0{SLOW_SECONDS}\0".encode()
    n = 0
    for pid in p.stdout.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                n += f.read() == want
        except OSError:
            pass
    return n


def feed_slow(daemon, slow_log, args):
    """Bans `--slow-bans` addresses in the slow jail and waits until its
    first action runs: the action thread is then busy for
    SLOW_SECONDS * slow_bans seconds."""
    lines = "".join(bl.failure_line(slow_addr(i), 500 + i, args.date)
                    for i in range(args.slow_bans))
    t0 = bl.append(slow_log, lines.encode())
    deadline = t0 + 30
    while slow_running(args.netns) == 0:
        if time.monotonic() > deadline:
            raise bl.BenchError("the slow action never ran:\n" + daemon.diagnostics())
        time.sleep(0.02)
    return t0


def measure(daemon, mon, logpath, args):
    sent = {}
    interval = args.interval_ms / 1000.0
    nxt = time.monotonic() + 0.1
    for i in range(args.count):
        while True:
            rem = nxt - time.monotonic()
            if rem <= 0:
                break
            mon.pump(rem)
        addr = bl.latency_addr(i)
        sent[addr] = bl.append(logpath, bl.failure_line(addr, 100 + i, args.date).encode())
        nxt += interval
    mon.wait(lambda: all(a in mon.seen for a in sent), args.tail_timeout)
    lat = sorted((mon.seen[a] - t) * 1000.0 for a, t in sent.items() if a in mon.seen)
    return {
        "sent": len(sent), "seen": len(lat),
        "p50_ms": bl.percentile(lat, 50), "p90_ms": bl.percentile(lat, 90),
        "p99_ms": bl.percentile(lat, 99), "max_ms": lat[-1] if lat else None,
    }


def cmd_run(args):
    signal.signal(signal.SIGTERM, bl.on_sigterm)
    signal.signal(signal.SIGHUP, bl.on_sigterm)
    os.makedirs(args.work, exist_ok=True)
    logpath = os.path.join(args.work, "auth.log")
    slow_log = os.path.join(args.work, "slow.log")
    for p in (logpath, slow_log):
        open(p, "w").close()
    if args.tool == "bantam":
        daemon = SlowBantam(args.bantam, args.netns, args.work, [logpath], slow_log)
    else:
        daemon = SlowFail2ban(args.netns, args.work, [logpath], slow_log, backend=args.f2b_backend)
    result = {"tool": args.tool, "slow": args.slow, "ok": False,
              "slow_bans": args.slow_bans if args.slow == "on" else 0}
    mon = None
    try:
        mon = bl.Monitor(args.netns, daemon.family, daemon.table, daemon.sets,
                         os.path.join(args.work, "monitor.stderr"),
                         os.path.join(args.work, "monitor.log"))
        mon.ready(args.netns)
        result["loadavg_before"] = open("/proc/loadavg").read().split()[:3]
        daemon.start()
        result["first_ban_ms"] = bl.warm_up(daemon, mon, logpath, args, args.warmup_timeout)
        fed = feed_slow(daemon, slow_log, args) if args.slow == "on" else None
        result.update(measure(daemon, mon, logpath, args))
        result["status_ms"] = [daemon.status_ms() for _ in range(args.status_calls)]
        if fed is not None:
            # Proof the slow jail was busy the whole time.
            result["slow_busy_at_end"] = slow_running(args.netns) > 0
            result["since_slow_fed_s"] = round(time.monotonic() - fed, 2)
        if daemon.proc.poll() is not None:
            raise bl.BenchError(f"{daemon.name} exited during the test:\n{daemon.diagnostics()}")
        result["ok"] = True
    except bl.BenchError as e:
        result["error"] = str(e)
        print(f"slow_action: {args.tool} slow={args.slow}: {e}", file=sys.stderr)
    except (KeyboardInterrupt, bl.Terminated):
        result["error"] = "interrupted"
        raise
    finally:
        try:
            # A clean stop waits for queued actions (bantam up to 10 s,
            # fail2ban all of them): kill instead; the caller deletes the
            # namespace with the sleeps in it.
            if daemon.proc and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait(timeout=10)
        finally:
            if mon:
                mon.close()
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
    return 0 if result["ok"] else 1


def cmd_report(args):
    res = {}
    for path in args.files:
        try:
            with open(path) as f:
                r = json.load(f)
            res[(r["tool"], r["slow"])] = r
        except (OSError, ValueError, KeyError):
            continue
    cols = [k for k in [(t, s) for t in ("bantam", "fail2ban") for s in ("off", "on")] if k in res]
    name = {k: f"{k[0]} {'slow busy' if k[1] == 'on' else 'no slow'}" for k in cols}

    def cell(r, fn):
        if not r.get("ok"):
            return "FAILED"
        try:
            return fn(r)
        except (KeyError, TypeError):
            return "-"

    def status(r):
        v = sorted(x for x in r["status_ms"] if x is not None)
        return f"{bl.fmt_ms(v[len(v) // 2])}/{bl.fmt_ms(v[-1])}" if v else "-"

    rows = [
        ("bans seen", lambda r: f"{r['seen']}/{r['sent']}"),
        ("latency p50 (ms)", lambda r: bl.fmt_ms(r["p50_ms"])),
        ("latency p90 (ms)", lambda r: bl.fmt_ms(r["p90_ms"])),
        ("latency p99 (ms)", lambda r: bl.fmt_ms(r["p99_ms"])),
        ("latency max (ms)", lambda r: bl.fmt_ms(r["max_ms"])),
        ("status p50/max (ms)", status),
        ("slow actions queued", lambda r: str(r["slow_bans"])),
        ("slow action busy at end", lambda r: {True: "yes", False: "NO", None: "-"}[
            r.get("slow_busy_at_end")]),
    ]
    w0 = max(len(r[0]) for r in rows)
    wc = {k: max(len(name[k]), 8) for k in cols}
    head = f"{'metric':<{w0}}  " + "  ".join(f"{name[k]:>{wc[k]}}" for k in cols)
    print(head)
    print("-" * len(head))
    for metric, fn in rows:
        print(f"{metric:<{w0}}  " + "  ".join(f"{cell(res[k], fn):>{wc[k]}}" for k in cols))
    print()
    for k in cols:
        r = res[k]
        if not r.get("ok"):
            print(f"note: {name[k]} FAILED: {r.get('error', '?').strip()}")
        elif r.get("slow_busy_at_end") is False:
            print(f"note: {name[k]}: the slow jail's {r['slow_bans']} sleeps were over before "
                  f"the last measured ban ({r['since_slow_fed_s']} s after they were queued)")
    print("note: status is `bantam status` / `fail2ban-client status sshd`, a whole client "
          "process each (fail2ban-client is Python: its start-up dominates)")
    loads = [f"{name[k]} {res[k]['loadavg_before'][0]}" for k in cols if res[k].get("loadavg_before")]
    if loads:
        print("note: 1-minute load average before each run: " + ", ".join(loads))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--tool", choices=("bantam", "fail2ban"), required=True)
    r.add_argument("--slow", choices=("on", "off"), required=True)
    r.add_argument("--netns", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--bantam", default="target/release/bantam")
    r.add_argument("--f2b-backend", default="pyinotify")
    r.add_argument("--date", choices=("syslog", "rfc3339"), default="syslog")
    r.add_argument("--count", type=int, default=100)
    r.add_argument("--interval-ms", type=float, default=20.0)
    r.add_argument("--slow-bans", type=int, default=5)
    r.add_argument("--status-calls", type=int, default=10)
    r.add_argument("--tail-timeout", type=float, default=30.0)
    r.add_argument("--warmup-timeout", type=float, default=30.0)
    p = sub.add_parser("report")
    p.add_argument("files", nargs="*")
    args = ap.parse_args()
    if args.cmd == "run":
        if args.count > 50000 or not 1 <= args.slow_bans <= 250:
            ap.error("--count at most 50000, --slow-bans 1 to 250")
        args.bantam = os.path.abspath(args.bantam)
        return cmd_run(args)
    return cmd_report(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, bl.Terminated):
        sys.exit(130)
