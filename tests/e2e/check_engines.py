"""check_engines.py BENCH_JSON MODELS BACKENDS [MIN_COSINE]

Every model x backend has an `ok` row at each batch, in one document; every
row but the reference backend's (the first) carries a validation against it
that agrees (within tolerance, cosine >= MIN_COSINE, default 0.9999).
"""
import json
import sys


def main():
    path, models, backends = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
    min_cosine = float(sys.argv[4]) if len(sys.argv) > 4 else 0.9999
    rows = json.load(open(path))["results"]
    reference = backends[0]
    seen = set()
    for r in rows:
        key = (r["model"], r["backend"])
        assert r["status"] == "ok", f"{key} batch {r['batch']}: {r['status']}: {r.get('reason')}"
        seen.add(key)
        if r["backend"] == reference:
            continue
        v = r.get("validation")
        assert v is not None, f"{key}: no validation against {reference}"
        assert v["reference"] == reference, (key, v)
        assert v["cosine"] >= min_cosine, f"{key}: cosine {v['cosine']} < {min_cosine}"
        assert v.get("within_tolerance", True), f"{key}: max |diff| {v['max_abs_diff']} beyond tolerance"
    missing = [(m, b) for m in models for b in backends if (m, b) not in seen]
    assert not missing, f"no rows for {missing}"
    for r in rows:
        if "cleaned by inferlab's graph passes" in r.get("model_form", ""):
            print(f"note: {r['model']} x {r['backend']} ran {r['model_form']}")
    print(f"ok: {len(rows)} rows, {len(models)} model(s) x {len(backends)} backends, all agreeing with {reference}")


if __name__ == "__main__":
    main()
