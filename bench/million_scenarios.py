"""million_scenarios.py: the scenarios of million.py beyond restore and
burst (imported by it; run million.sh): reaction probed beside an
empty-table daemon (`--paired`), the wave of a burst's ends (`--wave`),
and requests with N bans in force (`--ops`)."""

import argparse
import json
import os
import subprocess
import threading
import time

from million import (BenchError, Daemon, Monitor, burst, fill, log, percentile, probe,
                     reaction, saved_target)

def paired_reaction(d, args, count, interval):
    """Reaction with the table full and, probe by probe in turn, of a
    second daemon with an empty table in a namespace of its own: both
    under the same load of the machine at the same time. Measured one
    after the other, run to run differences of the machine alone moved a
    sub-millisecond p99 by more than 10%."""
    ref_args = argparse.Namespace(bantam=args.bantam, netns=args.ref_netns,
                                  work=os.path.join(args.work, "beside"))
    os.makedirs(ref_args.work, exist_ok=True)
    ref = Daemon(ref_args)
    ref.start(30)
    pairs = [(d, Monitor(d.ns), []), (ref, Monitor(ref.ns), [])]
    try:
        for i in range(count):
            # Alternate which goes first, so neither always follows the other.
            for daemon, mon, lat in pairs[::1 if i % 2 else -1]:
                probe(daemon, mon, i, lat)
                time.sleep(interval / 2)
    finally:
        for _, mon, _ in pairs:
            mon.close()
        ref.stop()
    out = []
    for _, _, lat in pairs:
        lat.sort()
        out.append({"probes": count, "seen": len(lat), "p50_ms": percentile(lat, 50),
                    "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
                    "worst_ms": lat[-1] if lat else None})
    return out[0], out[1]


def cmd_wave(args):
    """A burst of N new attackers banned for `--bantime` seconds, then the
    wave of their ends: new attackers probed every 20 ms from a second
    before the first end until the burst's bans are all gone. Prints the
    probes' p50/p99/worst and how long after the last burst ban's end the
    last was gone."""
    d = Daemon(args, bantime=f"{args.bantime}s")
    res = {"tool": "wave", "bans": args.bans, "bantime_s": args.bantime}
    try:
        d.start(30)
        t0 = time.monotonic()
        res["burst_s"] = burst(d, args.bans, args.timeout)
        time.sleep(max(0.0, t0 + args.bantime - 1 - time.monotonic()))
        last_end = t0 + res["burst_s"] + args.bantime
        lat, gone = wave_probes(d, last_end + args.timeout)
        res["gone_after_last_end_s"] = None if gone is None else gone - last_end
        res.update(probes=len(lat), p50_ms=percentile(lat, 50), p99_ms=percentile(lat, 99),
                   worst_ms=lat[-1] if lat else None)
        log(f"wave of {args.bans}: {res}")
    finally:
        d.stop()
    print(json.dumps(res), flush=True)


