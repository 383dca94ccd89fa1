#!/usr/bin/python3
"""check_prometheus.py URL --expect JOB/HISTOGRAM/LABEL=V1,V2,... [--expect ...] [--timeout S]

Asks a running Prometheus, through its HTTP API (/api/v1/query), whether it
scraped each expected histogram from each job: for every JOB/HISTOGRAM/LABEL
values group, waits (up to --timeout seconds, default 45) until
`up{job="JOB"}` is 1 and HISTOGRAM_count{job="JOB"} has a series with a
count > 0 for each value of LABEL, then checks that the median over the
last 15 s, histogram_quantile(0.5, sum by (le, LABEL) (rate(HISTOGRAM_bucket
[15s]))), is a finite number of seconds for each value. One group per scrape
target kind: `live` today; `serve` adds its own --expect."""
import argparse
import json
import math
import sys
import time
import urllib.parse
import urllib.request


def query(base, expr):
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        answer = json.load(r)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def by_label(result, label):
    return {s["metric"].get(label, ""): float(s["value"][1]) for s in result}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--expect", action="append", required=True)
    ap.add_argument("--timeout", type=float, default=45)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    for group in args.expect:
        job, histogram, selector = group.split("/")
        label, values = selector.split("=")
        values = values.split(",")
        last = "nothing yet"
        while True:
            try:
                up = query(args.url, 'up{job="%s"}' % job)
                counts = by_label(query(args.url, '%s_count{job="%s"}' % (histogram, job)), label)
                medians = by_label(query(args.url, 'histogram_quantile(0.5, sum by (le, %s) (rate(%s_bucket{job="%s"}[15s])))'
                                         % (label, histogram, job)), label)
                ready = (up and all(float(s["value"][1]) == 1 for s in up) and
                         all(counts.get(v, 0) > 0 for v in values) and
                         all(v in medians and math.isfinite(medians[v]) for v in values))
                last = "up=%s counts=%s medians=%s" % ([s["value"][1] for s in up], counts, medians)
            except OSError as e:  # Prometheus still starting
                ready, last = False, str(e)
            if ready:
                break
            if time.monotonic() > deadline:
                print("FAIL: %s: %s not queryable for every %s in %s within %g s; last answer: %s" %
                      (job, histogram, label, values, args.timeout, last))
                return 1
            time.sleep(1)
        print("%s: %s queryable in Prometheus; median over 15 s per %s: %s" %
              (job, histogram, label, ", ".join("%s %.3g ms" % (v, medians[v] * 1000) for v in values)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
