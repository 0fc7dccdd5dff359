#!/usr/bin/python3
"""The test VM's power button: when the guest suspends to RAM (ACPI S3, QMP event SUSPEND),
wake it after a few seconds with QMP's system_wakeup. Ends when QEMU closes the socket.

    wake-on-suspend.py QMP-SOCKET [SECONDS-ASLEEP]
"""
import json
import socket
import sys
import time

path = sys.argv[1]
asleep = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
for _ in range(300):   # QEMU creates the socket shortly after it starts
    try:
        sock.connect(path)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(f"wake-on-suspend: no QMP socket at {path}")

stream = sock.makefile("rwb", buffering=0)
stream.readline()   # greeting
stream.write(b'{"execute": "qmp_capabilities"}\n')
for line in stream:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if message.get("event") == "SUSPEND":
        time.sleep(asleep)
        stream.write(b'{"execute": "system_wakeup"}\n')
        print(f"wake-on-suspend: woke the guest after {asleep:.0f} s in S3", file=sys.stderr)
