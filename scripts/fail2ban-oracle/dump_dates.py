#!/usr/bin/python3
"""Run lines through fail2ban's own DateDetector and print what it finds.

The oracle for bantam's fail2ban date templates
(crates/bantam-filter/src/fail2ban/date, compared line by line in
crates/bantam-filter/tests/fail2ban_dates.rs).

Run it with the system python that has fail2ban installed. It prints one
JSON object:

  {"exy_last_year": 2029,            # the last year fail2ban's %ExY accepts
   "now": 1124013600, "tz": "...",   # fail2ban's test clock and zone
   "cases": [{"name": ..., "datepattern": str or null,
              "error": bool,         # the datepattern does not load
              "lines": [{"line": str,
                         "span": [start, end] or null,   # UTF-8 byte offsets
                         "time": float or null}]}]}

"span" is the text fail2ban cuts out of the line (group 1 of the winning
template); "time" is what fail2ban's filter would read from it (null when
the span is empty: the filter then dates the line itself).

Cases: every sample log under fail2ban's tests/files/logs with the default
templates; the same logs with each `datepattern` their filter uses (from
/tmp/f2b-filters.jsonl, or the file given as argv[1]); and our own lines
(documentation addresses only) covering every directive and keyword.

Each case gets a fresh detector whose templates start with no hits, as in
a freshly started fail2ban (template statistics are shared process-wide).
"""

import itertools
import json
import os
import re
import sys
import time

TZ = "CET-01CEST-02,M3.5.0,M10.5.0"
NOW = 1124013600  # 2005-08-14 10:00:00 UTC, fail2ban's TEST_NOW

os.environ["TZ"] = TZ
time.tzset()

from fail2ban.server.mytime import MyTime  # noqa: E402
from fail2ban.server.datedetector import DateDetector  # noqa: E402
from fail2ban.server.strptime import timeRE, validateTimeZone  # noqa: E402
import fail2ban  # noqa: E402

MyTime.setTime(NOW)

LOGS = os.path.join(os.path.dirname(fail2ban.__file__), "tests", "files", "logs")
FILTERS = sys.argv[1] if len(sys.argv) > 1 else "/tmp/f2b-filters.jsonl"

