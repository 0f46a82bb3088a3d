#!/usr/bin/python3
"""Dump what fail2ban itself resolves each filter to, as JSON: the oracle for
bantam's INI reader and the input for its fail2ban engine tests.

Uses the installed fail2ban package at run time (Debian's `fail2ban`); run
with the system python3. Output: one JSON object per line:
  {"filter": NAME, "options": {...}, "prefregex": ..., "failregex": [...],
   "ignoreregex": [...], "maxlines": N|null, "datepattern": ...|null,
   "journalmatch": ...|null}

The option combinations are the ones fail2ban's sample logs ask for
(`# filterOptions:` lines), plus the empty one.
"""
import json
import os
import re
import sys

from fail2ban.client.filterreader import FilterReader

CONFIG = sys.argv[1] if len(sys.argv) > 1 else "/etc/fail2ban"
LOGS = sys.argv[2] if len(sys.argv) > 2 else \
    "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"


def option_sets(name):
    """The option sets the sample test will ask for: those of the filter's
    sample log and of the logs it includes with `# addFILE:` (fileOptions
    carry over from file to file, as in fail2ban's samplestestcase)."""
    sets = [{}]
    files = [name]
    common = {}
    i = 0
    while i < len(files):
        path = os.path.join(LOGS, files[i])
        i += 1
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"^#+ ?((?:file|filter)Options|addFILE):(.+)$", line)
                if not m:
                    continue
                data = json.loads(m.group(2))
                if m.group(1) == "addFILE":
                    files.append(data)
                    continue
                if m.group(1) == "fileOptions":
                    common = data
                    continue
                for d in (data if isinstance(data, list) else [data]):
                    opts = dict(common)
                    opts.update(d)
                    opts = {k: v for k, v in opts.items() if not k.startswith("test.")}
                    if opts not in sets:
                        sets.append(opts)
    return sets


def dump(name, opts):
    reader = FilterReader(name, "jail", dict(opts), basedir=CONFIG)
    reader.read()
    reader.getOptions({})
    out = {"filter": name, "options": opts, "prefregex": None, "failregex": [],
           "ignoreregex": [], "maxlines": None, "datepattern": None,
           "journalmatch": None}
    for tok in reader.convert():
        vals = tok[3] if tok[0] == "multi-set" else [tok[3]]
        key = tok[2]
        for v in vals:
            if key == "prefregex":
                out["prefregex"] = v
            elif key == "addfailregex":
                out["failregex"].append(v)
            elif key == "addignoreregex":
                out["ignoreregex"].append(v)
            elif key == "maxlines":
                out["maxlines"] = int(v)
            elif key == "datepattern":
                out["datepattern"] = v
            elif key == "addjournalmatch":
                out["journalmatch"] = v if out["journalmatch"] is None else out["journalmatch"] + [v]
    return out


def main():
    names = sorted(f[:-5] for f in os.listdir(os.path.join(CONFIG, "filter.d"))
                   if f.endswith(".conf") and not f.endswith("common.conf") and not f.startswith("."))
    for name in names:
        for opts in option_sets(name):
            try:
                rec = dump(name, opts)
            except Exception as e:  # report, keep going: the oracle must be complete
                rec = {"filter": name, "options": opts, "error": str(e)}
            print(json.dumps(rec, sort_keys=True))


if __name__ == "__main__":
    main()
