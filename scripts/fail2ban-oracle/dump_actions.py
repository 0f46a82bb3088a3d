#!/usr/bin/python3
"""Dump every installed fail2ban action file as fail2ban itself reads and
resolves it, as JSON: the oracle for bantam's command actions.

Uses the installed fail2ban package at run time (Debian's `fail2ban`); run
with the system python3. Output: one JSON object per line:
  {"action": NAME, "settings": [[KEY, VALUE], ...],
   "resolved": {VERB: {FAMILY: TEXT}}, "error": null | TEXT}

`settings` is what a config reader hands to the server (the action's
commands and every other option, `%%` already unescaped); `resolved` is
fail2ban's own static substitution of each command for no family, inet4
and inet6, dynamic tags (`<ip>`, `<matches>` ...) left in place. Host-name
tags are kept as tags: bantam treats them as dynamic values.
"""
import json
import os
import sys

from fail2ban.client.actionreader import ActionReader
from fail2ban.server import action as server_action
from fail2ban.server.action import CommandAction

CONFIG = sys.argv[1] if len(sys.argv) > 1 else "/etc/fail2ban"
JAIL = "sshd"
VERBS = ["actionstart", "actionstop", "actioncheck", "actionban",
         "actionunban", "actionflush", "actionreban", "actionrepair"]

for tag in ("fq-hostname", "sh-hostname"):
    server_action.ADD_REPL_TAGS[tag] = (lambda t: lambda: "<%s>" % t)(tag)


def dump(name):
    out = {"action": name, "settings": [], "resolved": {}, "error": None}
    try:
        reader = ActionReader(name, JAIL, {}, basedir=CONFIG)
        if not reader.read():
            raise RuntimeError("unreadable")
        reader.getOptions({})
        for tok in reader.convert():
            if tok[0] == "multi-set":
                out["settings"].extend([k, str(v)] for k, v in tok[4])
            elif tok[0] == "set" and tok[2] == "action":
                out["settings"].append([tok[4], str(tok[5])])
        action = CommandAction(None, name)
        for key, value in out["settings"]:
            setattr(action, key, value)
        for verb in VERBS:
            out["resolved"][verb] = {
                family: action._getOperation("<%s>" % verb, family)
                for family in ("", "inet4", "inet6")
            }
    except Exception as e:  # one broken file must not hide the others
        out["error"] = "%s: %s" % (type(e).__name__, e)
    return out


for entry in sorted(os.listdir(os.path.join(CONFIG, "action.d"))):
    if entry.endswith(".conf"):
        print(json.dumps(dump(entry[:-len(".conf")])))
