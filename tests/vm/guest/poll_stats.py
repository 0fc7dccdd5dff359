#!/usr/bin/env python3
"""Polls io.framepace.Scheduler.GetStats on one connection every 20 ms until a file appears.

    poll_stats.py SOCKET STOPFILE

Prints JSON: calls, failures, max_latency_ms, first_drop_usec (CLOCK_REALTIME µs when any
ring's dropped count first went up, or null).
"""
import json
import os
import socket
import sys
import time

path, stop = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
req = b'{"method":"io.framepace.Scheduler.GetStats"}\0'
buf = b""
calls = failures = 0
max_latency = 0.0
baseline = None
first_drop = None
while not os.path.exists(stop):
    t0 = time.monotonic()
    s.sendall(req)
    while b"\0" not in buf:
        chunk = s.recv(1 << 16)
        if not chunk:
            raise SystemExit("framepaced closed the connection")
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    max_latency = max(max_latency, time.monotonic() - t0)
    calls += 1
    reply = json.loads(msg)
    if "error" in reply:
        failures += 1
    else:
        dropped = sum(r["dropped"] for r in reply["parameters"]["ringbufs"])
        if baseline is None:
            baseline = dropped
        elif first_drop is None and dropped > baseline:
            first_drop = int(time.time() * 1e6)
    time.sleep(0.02)
print(json.dumps({"calls": calls, "failures": failures,
                  "max_latency_ms": round(max_latency * 1000, 1), "first_drop_usec": first_drop}))
