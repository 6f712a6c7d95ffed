"""How long from starting a Python process to the relay pin being driven to its safe state.

Spawns a child that imports mickill.config and mickill.hardware, builds Hardware on a
MockFactory and prints a line once the relay is de-energized; times spawn to that line.
Prints one JSON object. Not collected by pytest (no test_ prefix)."""

import json
import statistics
import subprocess
import sys
import time

RUNS = 20
READY = "relay-safe"
CHILD = f"""
from gpiozero.pins.mock import MockFactory
from mickill.config import Config
from mickill.hardware import Hardware
factory = MockFactory()
hardware = Hardware(Config(), factory)
assert factory.pin(Config().relay.pin).state is False, "relay not at its safe level"
print({READY!r}, flush=True)
hardware.close()
"""


def one_run() -> float:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline().strip()
    elapsed = time.perf_counter() - started
    child.stdout.close()
    if child.wait() != 0 or line != READY:
        raise SystemExit(f"the child did not report a safe relay (status {child.returncode}, said {line!r})")
    return elapsed


def main() -> None:
    times = [one_run() for _ in range(RUNS)]
    print(json.dumps({
        "bench": "safe_relay",
        "what": "process spawn to relay pin driven safe (MockFactory)",
        "runs": RUNS,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }))


if __name__ == "__main__":
    main()
