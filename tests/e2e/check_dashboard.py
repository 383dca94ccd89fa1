#!/usr/bin/python3
"""check_dashboard.py --scrape FILE [--scrape FILE...] [--prometheus URL] DASHBOARD.json...

Checks that every PromQL expression of the Grafana dashboards (each panel's
targets and each template variable's label_values query) names only metrics
that inferlab really exports: each name must occur in one of the /metrics
scrapes given (a histogram's _bucket/_sum/_count samples count as names).
One exception, by design: inferlab_power_watts is exported only where a power
sensor exists, and inferlab_power_unavailable_info (with the reason) only
where none does, so either may be missing when the other is present.

With --prometheus URL (a Prometheus that scrapes those endpoints) every
expression is also run through its HTTP API (/api/v1/query) with Grafana's
variables filled in ($job, $instance: all; $__rate_interval: 30s; $__range:
5m): it must parse, and one whose metrics are all in the scrapes must return
at least one series."""
import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
            "inf", "nan", "atan2"}
# Each may be absent if its partner is present (sensor vs no sensor).
EITHER_OR = {"inferlab_power_watts": "inferlab_power_unavailable_info",
             "inferlab_power_unavailable_info": "inferlab_power_watts"}


def metric_names(expr):
    """The metric names an expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    text = re.sub(r"(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?", " ", text)  # numbers
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[m.end():].lstrip()
        if following.startswith("(") or m.group(0).lower() in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def expressions(dashboard):
    """(where, expr) of every panel target, rows' nested panels included, and every label_values variable."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append(("panel '%s' target %s" % (p.get("title"), t.get("refId")), t["expr"]))
            walk(p.get("panels", []))

    walk(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"\s*label_values\((.*),\s*\w+\s*\)\s*$", q or "")
        if v.get("type") == "query" and m:
            out.append(("variable $%s" % v["name"], m.group(1)))
    return out


def scraped_names(path):
    names = set()
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def query(base, expr):
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # a PromQL error is a 400 with a JSON body
        return json.load(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scrape", action="append", required=True)
    ap.add_argument("--prometheus")
    ap.add_argument("dashboards", nargs="+")
    args = ap.parse_args()
    exported = set().union(*(scraped_names(p) for p in args.scrape))
    problems, checked = [], 0
    for path in args.dashboards:
        for where, expr in expressions(json.load(open(path, encoding="utf-8"))):
            names = metric_names(expr)
            if not names:
                problems.append("%s: %s: no metric name found in %r" % (path, where, expr))
            missing = {n for n in names if n not in exported and EITHER_OR.get(n) not in exported}
            if missing:
                problems.append("%s: %s: %s not exported (expression %r)" % (path, where, ", ".join(sorted(missing)), expr))
            checked += 1
            if not args.prometheus:
                continue
            filled = (expr.replace("$__rate_interval", "30s").replace("$__range", "5m")
                      .replace("$job", ".*").replace("$instance", ".*"))
            answer = query(args.prometheus, filled)
            # A series in the scrape may be one scrape interval from reaching Prometheus.
            for _ in range(10):
                if answer.get("status") != "success" or answer["data"]["result"] or not names <= exported:
                    break
                time.sleep(1)
                answer = query(args.prometheus, filled)
            if answer.get("status") != "success":
                problems.append("%s: %s: Prometheus rejects %r: %s" % (path, where, filled, answer.get("error")))
            elif names <= exported and not answer["data"]["result"]:
                problems.append("%s: %s: %r returned no series" % (path, where, filled))
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print("dashboards: %d expressions, every metric name exported%s" %
          (checked, "; each ran in Prometheus" if args.prometheus else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