# Our own lines: documentation addresses only. (datepattern, [lines])
OWN = [
    (None, [
        "2005-08-14T11:00:00.123456+02:00 host sshd[1]: Failed password for root from 192.0.2.1",
        "2005/08/14 11:00:00 host x from 192.0.2.2",
        "2005.08.14 11:00:00 syslog-ng x",
        "2005-08-14  8:00:00 padded hour",
        "2005-08-14 11:00:00,250 comma fraction",
        "2005-08-14T09:00:00Z zulu",
        "2005-08-14 11:00:00 UTC named",
        "Sun Aug 14 11:00:00.011 2005 asctime",
        "Aug 14 2005 11:00:00 year after day",
        "14/08/2005 11:00:00 day first",
        "14-08-05 11:00:00 two digit year",
        "[14/Aug/2005:11:00:00 +0200] \"GET / HTTP/1.1\" 192.0.2.3",
        "192.0.2.4 - - [14/Aug/2005:09:00:00 -0000] \"GET /\"",
        "14-Aug-2005 11:00:00.252 named",
        "14-Aug-2005 11:00:00 +0200 roundcube",
        "08/14/2005:11:00:00 cpanel",
        "08-14-2005 11:00:00.252 month first",
        "1124010000 epoch",
        "1124010000.123456 epoch fraction",
        "[1124010000] nsd",
        "type=USER_AUTH msg=audit(1124010000.123:42): addr=192.0.2.5",
        "11:00:00 time only",
        "23:59:59 time later today",
        "<08/14/05@11:00:00> bracketed",
        "050814 11:00:00 mysql",
        "050814  9:00:00 mysql padded",
        "Aug 14, 2005 11:00:00 AM tomcat",
        "Aug 14, 2005 12:30:00 PM tomcat",
        "Aug 14, 2005 12:30:00 AM tomcat",
        "Aug-14-05 11:00:00 assp",
        "20050814T110000 compact",
        "20050814 110000.5 compact",
        "PDT Aug 14 02:00:00 monit",
        "+02:00 Aug 14 11:00:00 offset first",
        "@4000000042ff0e102a64e1d4 tai64n",
        "Dec 31 23:59:59 host future",
        "Aug 15 11:00:00 host tomorrow",
        "Aug 15 13:00:00 host more than a day ahead",
        "Feb 29 10:00:00 host not a leap year",
        "2005-02-30 10:00:00 no such day",
        "2005-03-27 02:30:00 gap",
        "2005-10-30 02:30:00 fold",
        "Jan  3 11:00:00 host padded day",
        "host x: Aug 14 11:00:00 inside message from 192.0.2.6",
        "Aug 14 11:00:00 host x: Aug 13 10:00:00 second date",
        "no date here at all 192.0.2.7",
        "x2005-08-14 11:00:00 glued",
        "Aug 14 11:00:00 host back to syslog",
        "Aug 14 11:00:01 host again",
        "  Aug 14 11:00:02 two spaces first",
        "[Aug 14 11:00:03] bracket",
        "Ünïcode Aug 14 11:00:04 after wide chars",
    ]),
    ("%Y-%m-%d %H:%M:%S", [
        "2005-08-14 11:00:00 x", "x 2005-8-4 1:2:3 y", "2005-08-14 24:00:00 bad hour",
        "2005-08-14 11:00:60 leap second", "a2005-08-14 11:00:00",
    ]),
    ("%a %d %B %Y %H:%M:%S", ["Sun 14 August 2005 11:00:00 x", "sun 14 august 2005 11:00:00 x"]),
    ("%A, %d %b %Y %l:%M:%S %p", ["Sunday, 14 Aug 2005  1:05:00 PM x", "Sunday, 14 Aug 2005 12:05:00 AM x"]),
    ("%j/%Y %H:%M:%S", ["226/2005 11:00:00 x", "001/2005 00:00:00 x", "366/2005 00:00:00 x"]),
    ("%Y %U %w %H:%M:%S", ["2005 32 0 11:00:00 x", "2005 00 6 11:00:00 x"]),
    ("%Y %W %a %H:%M:%S", ["2005 32 Sun 11:00:00 x"]),
    ("%d.%m.%Y %H:%M:%S.%f %Z", [
        "14.08.2005 11:00:00.5 CEST x", "14.08.2005 11:00:00.123 UTC x",
        "14.08.2005 11:00:00.1 cest x", "14.08.2005 11:00:00.1 ABCD x",
    ]),
    ("%d/%b/%Y:%H:%M:%S %z", ["[14/Aug/2005:11:00:00 +0200]", "[14/Aug/2005:11:00:00 -05:30]", "[14/Aug/2005:11:00:00 +01]"]),
    ("%ExY-%Exm-%Exd %ExH:%ExM:%ExS", ["2005-08-14 11:00:00 x", "2005-8-14 11:00:00 x", "2035-08-14 11:00:00 x", "1999-08-14 11:00:00 x"]),
    ("%Exd.%Exm.%Exy %Exk:%ExM:%ExS %ExZ", ["14.08.05  9:00:00 CET x", "14.08.05 09:00:00 Z x"]),
    ("%Exy-%Exm-%Exd %Exl:%M:%S %p %Exz", ["05-08-14 9:00:00 AM CET+01 x", "05-08-14 9:00:00 pm +0100 x"]),
    ("%Y-%m-%d %k:%M:%S", ["2005-08-14  9:00:00 x", "2005-08-14 25:00:00 x"]),
    ("%c", ["Sun Aug 14 11:00:00 2005 x"]),
    ("%x %X", ["08/14/05 11:00:00 x"]),
    ("%y%m%d%H%M%S", ["050814110000 x"]),
    ("{^LN-BEG}%H:%M:%S", ["11:00:00 x", "[11:00:00] x", "x 11:00:00"]),
    ("**%H:%M:%S**", ["x11:00:00y"]),
    ("{UNB}%H:%M:%S", ["a11:00:00b"]),
    ("LEPOCH", ["1124010000123 x", "1124010000123456 x", "1124010000123.456 x", "1124010000 x"]),
    (r"^\[{LEPOCH}\]", ["[1124010000123] x"]),
    (r"^x={EPOCH}", ["x=1124010000.123 y", "x=1124010000 y"]),
    ("{^LN-BEG}EPOCH", ["1124010000 x", " [1124010000] x", "x 1124010000"]),
    ("EPOCH", ["x 1124010000 y", "[1124010000 y"]),
    ("TAI64N", ["@4000000042ff0e102a64e1d4 x", "x @4000000042ff0e102a64e1d4"]),
    ("{^LN-BEG}TAI64N", ["@4000000042ff0e102a64e1d4 x", "x @4000000042ff0e102a64e1d4"]),
    ("{NONE}", ["2005-08-14 11:00:00 x", "x"]),
    ("^<W>{DATE}", ["<W>2005-08-14 11:00:00 x", "<W>Aug 14 11:00:00 x", "<W>Epoch x", "<W>11:00:00 x"]),
    (r"^[^\[]*\[({DATE})\s*\]", ["host [14/Aug/2005:11:00:00 +0200 ] x", "host [Aug 14 11:00:00] x"]),
    ("{DEFAULT}", ["Aug 14 11:00:00 x", "2005-08-14 11:00:00 x"]),
    ("%Y-%m-%d %H:%M:%S\n{^LN-BEG}", ["2005-08-14 11:00:00 x", "Aug 14 11:00:00 x", "x 2005-08-14 11:00:00"]),
    ("^WARNING:()**\n{^LN-BEG}", ["WARNING: x from 192.0.2.8", "Aug 14 11:00:00 x"]),
    ("(?i)^%Y-%m-%d %H:%M:%S", ["2005-08-14 11:00:00 x"]),
    ("%e %b", ["14 Aug x"]),
    ("%Exb %d", ["Aug 14 x"]),
    ("%Y-%m-%d %H:%M:%S(", ["2005-08-14 11:00:00 x"]),
]

