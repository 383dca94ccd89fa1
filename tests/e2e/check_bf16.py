#!/usr/bin/python3
"""check_bf16.py BENCH.json [--capped]

Checks a `bench --backends native,opencv --precision fp32,bf16` result:
opencv's bf16 row is "unsupported" with a reason; native's bf16 row ran and
agrees with the fp32 reference within bench's bf16 bounds where this CPU has
avx512_bf16 or AMX (read from /proc/cpuinfo, independently of oneDNN), and
is "unsupported" naming what is missing where it has neither. --capped: the
run had ONEDNN_MAX_CPU_ISA below avx512_core_bf16, so native's bf16 row must
be unsupported whatever the CPU.
"""
import json
import sys

rows = {(r["backend"], r["precision"]): r for r in json.load(open(sys.argv[1]))["results"]}
capped = "--capped" in sys.argv[2:]
flags = set()
for line in open("/proc/cpuinfo"):
    if line.startswith("flags"):
        flags = set(line.split(":", 1)[1].split())
        break
has_bf16 = bool(flags & {"avx512_bf16", "amx_bf16"}) and not capped

native = rows[("native", "bf16")]
if has_bf16:
    assert native["status"] == "ok", native
    v = native["validation"]
    assert v is not None and v["reference"] == "native", native
    # bf16 rounding shows: not bit-equal to fp32, but within its bounds.
    assert v["within_tolerance"], v
    assert 0 < v["max_abs_diff"], v
    assert v["cosine"] >= 0.999, v
    print(f"native bf16: ok, max |diff| {v['max_abs_diff']:.3g}, cosine {v['cosine']:.6f}")
else:
    assert native["status"] == "unsupported", native
    assert "bf16 needs avx512_bf16 or AMX" in native["reason"], native["reason"]
    print("native bf16: unsupported:", native["reason"])
assert rows[("native", "fp32")]["status"] == "ok", rows[("native", "fp32")]
if not capped:
    other = rows[("opencv", "bf16")]
    assert other["status"] == "unsupported" and other["reason"], other
    print("opencv bf16: unsupported:", other["reason"])
