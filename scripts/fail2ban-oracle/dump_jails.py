#!/usr/bin/python3
"""Dump what fail2ban itself resolves a jail configuration to, as JSON: the
oracle for bantam's fail2ban jail reader.

Copies a fail2ban configuration directory (default /etc/fail2ban) to a
temporary directory, adds a jail.local and a jail.d/*.local that enable a
few jails with parameters and overrides (the shipped tree enables only
sshd), and runs fail2ban's own JailsReader on it. Uses the installed
fail2ban package at run time; run with the system python3.

Output: one JSON object per jail fail2ban would start (or skip):
  {"jail": NAME, "error": MESSAGE}        (a jail fail2ban skips), or
  {"jail": NAME, "options": {...},        (its options, as strings)
   "filter": {"prefregex", "failregex", "ignoreregex", "maxlines",
              "datepattern", "journalmatch" (word lists), "usedns"},
   "actions": [{"actname", "commands": {...}, "init": {...} (as sent),
                "init_resolved": {...} (tags substituted)}],
   "pyactions": [NAME, ...]}
The first line is {"basedir": TMPDIR} so a reader can load the same tree;
the directory is left in place for it (under the system temp directory).
"""
import json
import os
import shutil
import sys
import tempfile

from fail2ban.client.jailsreader import JailsReader
from fail2ban.client.actionreader import ActionReader
from fail2ban.server.action import CommandAction

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/etc/fail2ban"

# Test addresses only (RFC 5737 / 3849).
JAIL_LOCAL = """\
[DEFAULT]
banaction = nftables-multiport
banaction_allports = nftables-allports
ignoreip = 203.0.113.0/24 2001:db8:1::/48

[sshd]
enabled = true
mode = aggressive
port = ssh,2222
logpath = /var/log/auth.log

[nginx-http-auth]
enabled = true
logpath = /var/log/nginx/error.log
maxretry = 3
bantime = 1d12h
action = %(action_mw)s

[postfix]
enabled = true
filter = postfix[mode=rbl]
findtime = 1h
action = nftables-multiport[name=pf, port="smtp,465,submission", protocol=tcp]
         nftables-allports[name=pf-all, blocktype="reject with icmp type host-unreachable"]

[recidive]
enabled = true
bantime = -1

[dovecot]
enabled = true
backend = systemd
action = %(banaction_allports)s
         smtp.py[host=mail.example.org]

[apache-auth]
enabled = false
filter = does-not-matter[

[bantam-missing-filter]
enabled = true
filter = no-such-filter
logpath = /var/log/bantam-test.log
"""

JAIL_D_LOCAL = """\
[nginx-http-auth]
maxretry = 4
ignoreip = 192.0.2.1 198.51.100.0/24, 2001:db8::/32

[sshd]
failregex = %(known/failregex)s
            ^Extra rule for <HOST> from jail\\.d$
datepattern = {^LN-BEG}

[recidive]
enabled = true
"""


def words_of(stream, key):
    return [tok[3:] for tok in stream if tok[0] == "set" and tok[2] == key]


def filter_of(stream):
    out = {"prefregex": None, "failregex": [], "ignoreregex": [], "maxlines": None,
           "datepattern": None, "journalmatch": [], "usedns": None}
    for tok in stream:
        if tok[0] not in ("set", "multi-set") or len(tok) < 4:
            continue
        key = tok[2]
        vals = tok[3] if tok[0] == "multi-set" else [tok[3]]
        if key in ("addfailregex", "addignoreregex"):
            out[key[3:]].extend(vals)
        elif key in ("prefregex", "datepattern", "usedns"):
            out[key] = vals[0]
        elif key == "maxlines":
            out[key] = int(vals[0])
        elif key == "addjournalmatch":
            out["journalmatch"].append(tok[3:])
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="bantam-f2b-jails-")
    base = os.path.join(tmp, "fail2ban")
    shutil.copytree(SOURCE, base, symlinks=True)
    with open(os.path.join(base, "jail.local"), "w") as f:
        f.write(JAIL_LOCAL)
    with open(os.path.join(base, "jail.d", "zz-bantam-test.local"), "w") as f:
        f.write(JAIL_D_LOCAL)
    print(json.dumps({"basedir": base}))

    reader = JailsReader(basedir=base)
    reader.read()
    reader.getOptions()
    for jail in reader.jails:
        name = jail.getName()
        opts = jail.options
        if opts.get("config-error"):
            print(json.dumps({"jail": name, "error": opts["config-error"]}, sort_keys=True))
            continue
        stream = jail.convert(allow_no_files=True)
        actions = []
        pyactions = []
        for act in jail._JailReader__actions:
            if not isinstance(act, ActionReader):
                pyactions.append(act[3])
                continue
            conv = act.convert()
            sent = {}
            for tok in conv[1:]:
                pairs = tok[4] if tok[0] == "multi-set" else [tok[4:6]]
                for k, v in pairs:
                    sent[k] = v
            combined = act.getCombined(
                ignore=CommandAction._escapedTags | set(("timeout", "bantime")))
            commands = {k: v for k, v in sent.items() if k in ActionReader._configOpts}
            init = {k: v for k, v in sent.items() if k not in ActionReader._configOpts}
            actions.append({"actname": act.getName(), "commands": commands, "init": init,
                            "init_resolved": {k: str(combined.get(k, v)) for k, v in init.items()}})
        print(json.dumps({
            "jail": name,
            "options": {k: str(v) for k, v in opts.items()},
            "filter": filter_of(stream),
            "actions": actions,
            "pyactions": pyactions,
        }, sort_keys=True))


if __name__ == "__main__":
    main()
