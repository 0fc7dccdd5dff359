#!/usr/bin/python3
"""Plays logind's and systemd-sleep's part of a suspend on the real system bus: owns
org.freedesktop.login1 (the test stops systemd-logind first), emits PrepareForSleep(true),
runs COMMAND (the suspend itself), emits PrepareForSleep(false).

    prepare_for_sleep.py COMMAND...
"""
import subprocess
import sys
import time

from gi.repository import Gio, GLib

bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
DO_NOT_QUEUE = 4
(reply,) = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "RequestName", GLib.Variant("(su)", ("org.freedesktop.login1", DO_NOT_QUEUE)),
                         GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, -1, None).unpack()
if reply != 1:
    sys.exit(f"prepare_for_sleep: could not own org.freedesktop.login1 (RequestName {reply})")


def prepare_for_sleep(going):
    bus.emit_signal(None, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                    "PrepareForSleep", GLib.Variant("(b)", (going,)))
    bus.flush_sync(None)


prepare_for_sleep(True)
time.sleep(1)   # logind waits for delay inhibitors (up to InhibitDelayMaxSec) before sleeping
status = subprocess.run(sys.argv[1:]).returncode
prepare_for_sleep(False)
time.sleep(0.5)
sys.exit(status)
