#!/usr/bin/env python3
"""Varlink call rate and latency of one method, sequential calls on one connection.

    varlink_latency.py SOCKET METHOD [CALLS [INTERVAL_MS]]

With INTERVAL_MS the calls are paced (one every INTERVAL_MS) rather than back to back, to
sample latency while something else loads the system. Prints one JSON object: calls,
calls_per_sec, p50_us, p99_us, max_us. Run it against
io.framepace.Scheduler.GetStats and io.systemd.Hostname.Describe in the same run to compare.
"""
import json
import socket
import sys
import time


def main():
    path, method = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    interval_s = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    request = json.dumps({"method": method, "parameters": {}}).encode() + b"\0"
    latencies = []
    buf = b""
    start = time.perf_counter()
    for _ in range(calls):
        t0 = time.perf_counter()
        s.sendall(request)
        while b"\0" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit(f"{path} closed the connection")
            buf += chunk
        reply, buf = buf.split(b"\0", 1)
        latencies.append(time.perf_counter() - t0)
        if b'"error"' in reply:
            raise SystemExit(f"{method}: {reply.decode(errors='replace')}")
        if interval_s:
            time.sleep(interval_s)
    total = time.perf_counter() - start
    latencies.sort()
    print(json.dumps({
        "method": method,
        "calls": calls,
        "calls_per_sec": round(calls / total, 1),
        "p50_us": round(latencies[len(latencies) // 2] * 1e6, 1),
        "p99_us": round(latencies[int(len(latencies) * 0.99)] * 1e6, 1),
        "max_us": round(latencies[-1] * 1e6, 1),
    }))


if __name__ == "__main__":
    main()
