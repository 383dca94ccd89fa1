"""A headless Chromium driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on file descriptors 3 and 4),
so the tests need no WebSocket library. Used by check_web_monitor.py."""
import base64
import fcntl
import json
import os
import queue
import subprocess
import tempfile
import threading
import time

CHROMIUM = "/usr/bin/chromium"


class Chromium:
    """One browser with one page attached. Events (console calls, exceptions)
    are kept in `events`. Use as a context manager: the browser and its
    profile folder are gone afterwards, whatever happened."""

    def __init__(self, width=1400, height=1100):
        if not os.access(CHROMIUM, os.X_OK):
            raise SystemExit("FAIL: %s is missing: scripts/install-deps.sh installs Debian's chromium" % CHROMIUM)
        self.profile = tempfile.TemporaryDirectory(prefix="inferlab-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():  # fds 3 (commands in) and 4 (answers out) in the browser
            a = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--user-data-dir=" + self.profile.name, "--remote-debugging-pipe",
               "--window-size=%d,%d" % (width, height), "about:blank"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._answers = {}
        self._cond = threading.Condition()
        self.events = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = None

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method, params=None, session=True, timeout=30):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._next_id not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or getattr(self, "_closed", False):
                    raise RuntimeError("no answer to %s from Chromium" % method)
                self._cond.wait(left)
            answer = self._answers.pop(self._next_id)
        if "error" in answer:
            raise RuntimeError("%s: %s" % (method, answer["error"]))
        return answer.get("result", {})

    def open(self, url):
        """Attaches to the page, enables console/exception reporting and navigates."""
        pages = [t for t in self.send("Target.getTargets", session=False)["targetInfos"] if t["type"] == "page"]
        self.session = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def eval(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError("page script failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    def click(self, selector):
        """A real mouse click (pressed + released) at the centre of the element."""
        rect = self.eval("(() => { const e = document.querySelector(%s); e.scrollIntoView({block: 'center'});"
                         " const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
                         % json.dumps(selector))
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": rect["x"], "y": rect["y"], "button": "left", "clickCount": 1})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def problems(self):
        """Console errors and uncaught exceptions seen so far."""
        out = []
        with self._cond:
            for e in self.events:
                if e.get("method") == "Runtime.exceptionThrown":
                    out.append("exception: %s" % e["params"]["exceptionDetails"].get("text"))
                elif e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning", "assert"):
                    out.append("console.%s: %s" % (e["params"]["type"],
                                                   " ".join(str(a.get("value", a.get("description"))) for a in e["params"]["args"])))
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self.profile.cleanup()
        return False