def cmd_ops(args):
    """Requests with N saved bans in force: status, one unban, one ban by
    hand, reload (with new attackers probed meanwhile), unban --all; then,
    with N saved again, unban --jail sshd --all (every ban is sshd's)."""
    d = Daemon(args)
    res = {"tool": "ops", "bans": args.bans}
    d.start(30)
    d.stop()
    refill(d, args.bans)

    def timed(request):
        t = time.monotonic()
        answer = d.ask(request, timeout=args.timeout)
        if not answer.get("ok"):
            raise BenchError(f"{request['command']}: {answer}")
        return (time.monotonic() - t) * 1000.0

    try:
        d.start(args.timeout)
        time.sleep(1.0)
        res["status_ms"] = min(timed({"command": "status"}) for _ in range(5))
        saved = saved_target(args.bans // 2, False)
        res["unban_one_ms"] = timed({"command": "unban", "targets": [saved]})
        res["ban_one_ms"] = timed({"command": "ban", "jail": "sshd",
                                   "targets": ["198.51.100.7"]})
        reload = {}
        t = threading.Thread(target=lambda: reload.update(ms=timed({"command": "reload"})))
        t.start()
        res["reaction_during_reload"] = reaction(d, d.ns, 20, 0.01)
        t.join()
        res["reload_ms"] = reload.get("ms")
        # New attackers while the store moves the bans (seconds at a
        # million), probed from the moment the firewall is flushed: a
        # netlink listener present during the flush would have the kernel
        # compose a message per element for it (17 s for a million), which
        # no daemon of ours asks for.
        unban = {}
        log_at = os.path.getsize(d.daemon_log)
        t = threading.Thread(
            target=lambda: unban.update(ms=timed({"command": "unban", "all": True})))
        t.start()
        wait_for_line(d.daemon_log, log_at, b"ban(s) lifted by request", args.timeout)
        res["reaction_during_unban_all"] = reaction(d, d.ns, 150, 0.02, first=1000)
        t.join()
        res["unban_all_ms"] = unban.get("ms")
        d.stop()
        refill(d, args.bans)
        d.start(args.timeout)
        res["unban_jail_all_ms"] = timed({"command": "unban", "jail": "sshd", "all": True,
                                          "targets": []})
        log(f"ops with {args.bans}: {res}")
    finally:
        d.stop()
    print(json.dumps(res), flush=True)


def wait_for_line(path, offset, text, timeout):
    """Until `text` is in `path` past `offset`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            f.seek(offset)
            if text in f.read():
                return
        time.sleep(0.005)
    raise BenchError(f"no {text!r} in {path} within {timeout} s")


def refill(d, n):
    """N saved bans in the (stopped) daemon's store, an empty kernel table."""
    fill(os.path.join(d.state, "bantam.db"), n, False)
    subprocess.run(["ip", "netns", "exec", d.ns, "nft", "delete", "table", "inet", "bantam"],
                   stderr=subprocess.DEVNULL)


def wave_probes(d, deadline):
    """Probes until only probes are banned; returns the sorted latencies
    (ms) and when the burst's bans were found gone (`status` every tenth
    probe)."""
    mon = Monitor(d.ns)
    lat, i = [], 0
    try:
        while time.monotonic() < deadline:
            probe(d, mon, i, lat)
            i += 1
            if i % 10 == 0 and d.banned_now() <= i:
                return sorted(lat), time.monotonic()
            time.sleep(0.02)
    finally:
        mon.close()
    return sorted(lat), None


def beside(r):
    """The empty-table daemon probed in turn with this one, if it was."""
    e = r.get("reaction_beside_empty")
    if not e:
        return ""
    return f" (empty, same time: {ms(e.get('p50_ms'), 2)} / {ms(e.get('p99_ms'), 2)})"


def ms(v, digits=1):
    return "—" if v is None else f"{v:.{digits}f}"


def table(rows, tool, header, row):
    """A Markdown table of the rows of `tool`, if any: `header` is its
    column titles, `row` gives a row's cells."""
    chosen = [r for r in rows if r["tool"] == tool]
    if not chosen:
        return
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in chosen:
        print("| " + " | ".join(row(r)) + " |")


def report_ops(rows):
    table(rows, "ops", ["bans in force", "`status`", "`unban ADDR`", "`ban ADDR`",
                        "`reload` (new attackers meanwhile: p99)",
                        "`unban --all` (new attackers meanwhile: p99 / worst)",
                        "`unban --jail sshd --all`"],
          lambda r: [f"{r['bans']:,}", f"{ms(r['status_ms'])} ms", f"{ms(r['unban_one_ms'])} ms",
                     f"{ms(r['ban_one_ms'])} ms",
                     f"{ms(r['reload_ms'], 0)} ms ({ms(r['reaction_during_reload'].get('p99_ms'))} ms)",
                     f"{r['unban_all_ms'] / 1000:.2f} s ({during_unban(r)})",
                     f"{r['unban_jail_all_ms'] / 1000:.2f} s"])


def during_unban(r):
    e = r.get("reaction_during_unban_all") or {}
    return f"{ms(e.get('p99_ms'))} / {ms(e.get('worst_ms'))} ms"


def report_waves(rows):
    def gone(r):
        g = r.get("gone_after_last_end_s")
        return "not gone" if g is None else f"{g:.1f} s"
    table(rows, "wave", ["burst of N, then their ends", "ban time",
                         "new attackers during the wave: p50 / p99 / worst",
                         "last burst ban gone after its end"],
          lambda r: [f"{r['bans']:,} (burst {r['burst_s']:.2f} s)", f"{r['bantime_s']} s",
                     f"{ms(r['p50_ms'])} / {ms(r['p99_ms'])} / {ms(r['worst_ms'])} ms "
                     f"({r['probes']} probes)", gone(r)])
