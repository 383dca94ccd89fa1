"""check_accuracy.py RESULT.json KEY=VALUE...: asserts fields of an `inferlab accuracy` document.

Checks every result row of the document:
  backends=a,b        the rows' backends, in order
  samples=N           samples evaluated per row
  corrupt=N           samples skipped as undecodable per row
  min_top1=X          top1 >= X for every row
  min_agreement=X     agreement_top1 >= X for every row
  sheet=1             every row names an existing PNG contact sheet
"""
import json
import sys


def main(path, checks):
    doc = json.load(open(path))
    assert doc["schema"] == "inferlab.bench/1", doc["schema"]
    rows = doc["results"]
    for row in rows:
        assert row["status"] == "ok", row
        for key in ("dataset", "samples", "top1", "top5", "agreement_top1"):
            assert key in row, f"{key} missing from {row}"
        assert 0 <= row["top1"] <= row["top5"] <= 1, row
        assert row["loader"]["samples_per_s"] > 0 and row["inference_samples_per_s"] > 0, row
    for check in checks:
        key, value = check.split("=", 1)
        if key == "backends":
            assert [r["backend"] for r in rows] == value.split(","), [r["backend"] for r in rows]
        for row in rows:
            if key == "samples":
                assert row["samples"] == int(value), (row["backend"], row["samples"])
            elif key == "corrupt":
                assert row["corrupt_skipped"] == int(value), (row["backend"], row["corrupt_skipped"])
            elif key == "min_top1":
                assert row["top1"] >= float(value), (row["backend"], row["top1"])
            elif key == "min_agreement":
                assert row["agreement_top1"] >= float(value), (row["backend"], row["agreement_top1"])
            elif key == "sheet":
                with open(row["contact_sheet"], "rb") as f:
                    assert f.read(8) == b"\x89PNG\r\n\x1a\n", row["contact_sheet"]
            elif key != "backends":
                raise SystemExit(f"unknown check {key}")
    print(f"ok: {path}: " + ", ".join(f"{r['backend']} top1 {r['top1']:.4f}" for r in rows))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
