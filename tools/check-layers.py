#!/usr/bin/env python3
"""The layering rule of the source tree, checked: each folder may include only from the
folders listed for it (and from itself). Dependencies run one way, from the executable
down to common/:

    common <- bpf <- daemon/{scheduler, tunables} <- daemon/games <- daemon/system_bus
           <- daemon/service <- varlink (varlink/server knows only common) <- framepaced

Prints every include that breaks the rule and exits 1 if there is one."""
import pathlib
import re
import sys

DAEMON = ["daemon/scheduler", "daemon/tunables", "daemon/games", "daemon/system_bus",
          "daemon/service"]
ALLOWED = {
    "common": [],
    "bpf": [],
    "daemon/scheduler": ["common", "bpf"],
    "daemon/tunables": ["common", "bpf"],
    "daemon/games": ["common", "bpf", "daemon/scheduler"],
    "daemon/system_bus": ["common"],
    "daemon/service": ["common", "bpf"] + DAEMON,
    "varlink/server": ["common"],
    "varlink": ["common", "bpf", "varlink/server"] + DAEMON,
    "framepaced": ["common", "bpf", "varlink", "varlink/server"] + DAEMON,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path: str) -> str | None:
    """The most specific folder of ALLOWED that holds path."""
    best = None
    for layer in ALLOWED:
        if path.startswith(layer + "/") and (best is None or len(layer) > len(best)):
            best = layer
    return best


def main() -> int:
    top = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    errors = []
    for layer in ALLOWED:
        for source in sorted((top / layer).rglob("*")):
            if source.suffix not in (".h", ".c", ".cpp") or layer_of(
                    str(source.relative_to(top))) != layer:
                continue
            for included in INCLUDE.findall(source.read_text()):
                if "/" not in included:
                    if layer not in ("bpf",):   # BPF C includes its own headers by name
                        errors.append(f"{source.relative_to(top)}: \"{included}\" names no folder")
                    continue
                # BPF C includes the scheduler's parts relative to itself (framepace/...).
                beside = source.parent / included
                target = layer_of(str(beside.relative_to(top)) if layer == "bpf" and
                                  beside.exists() else included)
                if target == layer or target in ALLOWED[layer]:
                    continue
                errors.append(f"{source.relative_to(top)}: includes {included} "
                              f"({layer} may not depend on {target})")
    for error in errors:
        print(error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
