#!/usr/bin/env python3
"""check_serving.py BENCH_JSON MODE [ARGS]: structural checks of server and
multi-stream rows (no timing thresholds: the figures only have to agree
with each other).

MODE url: one server row driven over HTTP, bound met, split_ms present.
MODE inprocess B1,B2,...: one server row per max batch, each bound met.
MODE multistream N: every engine run carried N samples (queries of N
samples, batcher max batch N, a queue delay long enough to fill it)."""
import json
import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def check_search(r):
    bound = r["latency_bound_ms"]
    best = 0.0
    for p in r["search"]:
        ok = (not p["early_stopped"] and p["completed"] == p["issued"] and p["dropped"] == 0
              and p["cancelled"] == 0 and p["p99_ms"] <= bound)
        if p["met"] != ok:
            fail("probe %s: met=%s disagrees with its own figures" % (p, p["met"]))
        if p["met"]:
            best = max(best, p["target_qps"])
    for p in r["search"]:
        if not p["met"] and p["target_qps"] <= best:
            fail("failed probe at %g QPS is below the reported maximum %g" % (p["target_qps"], best))
    if not r["bound_met"] or best == 0:
        fail("no probe met the %g ms bound: %s" % (bound, r["search"]))
    if r["target_qps"] != best:
        fail("reported target %g is not the best met probe %g" % (r["target_qps"], best))
    if r["latency_ms"]["p99"] > bound:
        fail("reported p99 %g ms over the bound %g ms" % (r["latency_ms"]["p99"], bound))
    if r["queries"]["completed"] != r["count"]:
        fail("count %d != completed queries %d" % (r["count"], r["queries"]["completed"]))
    if abs(r["throughput_per_s"] - r["achieved_qps"]) > 1e-6 * max(1.0, r["achieved_qps"]):
        fail("throughput %g != achieved QPS %g" % (r["throughput_per_s"], r["achieved_qps"]))
    runs = r["batcher"]["batch_size_counts"]
    if sum(n * c for n, c in enumerate(runs)) != r["queries"]["completed"]:
        fail("batch size counts %s do not add up to %d completed queries" % (runs, r["queries"]["completed"]))
    return best


def main():
    doc = json.load(open(sys.argv[1]))
    mode = sys.argv[2]
    rows = doc["results"]
    for r in rows:
        if r["status"] != "ok":
            fail("row %s %s batch %s: %s %s" % (r["model"], r["backend"], r["batch"], r["status"], r["reason"]))
    if mode == "url":
        if len(rows) != 1:
            fail("expected one row, got %d" % len(rows))
        r = rows[0]
        best = check_search(r)
        split = r["split_ms"]
        for key in ("queue", "engine", "round_trip", "network_and_serialisation"):
            if key not in split:
                fail("split_ms lacks %s: %s" % (key, split))
        if not r["url"].startswith("http://127.0.0.1:"):
            fail("url %s" % r["url"])
        print("max QPS %.3g with p99 %.4g ms <= %g ms; round trip p50 %.3g ms of which network+serialisation %.3g ms"
              % (best, r["latency_ms"]["p99"], r["latency_bound_ms"], split["round_trip"]["p50"],
                 split["network_and_serialisation"]["p50"]))
    elif mode == "inprocess":
        batches = [int(b) for b in sys.argv[3].split(",")]
        got = sorted(r["batch"] for r in rows)
        if got != sorted(batches):
            fail("rows for max batch %s, expected %s" % (got, batches))
        for r in rows:
            if r["scenario"] != "server" or r["batcher"]["max_batch"] != r["batch"]:
                fail("row %s: scenario %s, batcher %s" % (r["batch"], r["scenario"], r["batcher"]))
            if r["batcher"]["batch_shapes"] not in ("exact", "padded") or not r["batcher"]["description"]:
                fail("batcher does not say how sessions are prepared: %s" % r["batcher"])
            best = check_search(r)
            print("max batch %d: max QPS %.4g, p99 %.4g ms, mean batch %.2f"
                  % (r["batch"], best, r["latency_ms"]["p99"], r["batcher"]["mean_batch"]))
    elif mode == "multistream":
        n = int(sys.argv[3])
        for r in rows:
            if r["scenario"] != "multi-stream" or r["samples_per_query"] != n:
                fail("row: %s %s" % (r["scenario"], r["samples_per_query"]))
            runs = r["batcher"]["batch_size_counts"]
            if runs[n] != r["queries"]["completed"] or sum(runs) != runs[n]:
                fail("queries of %d samples should each ride one batch of %d: %s" % (n, n, runs))
            if r["latency_bound_ms"] != r["interval_ms"]:
                fail("multi-stream bound %s != interval %s" % (r["latency_bound_ms"], r["interval_ms"]))
            if r["bound_met"] != (r["latency_ms"]["p99"] <= r["interval_ms"] and r["queries"]["dropped"] == 0
                                  and r["queries"]["cancelled"] == 0):
                fail("bound_met inconsistent with p99 %g and interval %g" % (r["latency_ms"]["p99"], r["interval_ms"]))
            print("multi-stream %d samples/query: p99 %.4g ms, interval %g ms, met %s"
                  % (n, r["latency_ms"]["p99"], r["interval_ms"], r["bound_met"]))
    else:
        fail("unknown mode " + mode)
    print("ok")


main()
