#!/usr/bin/python3
"""Runs the corpus models/export_corpus.py wrote on native and onnxruntime
and reports, per architecture, whether native runs it and agrees with ONNX
Runtime, with both p50s from the same `inferlab bench` run.

    /usr/bin/python3 models/corpus_report.py --cli build/apps/inferlab/inferlab --dir DIR
        [--only a,b] [--threads 2] [--precision fp32|bf16|int8] [--calib DATASET] [--repeat N]
        [--json OUT.json] [--md OUT.md]

One `inferlab bench` per architecture (backends onnxruntime,native, the
reference onnxruntime; each configuration in its own worker process), so a
model that crashes a worker still gets its row. Pass means: native's row is
"ok" and its outputs are within bench's tolerance of ONNX Runtime's (max
|diff| <= 1e-3 x max |reference|, cosine >= 0.9999; bf16's own bounds at
--precision bf16). With --precision int8 (needs --calib, e.g. folder:DIR:
bench quantizes each model first, calibration only), pass means native's
int8 row is "ok"; its speed against native fp32 and its agreement with ONNX
Runtime's fp32 outputs are reported, not gated (seeded weights calibrated on
whatever images are at hand say little about int8 accuracy).
With --repeat N each architecture's bench runs N times, one after the
other: the p50 columns are the medians of the N runs and the ratio column
the median of the N runs' ratios with their range. (Each bench measures its
backends one after the other, so a ratio from one run carries whatever the
machine did in between: on these VMs identical runs gave 0.71 to 1.49.)
Exit 1 when any architecture fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def bench(cli: str, path: str, threads: int, precision: str, work: str, calib: str) -> tuple[list[dict], str]:
    out = os.path.join(work, os.path.basename(path) + ".json")
    precisions = "fp32" if precision == "fp32" else "fp32," + precision
    cmd = [cli, "bench", path, "--backends", "onnxruntime,native", "--reference", "onnxruntime",
           "--precision", precisions, "--threads", str(threads), "--min-duration-ms", "1000", "--min-count", "20",
           "--warmup", "3", "--no-store", "--json", out]
    if calib:
        cmd += ["--calib", calib, "--calib-count", "16", "--calibrator", "minmax"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0 or not os.path.exists(out):
        return [], (run.stderr.strip().splitlines() or ["exit %d" % run.returncode])[-1]
    return json.load(open(out))["results"], ""


def row_for(name: str, entry: dict, results: list[dict], error: str, precision: str) -> dict:
    row = {"name": name, "input": "x".join(str(d) for d in entry.get("input", [])), "pass": False}
    if "error" in entry:
        row["reason"] = "export failed: " + entry["error"]
        return row
    if error:
        row["reason"] = "bench failed: " + error
        return row
    by = {(r["backend"], r["precision"]): r for r in results}
    ort, native = by.get(("onnxruntime", "fp32")), by.get(("native", precision))
    if ort and ort["status"] == "ok":
        row["ort_p50_ms"] = ort["latency_ms"]["p50"]
    if native and native.get("status") == "ok":
        row["native_p50_ms"] = native["latency_ms"]["p50"]
    fp32 = by.get(("native", "fp32"))
    if precision != "fp32" and fp32 and fp32.get("status") == "ok":
        row["native_fp32_p50_ms"] = fp32["latency_ms"]["p50"]
    if not native or native["status"] != "ok":
        row["reason"] = "native %s: %s" % (native["status"], native["reason"]) if native else "no native row"
        return row
    v = native.get("validation")
    if not v:
        row["reason"] = "no onnxruntime output to compare with"
        return row
    row["max_abs_diff"], row["cosine"] = v["max_abs_diff"], v["cosine"]
    row["pass"] = bool(v["within_tolerance"]) or precision == "int8"
    if not row["pass"]:
        row["reason"] = "outputs disagree with onnxruntime"
    return row


def merge_runs(runs: list[dict]) -> dict:
    """One row from the rows of N runs: the first run's verdict and outputs, the medians of the p50s, and the
    ratio of every run where both backends ran."""
    row = dict(runs[0])
    row["pass"] = all(r["pass"] for r in runs)
    if not row["pass"]:
        row["reason"] = next(r.get("reason", "") for r in runs if not r["pass"])
    for key in ("native_p50_ms", "ort_p50_ms", "native_fp32_p50_ms"):
        values = [r[key] for r in runs if key in r]
        if values:
            row[key + "_runs"] = values
            row[key] = statistics.median(values)
    ratios = [r["native_p50_ms"] / r["ort_p50_ms"] for r in runs if "native_p50_ms" in r and "ort_p50_ms" in r]
    if ratios:
        row["ratio_runs"] = ratios
    own = [r["native_p50_ms"] / r["native_fp32_p50_ms"] for r in runs
           if "native_p50_ms" in r and "native_fp32_p50_ms" in r]
    if own:
        row["own_ratio_runs"] = own
    return row


def ratio_cell(values: list[float] | None, fallback: float | None) -> str:
    if values and len(values) > 1:
        return "%.2f (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))
    if values:
        return "%.2f" % values[0]
    return "" if fallback is None else "%.2f" % fallback


def markdown(rows: list[dict], precision: str) -> str:
    lines = ["| architecture | input | native %s | max abs diff | cosine | native p50 ms | onnxruntime p50 ms | "
             "native / ort | %snote |" % (precision, "" if precision == "fp32" else "native %s / fp32 | " % precision),
             "|---|---|---|---|---|---|---|---|%s---|" % ("" if precision == "fp32" else "---|")]
    for r in rows:
        ratio = ratio_cell(r.get("ratio_runs"), r["native_p50_ms"] / r["ort_p50_ms"]
                           if "native_p50_ms" in r and "ort_p50_ms" in r else None)
        if precision != "fp32":
            own = r["native_p50_ms"] / r["native_fp32_p50_ms"] if "native_fp32_p50_ms" in r and "native_p50_ms" in r else None
            own_runs = r.get("own_ratio_runs")
            slower = (statistics.median(own_runs) if own_runs else own or 0) > 1.0
            ratio += " | " + ratio_cell(own_runs, own) + (" (slower)" if slower else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["name"], r["input"], "pass" if r["pass"] else "**fail**",
            ("%.3g" % r["max_abs_diff"]) if "max_abs_diff" in r else "",
            ("%.6f" % r["cosine"]) if "cosine" in r else "",
            ("%.2f" % r["native_p50_ms"]) if "native_p50_ms" in r else "",
            ("%.2f" % r["ort_p50_ms"]) if "ort_p50_ms" in r else "", ratio, r.get("reason", "")))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--only", default="")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8"])
    parser.add_argument("--calib", default="", help="with --precision int8: bench's --calib dataset (folder:DIR)")
    parser.add_argument("--repeat", type=int, default=1, help="bench runs per architecture (medians reported)")
    parser.add_argument("--json", default="")
    parser.add_argument("--md", default="")
    args = parser.parse_args()
    manifest = os.path.join(args.dir, "corpus.json")
    if not os.path.exists(manifest):
        print(f"corpus_report.py: --dir {args.dir}: no corpus.json (run models/export_corpus.py first)",
              file=sys.stderr)
        return 2
    if args.precision == "int8" and not args.calib:
        print("corpus_report.py: --precision int8 needs --calib (e.g. folder:DIR of images)", file=sys.stderr)
        return 2
    entries = json.load(open(manifest))["models"]
    only = [n for n in args.only.split(",") if n]
    rows = []
    with tempfile.TemporaryDirectory(prefix="inferlab-corpus-") as work:
        for entry in entries:
            if only and entry["name"] not in only:
                continue
            runs = []
            for _ in range(max(1, args.repeat)):
                results, error = ([], "") if "error" in entry else bench(
                    args.cli, os.path.join(args.dir, entry["file"]), args.threads, args.precision, work,
                    args.calib if args.precision == "int8" else "")
                runs.append(row_for(entry["name"], entry, results, error, args.precision))
            row = merge_runs(runs)
            print("%-20s %s %s" % (row["name"], "pass" if row["pass"] else "FAIL", row.get("reason", "")), flush=True)
            rows.append(row)
    if args.json:
        json.dump({"precision": args.precision, "threads": args.threads, "repeat": args.repeat, "rows": rows},
                  open(args.json, "w"), indent=1)
    table = markdown(rows, args.precision)
    if args.md:
        open(args.md, "w").write(table)
    print(table)
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
