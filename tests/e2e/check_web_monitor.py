#!/usr/bin/python3
"""check_web_monitor.py CLI WORKDIR

The web Timing Monitor end to end: `inferlab live --web 0` on the synthetic
source (paced like a camera, a heart rate that drifts), opened in a real
headless Chromium. Checks what a person would see: the FPS tile shows a
positive number and the FPS chart keeps growing; the BPM tile turns into a
number and the BPM trace grows and changes; a real mouse click on the switch
button changes the active backend shown (to the next one of the cycle) and
lists the switch; no console errors or page exceptions. Afterwards the run,
stopped by SIGTERM, must have recorded that switch in its --json. Prints the
update rate the page saw; leaves a screenshot in WORKDIR."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp_pipe import Chromium  # noqa: E402

cli, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def wait_for(what, predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    fail("%s within %g s" % (what, timeout_s))


out_path, err_path = os.path.join(work, "live.out"), os.path.join(work, "live.err")
live = subprocess.Popen([cli, "live", "--source", "synthetic:bpm=72,drift=0.3,noise=2", "--window", "5",
                         "--duration", "90", "--monitor", "none", "--web", "0", "--json", os.path.join(work, "live.json")],
                        stdout=open(out_path, "w"), stderr=open(err_path, "w"))
try:
    url = wait_for("live printed its web monitor URL",
                   lambda: (re.findall(r"^web monitor: (http://\S+)$", open(out_path).read(), re.M) or [None])[0]
                   if live.poll() is None else fail("live ended: " + open(err_path).read()), 60)
    with Chromium() as browser:
        browser.open(url)
        state = "(() => { const m = window.inferlabMonitor; if (!m || !m.last) return null; return {" \
                " samples: m.samples, errors: m.errors, fps: document.getElementById('fps').textContent," \
                " bpm: document.getElementById('bpm').textContent, backend: document.getElementById('backend').textContent," \
                " cycle: m.last.backend_cycle, switches: document.getElementById('switches').textContent," \
                " button: document.getElementById('switch-backend').textContent," \
                " fpsPoints: m.series.fps.filter(v => v !== null && v > 0).length," \
                " bpmValues: m.series.bpm.filter(v => v !== null)," \
                " canvases: [...document.querySelectorAll('.chart canvas')].filter(c => c.width > 0).length }; })()"
        first = wait_for("the page received samples", lambda: (s := browser.eval(state)) and s["samples"] >= 3 and s, 30)
        started = time.monotonic()

        # Moving FPS: a positive number in the tile, a chart that keeps gaining points.
        fps_now = float(first["fps"]) if re.fullmatch(r"[0-9.]+", first["fps"]) else fail("FPS tile shows %r" % first["fps"])
        if fps_now <= 0:
            fail("FPS tile shows %s" % first["fps"])
        later = wait_for("the FPS chart gained points",
                         lambda: (s := browser.eval(state)) and s["fpsPoints"] >= first["fpsPoints"] + 4 and s, 20)
        if later["canvases"] < 4:
            fail("only %d charts drawn" % later["canvases"])

        # Moving BPM: a reading in the tile, then a trace whose value changes as the rate drifts.
        reading = wait_for("a BPM reading", lambda: (s := browser.eval(state)) and re.fullmatch(r"[0-9.]+", s["bpm"]) and s, 40)
        bpm = float(reading["bpm"])
        if not 40 <= bpm <= 200:
            fail("BPM tile shows %s" % reading["bpm"])
        moving = wait_for("the BPM trace moving (new points, more than one value)",
                          lambda: (s := browser.eval(state)) and len(s["bpmValues"]) >= len(reading["bpmValues"]) + 4
                          and len(set(s["bpmValues"])) > 1 and s, 30)

        # The switch button: a real click; the active backend shown becomes the next of the cycle.
        before = moving["backend"]
        cycle = moving["cycle"]
        expected = cycle[(cycle.index(before) + 1) % len(cycle)]
        if moving["button"] != "Switch to " + expected:
            fail("the button says %r, expected 'Switch to %s'" % (moving["button"], expected))
        browser.click("#switch-backend")
        switched = wait_for("the active backend to change from %s to %s" % (before, expected),
                            lambda: (s := browser.eval(state)) and s["backend"] == expected and s, 30)
        if "%s → %s" % (before, expected) not in switched["switches"]:
            fail("the switch list says %r" % switched["switches"])

        elapsed = time.monotonic() - started
        rate = (switched["samples"] - first["samples"]) / elapsed
        problems = browser.problems() + switched["errors"]
        if problems:
            fail("the page reported: %s" % problems)
        browser.screenshot(os.path.join(work, "web-monitor.png"))
    live.send_signal(signal.SIGTERM)
    code = live.wait(timeout=60)
    if code != 0:
        fail("live exited %d after SIGTERM: %s" % (code, open(err_path).read()))
    report = json.load(open(os.path.join(work, "live.json")))
    recorded = [(s["from"], s["to"]) for s in report["switches"]]
    if recorded != [(before, expected)]:
        fail("live --json recorded switches %s, expected [(%s, %s)]" % (recorded, before, expected))
    print("PASS: FPS %s, BPM %s -> %s (%d readings), backend %s -> %s by the button; %.2f updates/s over %.1f s; "
          "screenshot %s" % (first["fps"], reading["bpm"], switched["bpm"], len(switched["bpmValues"]), before,
                             expected, rate, elapsed, os.path.join(work, "web-monitor.png")))
finally:
    if live.poll() is None:
        live.kill()
        live.wait()
