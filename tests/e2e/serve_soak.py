#!/usr/bin/env python3
"""serve_soak.py CLI WORK MODEL DURATION_S: `inferlab serve` under abuse for
DURATION_S seconds: valid requests, bodies cut off mid-upload, requests whose
client hangs up before (or while) the answer comes, malformed JSON and
oversized bodies, from two client threads. Every bad request must get a 400
JSON error, valid ones 200, and the server's resident memory, threads and
open files must stay flat after the first quarter (the warm-up of its
allocators); then SIGTERM must stop it with exit 0."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

cli, work, model, duration = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
os.makedirs(work, exist_ok=True)
MAX_REQUEST_MB = 4
RSS_GROWTH_LIMIT_MB = 32  # allocator arenas settle; a per-request leak of a 600 KB body would pass this in a minute


def fail(message):
    print("FAIL:", message)
    server.kill()
    print(open(os.path.join(work, "serve.err")).read()[-2000:])
    sys.exit(1)


server = subprocess.Popen([cli, "serve", model, "--port", "0", "--max-batch", "4", "--max-queue-delay-us", "2000",
                           "--max-request-mb", str(MAX_REQUEST_MB), "--http-threads", "8"],
                          stdout=subprocess.PIPE, stderr=open(os.path.join(work, "serve.err"), "w"), text=True)
line = server.stdout.readline()
match = re.search(r"at http://127\.0\.0\.1:(\d+)", line)
if not match:
    fail("serve printed no address: %r" % line)
port = int(match.group(1))


def status_field(key):
    for row in open("/proc/%d/status" % server.pid):
        if row.startswith(key + ":"):
            return int(row.split()[1])
    return -1


def resources():
    return status_field("VmRSS") / 1024.0, status_field("Threads"), len(os.listdir("/proc/%d/fd" % server.pid))


def request(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, data


status, meta = request("GET", "/v2/models/" + model)
if status != 200:
    fail("metadata: %d %s" % (status, meta))
spec = json.loads(meta)["inputs"][0]
shape = [1] + spec["shape"][1:]
count = 1
for d in shape:
    count *= d
body = json.dumps({"inputs": [{"name": spec["name"], "shape": shape, "datatype": "FP32",
                               "data": [0.25] * count}]}).encode()
path = "/v2/models/%s/infer" % model
head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (path, len(body))).encode()
oversized = b" " * (MAX_REQUEST_MB * 1024 * 1024 + 1)
counts = {"ok": 0, "bad": 0, "cut_upload": 0, "hangup": 0, "oversized": 0}
errors = []
stop_at = time.time() + duration


def raw(payload, read_bytes):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(payload)
    if read_bytes:
        s.recv(read_bytes)
    s.close()


def client(index):
    i = 0
    while time.time() < stop_at and not errors:
        i += 1
        try:
            status, data = request("POST", path, body)
            if status != 200:
                errors.append("valid request got %d: %s" % (status, data[:200]))
            counts["ok"] += 1
            status, data = request("POST", path, b'{"inputs": [')
            if status != 400 or "error" not in json.loads(data):
                errors.append("malformed JSON got %d: %s" % (status, data[:200]))
            counts["bad"] += 1
            raw(head + body[: len(body) // 2], 0)  # the upload stops halfway
            counts["cut_upload"] += 1
            raw(head + body, 0)  # hangs up before the answer
            raw(head + body, 100)  # ... or while reading it
            counts["hangup"] += 2
            if i % 10 == index:
                status, data = request("POST", path, oversized)
                if status != 400 or "larger than" not in json.loads(data)["error"]:
                    errors.append("oversized body got %d: %s" % (status, data[:200]))
                counts["oversized"] += 1
        except Exception as e:  # noqa: BLE001 - any client failure is a test failure
            errors.append("client %d: %r" % (index, e))


threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
for t in threads:
    t.start()
series = []
baseline = None
while any(t.is_alive() for t in threads):
    time.sleep(1)
    series.append(resources())
    if baseline is None and time.time() > stop_at - 0.75 * duration:
        baseline = resources()
for t in threads:
    t.join()
if errors:
    fail(errors[0])
time.sleep(1)  # the server finishes the work of the last hung-up requests
final = resources()
status, _ = request("POST", path, body)
if status != 200:
    fail("the server stopped serving after the soak: %d" % status)
status, page = request("GET", "/metrics")
if status != 200 or b"inferlab_serve_requests_total" not in page:
    fail("/metrics: %d" % status)
print("requests:", counts)
print("RSS MB / threads / fds: baseline %s, final %s" % (baseline, final))
print("RSS MB series:", [round(s[0], 1) for s in series])
if final[0] - baseline[0] > RSS_GROWTH_LIMIT_MB:
    fail("RSS grew %.1f MB after the warm-up quarter" % (final[0] - baseline[0]))
if final[1] > baseline[1]:
    fail("threads grew from %d to %d" % (baseline[1], final[1]))
if final[2] > baseline[2] + 2:
    fail("open files grew from %d to %d" % (baseline[2], final[2]))
server.send_signal(signal.SIGTERM)
code = server.wait(timeout=60)
if code != 0:
    fail("serve exited %d on SIGTERM" % code)
print("ok")
