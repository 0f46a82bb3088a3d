#!/usr/bin/python3
"""Python's own `re` as the oracle for bantam's Python-dialect translator.

Reads JSON from stdin: a list of cases {"pattern": P, "flags": "ims", "text": T}
and writes a JSON list with, per case, either {"error": MESSAGE} or
{"groups": N, "names": {NAME: INDEX}, "match": null | [[start, end] | null, ...]}
with spans in UTF-8 byte offsets (bantam's unit), group 0 first.

One process answers many cases, so tests can ask thousands at once.
"""
import json
import re
import sys
import warnings

FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def byte_offset(text, index):
    return len(text[:index].encode("utf-8"))


def answer(case):
    flags = 0
    for letter in case.get("flags", ""):
        flags |= FLAGS[letter]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = re.compile(case["pattern"], flags)
    except (re.error, OverflowError, RecursionError) as e:
        return {"error": str(e)}
    text = case["text"]
    out = {"groups": compiled.groups, "names": dict(compiled.groupindex)}
    m = compiled.search(text, case.get("start", 0))
    if m is None:
        out["match"] = None
    else:
        spans = []
        for i in range(compiled.groups + 1):
            s, e = m.span(i)
            spans.append(None if s < 0 else [byte_offset(text, s), byte_offset(text, e)])
        out["match"] = spans
    return out


def main():
    cases = json.load(sys.stdin)
    json.dump([answer(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
