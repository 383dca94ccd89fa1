"""Checks `inferlab live --json` and `rppg-eval --json` documents field by field.

    check_live.py truth JSON BPM          a run on synthetic video with a known heart rate
    check_live.py noface JSON             a run with no face: no BPM, but frames kept flowing
    check_live.py switch JSON N           at least N backend switches, no frame lost beyond counted drops
    check_live.py compare JSON a,b        --compare: one complete run object per backend
    check_live.py eval JSON m1,m2,...     rppg-eval: every method reported, POS within issue 4's bounds
"""
import json
import sys

# CLI.md's `live --json` fields.
RUN_FIELDS = ["backend", "method", "source", "frames", "fps_avg", "bpm_median", "bpm_series", "bpm_mae", "bpm_rmse",
              "stages", "rss_mb_avg", "rss_mb_max", "dropped_frames", "switches"]
STAGES = ["capture", "face_detect", "roi_signal", "inference", "display", "end_to_end"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check_run(run, where):
    for field in RUN_FIELDS:
        if field not in run:
            fail(f"{where}: field '{field}' missing")
    if run["frames"] <= 0:
        fail(f"{where}: no frame went through the pipeline")
    if run["frames_captured"] != run["frames"] + run["dropped_frames"]:
        fail(f"{where}: {run['frames_captured']} captured != {run['frames']} processed + {run['dropped_frames']} dropped")
    for stage in STAGES:
        s = run["stages"].get(stage)
        if s is None or not (0 <= s["p50_ms"] <= s["p99_ms"]):
            fail(f"{where}: stage '{stage}' missing or p50/p99 out of order: {s}")
    for item in run["bpm_series"]:
        if len(item) != 3 or not isinstance(item[0], (int, float)):
            fail(f"{where}: bpm_series item {item} is not [t_s, bpm, snr]")
    if not (0 < run["rss_mb_avg"] <= run["rss_mb_max"]):
        fail(f"{where}: rss_mb_avg {run['rss_mb_avg']} / rss_mb_max {run['rss_mb_max']}")
    if run["power_w"] is not None and "no power sensor" in run.get("power_note", ""):
        fail(f"{where}: a power value without a sensor")
    if run["fps_avg"] <= 0:
        fail(f"{where}: fps_avg {run['fps_avg']}")


def main(mode, path, arg=None):
    doc = json.load(open(path))
    if mode == "truth":
        check_run(doc, path)
        want = float(arg)
        if doc["bpm_median"] is None or abs(doc["bpm_median"] - want) > 3:
            fail(f"bpm_median {doc['bpm_median']}, ground truth {want}")
        if doc["bpm_mae"] is None or doc["bpm_mae"] > 3:
            fail(f"bpm_mae {doc['bpm_mae']} > 3 BPM")
        if not any(item[1] is not None for item in doc["bpm_series"]):
            fail("no reading in bpm_series")
    elif mode == "noface":
        check_run(doc, path)
        if doc["bpm_median"] is not None or any(item[1] is not None for item in doc["bpm_series"]):
            fail(f"a BPM was reported without a face: median {doc['bpm_median']}")
        if doc["frames"] < 30:
            fail(f"only {doc['frames']} frames: the pipeline did not keep running")
    elif mode == "switch":
        check_run(doc, path)
        switches = doc["switches"]
        if len(switches) < int(arg):
            fail(f"{len(switches)} switches recorded, expected at least {arg}")
        for s in switches:
            if s.get("error") or s["from"] == s["to"] or not (s["switch_ms"] >= 0) or s["at_s"] <= 0:
                fail(f"bad switch record {s}")
        if doc["backend"] != switches[-1]["to"]:
            fail(f"final backend {doc['backend']} is not the last switch's target {switches[-1]['to']}")
    elif mode == "compare":
        backends = arg.split(",")
        runs = doc.get("runs")
        if not isinstance(runs, list) or [r.get("backend") for r in runs] != backends:
            fail(f"runs {runs and [r.get('backend') for r in runs]} != {backends}")
        for r in runs:
            if r.get("status") != "ok":
                fail(f"run {r.get('backend')}: {r.get('status')} {r.get('reason')}")
            check_run(r, r["backend"])
            if r["bpm_median"] is None or not r["bpm_series"]:
                fail(f"run {r['backend']}: no bpm_median / bpm_series")
    elif mode == "eval":
        methods = arg.split(",")
        for m in methods:
            got = doc["methods"].get(m)
            if got is None or got["readings"] <= 0:
                fail(f"method {m} not reported: {got}")
        clips = {(c["clip"], c["method"]): c for c in doc["clips"]}
        for clip, bound in [("still", 2), ("bpm45", 2), ("bpm150", 2), ("motion", 4), ("light", 4)]:
            c = clips.get((clip, "pos"))
            if c is None or c["status"] != "ok" or c["mae"] is None or c["mae"] > bound:
                fail(f"POS on {clip}: {c} (MAE must be <= {bound})")
    else:
        fail("unknown mode " + mode)
    print(f"ok: {mode} {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
