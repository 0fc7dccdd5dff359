#!/usr/bin/python3
"""Plays logind's part of a suspend on the real system bus: owns org.freedesktop.login1 (the
test stops systemd-logind first), emits PrepareForSleep(true), waits, emits
PrepareForSleep(false). Under TCG the guest does not come back from a real suspend.

    prepare_for_sleep.py SECONDS-ASLEEP
"""
import sys
import time

from gi.repository import Gio, GLib

asleep = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
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
time.sleep(asleep)
prepare_for_sleep(False)
time.sleep(0.5)
