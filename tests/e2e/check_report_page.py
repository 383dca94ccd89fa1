#!/usr/bin/python3
"""check_report_page.py PAGE.html WORKDIR [CHART_ID...]

Loads an inferlab HTML report from a file:// URL in a real headless Chromium
(a fresh profile, no network features), waits for the page's render marker,
and checks: no console output at all, no error caught by the page, every chart
the page draws exists with a non-zero size and drawn marks, and each CHART_ID
named is among them. When the page's data holds live runs' stage timings, the
live chart (live-stages) must be among them too. Takes a screenshot (WORKDIR/<page>.png) for people to
look at. The page must not reference anything outside itself."""
import json
import os
import re
import subprocess
import sys
import tempfile

page, work, expected = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
chromium = "/usr/bin/chromium"
if not os.access(chromium, os.X_OK):
    sys.exit("FAIL: %s is missing: scripts/install-deps.sh installs Debian's chromium" % chromium)


def browse(*args):
    with tempfile.TemporaryDirectory(prefix="inferlab-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=30000",
               *args, "file://" + page]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


html = open(page, encoding="utf-8").read()
# Markup outside the inlined scripts (whose code mentions tags in strings) and
# the script tags themselves must not point anywhere.
markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1", html, flags=re.S)
external = re.findall(r'<(?:script|link|img|iframe|object|embed)[^>]*(?:src|href|data)=', markup)
assert not external, "the page loads something from outside itself: %s" % external[:3]

run = browse("--dump-dom")
assert run.returncode == 0, "chromium exited %d: %s" % (run.returncode, run.stderr[-2000:])
console = [l for l in run.stderr.splitlines() if ":CONSOLE" in l]
assert not console, "console output:\n" + "\n".join(console)
state = re.search(r'<body[^>]*data-render-state="([a-z]+)"', run.stdout)
assert state, "no render marker on <body>"
status = re.search(r'<pre id="render-status"[^>]*>(.*?)</pre>', run.stdout, re.S)
assert status and status.group(1).strip(), "render status is empty (state %s)" % state.group(1)
doc = json.loads(status.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
assert state.group(1) == "done" and not doc["errors"], "page errors: %s" % doc["errors"]
charts = {c["id"]: c for c in doc["charts"]}
for c in doc["charts"]:
    assert c["width"] > 0 and c["height"] > 0 and c["marks"] > 0, "chart %s did not render: %s" % (c["id"], c)
data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1))
if data.get("live_stages"):
    expected = expected + ["live-stages"]
missing = [c for c in expected if c not in charts]
assert not missing, "charts not drawn: %s (drawn: %s)" % (missing, sorted(charts))

shot = os.path.join(work, os.path.splitext(os.path.basename(page))[0] + ".png")
run = browse("--hide-scrollbars", "--window-size=1400,4000", "--screenshot=" + shot)
assert run.returncode == 0 and os.path.getsize(shot) > 10000, "no screenshot: %s" % run.stderr[-1000:]
print("%s: %d charts rendered (%s), no console output; screenshot %s" %
      (os.path.basename(page), len(charts), ", ".join("%s %dx%d" % (i, c["width"], c["height"]) for i, c in charts.items()),
       shot))