LOGTIMEZONES = ["UTC", "UTC-0500", "UTC+0530", "CEST", "EST+01"]
LOGTZ_LINES = [
    "Aug 15 04:00:00 host a", "Aug 15 06:00:00 host b", "Aug 15 09:00:00 host c",
    "Aug 15 13:00:00 host d", "Aug 14 23:00:00 host e", "Aug 14 11:00:00 host f",
    "05:00:00 time g", "08:00:00 time h", "11:00:00 time i", "17:00:00 time j",
]


def byte_offset(line, i):
    return len(line[:i].encode("utf-8"))


def new_detector(datepattern, logtimezone=None):
    dd = DateDetector()
    dd.default_tz = logtimezone
    if datepattern is None:
        dd.addDefaultTemplate()
    else:
        for p in [p.strip() for p in re.split("\n+", datepattern)]:
            if p:
                dd.appendTemplate(p)
    for t in dd.templates:
        # Compile now, so that a bad pattern is an error of the case.
        t.template._compileRegex()
        t.template.hits = 0
    return dd


def run(name, datepattern, lines, logtimezone=None):
    case = {"name": name, "datepattern": datepattern, "error": False, "lines": [],
            "logtimezone_minutes": None}
    try:
        if logtimezone is not None:
            case["logtimezone_minutes"] = validateTimeZone(logtimezone)
        dd = new_detector(datepattern, logtimezone)
    except Exception:
        case["error"] = True
        return case
    for line in lines:
        out = {"line": line, "span": None, "time": None}
        try:
            match, template = dd.matchTime(line)
        except Exception:
            match = None
        if match:
            s, e = match.start(1), match.end(1)
            if s < 0:
                s = e = match.start()
            out["span"] = [byte_offset(line, s), byte_offset(line, e)]
            if s != e:
                try:
                    date = dd.getTime(line[s:e], (match, template))
                except Exception:
                    date = None
                if date is not None:
                    out["time"] = date[0]
        case["lines"].append(out)
    return case


def log_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip("\r\n") for l in f]
    return [l for l in lines if l and not l.startswith("#")]


def main():
    cases = []
    logs = sorted(
        os.path.relpath(os.path.join(d, f), LOGS)
        for d, _, files in os.walk(LOGS) for f in files
    )
    per_log = [log_lines(os.path.join(LOGS, rel)) for rel in logs]
    for rel, lines in zip(logs, per_log):
        cases.append(run("log " + rel, None, lines))
    # Every log interleaved line by line into one detector: formats change
    # on every line, which exercises the memory of the last winner, the
    # set-aside matches and the reordering of the list.
    mixed = [l for group in itertools.zip_longest(*per_log) for l in group if l is not None]
    cases.append(run("logs interleaved", None, mixed))
    cases.append(run("logs interleaved, line start", "{^LN-BEG}", mixed))
    seen = set()
    if os.path.exists(FILTERS):
        with open(FILTERS) as f:
            for l in f:
                d = json.loads(l)
                dp = d.get("datepattern")
                path = os.path.join(LOGS, d["filter"])
                if dp is None or (d["filter"], dp) in seen or not os.path.isfile(path):
                    continue
                seen.add((d["filter"], dp))
                cases.append(run("filter " + d["filter"], dp, log_lines(path)))
    for i, (dp, lines) in enumerate(OWN):
        cases.append(run("own %d" % i, dp, lines))
    # A filter's logtimezone: applied like an offset in the line, while the
    # inferred year and day and "in the future" follow the host's clock.
    for tz in LOGTIMEZONES:
        cases.append(run("logtimezone " + tz, None, OWN[0][1] + LOGTZ_LINES, tz))
        cases.append(run("logtimezone %s custom" % tz, "%H:%M:%S", LOGTZ_LINES, tz))
    last = max(y for y in range(2000, 2200) if re.fullmatch(timeRE["ExY"], str(y)))
    json.dump({"exy_last_year": last, "now": NOW, "tz": TZ, "cases": cases},
              sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
