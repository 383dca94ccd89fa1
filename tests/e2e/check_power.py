#!/usr/bin/env python3
"""check_power.py INFO_JSON BENCH_JSON STDOUT_TXT

Power figures agree with `inferlab info` on this machine: where no reader is
used, every power field is null and the result says why, naming what was
looked for (RAPL, NVML, INA3221, hwmon); where a reader is used, the figure is
positive and names its sensor and method. Never a number without a sensor.
"""
import json
import sys


def fail(message):
    print(f"check_power: {message}", file=sys.stderr)
    sys.exit(1)


info = json.load(open(sys.argv[1]))
bench = json.load(open(sys.argv[2]))
stdout = open(sys.argv[3]).read()

readers = {r["name"]: r for r in info.get("power_readers", [])}
if set(readers) != {"rapl", "nvml", "ina3221", "hwmon"}:
    fail(f"info --json power_readers lists {sorted(readers)}")
for name, r in readers.items():
    if not r["detail"]:
        fail(f"reader {name} has no detail")
    if not r["available"] and not r["detail"].startswith("n/a: "):
        fail(f"reader {name} unavailable without an n/a reason: {r['detail']}")
used = [r for r in readers.values() if r["used"]]

results = bench["results"]
if not results:
    fail("no results")
for r in results:
    where = f"{r['model']}/{r['backend']}"
    if r["status"] != "ok":
        fail(f"{where}: status {r['status']}: {r['reason']}")
    if used:
        if r["power_w"] is None or r["power_w"]["avg"] <= 0:
            fail(f"{where}: a reader is used ({used[0]['name']}) but power_w is {r['power_w']}")
        src = r["energy_source"]
        if not src or src["method"] not in ("counter", "sampled", "counter+sampled") or not src["sensor"]:
            fail(f"{where}: energy_source {src}")
        if r["energy_mj_per_inference"] is None or r["energy_mj_per_inference"] <= 0:
            fail(f"{where}: energy_mj_per_inference {r['energy_mj_per_inference']}")
    else:
        for field in ("power_w", "energy_mj_per_inference", "energy_source"):
            if r[field] is not None:
                fail(f"{where}: {field} is {r[field]} on a machine with no power reader")
        note = r["power_note"]
        if not note.startswith("n/a: "):
            fail(f"{where}: power_note does not say n/a: {note!r}")
        for looked in ("powercap", "libnvidia-ml", "ina3221", "hwmon"):
            if looked not in note:
                fail(f"{where}: power_note does not say it looked for {looked}: {note!r}")
if not used and "n/a" not in stdout:
    fail("the printed report does not say power is n/a")
print(f"check_power: {len(results)} result(s) agree with info ({'used: ' + used[0]['name'] if used else 'no reader'})")
