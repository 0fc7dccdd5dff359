#!/usr/bin/python3
"""What one unprivileged user can do to io.framepace.Scheduler, run as that user. Prints one
JSON object; the test case judges it.

    local_user_varlink.py SOCKET

  expected_more   ListTasks without "more" gets org.varlink.service.ExpectedMore
  upgrade_closed  a call with "upgrade": true is answered by closing, with no reply
  unknown_closed  a call with an unknown top-level key: the same
  half_close      GetStatus, then shutdown(SHUT_WR): the whole reply still arrives
  held, refused   connections this uid could hold open, and whether one more was refused
  reconnects      refused reconnection attempts made in 8 s while holding them all
  monitors        Monitor streams (60 s interval) accepted before TooManyStreams
  reopened        after closing one of them, a new Monitor is accepted at once (the stream
                  ended with its connection, not at its next tick 60 s later)
"""
import json
import socket
import sys
import time

path = sys.argv[1]
IF = "io.framepace.Scheduler"


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s


def reply(s):
    """One reply, or None when the connection closed first."""
    buf = b""
    while b"\0" not in buf:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return None
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf.split(b"\0", 1)[0])


def call(s, method, params=None, **extra):
    msg = {"method": f"{IF}.{method}", "parameters": params or {}, **extra}
    s.sendall(json.dumps(msg).encode() + b"\0")
    return reply(s)


out = {}
r = call(conn(), "ListTasks")
out["expected_more"] = (r or {}).get("error") == "org.varlink.service.ExpectedMore"
out["upgrade_closed"] = call(conn(), "GetStatus", upgrade=True) is None
out["unknown_closed"] = call(conn(), "GetStatus", surprise=1) is None
s = conn()
s.sendall(json.dumps({"method": f"{IF}.GetStatus"}).encode() + b"\0")
s.shutdown(socket.SHUT_WR)
r = reply(s)
out["half_close"] = bool(r) and "parameters" in r and "state" in r["parameters"]

# Monitors first, while connections are free: the per-uid stream cap.
monitors = []
while len(monitors) < 10:
    m = conn()
    m.sendall(json.dumps({"method": f"{IF}.Monitor", "parameters": {"interval_usec": 60_000_000},
                          "more": True}).encode() + b"\0")
    r = reply(m)
    if not r or "error" in r:
        out["monitor_refusal"] = (r or {}).get("error")
        break
    monitors.append(m)
out["monitors"] = len(monitors)
if monitors:
    monitors.pop().close()
    time.sleep(0.3)
    m = conn()
    m.sendall(json.dumps({"method": f"{IF}.Monitor", "parameters": {"interval_usec": 60_000_000},
                          "more": True}).encode() + b"\0")
    r = reply(m)
    out["reopened"] = bool(r) and "error" not in r
    monitors.append(m)
for m in monitors:
    m.close()
time.sleep(0.3)

# Hold every connection this uid may have, then keep knocking for 8 s.
held = []
refused = False
for _ in range(200):
    s = conn()
    r = call(s, "GetStatus")
    if r is None or "error" in r:
        refused = True
        s.close()
        break
    held.append(s)
out["held"], out["refused"] = len(held), refused
tries, end = 0, time.time() + 8
while time.time() < end:
    try:
        s = conn()
        if call(s, "GetStatus") is None:
            tries += 1
        s.close()
    except OSError:
        tries += 1
out["reconnects"] = tries
print(json.dumps(out), flush=True)
# Keep holding until told to let go, so the test can try root meanwhile.
sys.stdin.read()
