"""What the host tests of bench/'s trace tools share: a tool loaded as a module, and ftrace
lines as tracefs prints them."""
import importlib.util
import os

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")


def bench_tool(name):
    """bench/NAME.py: its path (to run it) and the module (to call it)."""
    path = os.path.join(BENCH, f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def line(task, pid, cpu, us, event, rest, flags="d..2."):
    """One line as tracefs prints it (trace_clock mono: seconds with 6 decimals)."""
    return f"{task:>16}-{pid:<7} [{cpu:03d}] {flags} {us / 1e6:.6f}: {event}: {rest}\n"
