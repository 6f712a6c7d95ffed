"""Benchmarks of the daemon on simulated GPIO; prints one JSON object of figures.

    .venv/bin/python tests/bench/bench_daemon.py [--quick]

- button edge to relay cut (in-process: the edge is driven on the simulated pins' own thread,
  as on a Pi), idle and while another process sends 500 status requests per second;
- schedule boundary to relay change, with the daemon's real clock running (shifted so that a
  boundary is a moment away);
- process start to relay in its safe state;
- idle CPU over 60 s and resident memory.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from daemon_harness import DaemonProcess  # noqa: E402

QUICK = "--quick" in sys.argv


def summary(values_s: list[float], scale: float = 1000.0) -> dict:
    ordered = sorted(values_s)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"n": len(ordered), "median": round(statistics.median(ordered) * scale, 3),
            "p99": round(p99 * scale, 3), "max": round(ordered[-1] * scale, 3)}


LOAD_SCRIPT = """
import signal, sys, time
from mickill.control import Client
client = Client(sys.argv[1], "cli")
interval, end = 1 / float(sys.argv[2]), time.monotonic() + float(sys.argv[3])
sent, next_at = 0, time.monotonic()
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while time.monotonic() < end and not stop:
    client.request("status")
    sent += 1
    next_at += interval
    time.sleep(max(0.0, next_at - time.monotonic()))
print(sent)
"""


def button_latency(samples: int, load_rps: int) -> dict:
    from gpiozero.pins.mock import MockFactory

    from mickill import config as hardware_config
    from mickill.daemon import Daemon
    from mickill.hardware import Hardware
    from mickill.paths import socket_path
    from mickill.simpins import SimulatedWorld
    from mickill.store import Store

    folder = Path(tempfile.mkdtemp(prefix="mickill-bench-"))
    config = hardware_config.parse({"control": {"debounce_ms": 5}, "sense": {"pin": 23}})
    factory = MockFactory()
    devices = Hardware(config, factory)
    world = SimulatedWorld(devices, factory, config)
    store = Store(folder / "mickill.db")
    daemon = Daemon(config=config, data_dir=folder, hardware=devices, store=store, simulated=True,
                    world=world, factory_reason="benchmark")
    cut_at: list[float] = []
    devices.add_relay_listener(lambda live: None if live else cut_at.append(time.perf_counter()))
    latencies: list[float] = []
    result: dict = {}

    def wait_until(predicate, timeout=2.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon did not react in time")
            time.sleep(0.001)

    def drive():
        load = None
        try:
            if load_rps:
                load = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, str(socket_path(folder)),
                                         str(load_rps), "3600"], stdout=subprocess.PIPE, text=True)
                time.sleep(0.5)
            started = time.monotonic()
            for _ in range(samples):
                wait_until(lambda: devices.relay_live)
                cut_at.clear()
                edge = time.perf_counter()
                world.press()                      # the edge, driven on the pins' own thread
                wait_until(lambda: bool(cut_at))
                latencies.append(cut_at[0] - edge)
                world.release()
                time.sleep(0.02)
                world.press()                      # a second press opens the mic again
                time.sleep(0.02)
                world.release()
                time.sleep(0.02)                   # longer than the debounce: a real release
            if load is not None:
                load.terminate()
                sent = load.communicate()[0] or "0"
                result["status_requests_per_s"] = round(int(sent.strip() or 0) / (time.monotonic() - started), 1)
        finally:
            if load is not None and load.poll() is None:
                load.kill()
            daemon.stop()

    daemon.start()
    thread = threading.Thread(target=drive)
    thread.start()
    daemon.run()                                   # the loop runs on this thread, as in mickill run
    thread.join()
    daemon.close()
    world.close()
    devices.close()
    store.close()
    result.update(summary(latencies))
    return result


NOON = """timezone = "UTC"
default = "live"
[[window]]
name = "Noon"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "12:00"
end = "13:00"
state = "muted"
"""


def boundary_error(samples: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="mickill-bench-"))
    daemon = DaemonProcess(folder).start()
    errors, missed = [], 0
    try:
        daemon.request("schedule.set", toml=NOON)
        today = datetime.now(timezone.utc).date()
        boundary = datetime(today.year, today.month, today.day, 12, tzinfo=timezone.utc)
        while len(errors) < samples:
            # Put the boundary a second ahead of the daemon's clock, which keeps running.
            offset = (boundary - timedelta(seconds=1.0)).timestamp() - time.time()
            daemon.request("sim.clock", offset=offset)
            daemon.wait_for(lambda s: s["state"] == "live", timeout=2)
            with daemon.client() as client:
                updates = client.watch()
                if next(updates)["state"] == "muted":
                    missed += 1          # the boundary passed before we watched: not a sample
                    continue
                for status in updates:
                    if status["state"] == "muted":
                        errors.append(abs(time.time() + offset - boundary.timestamp()))
                        break
    finally:
        daemon.stop()
    return {**summary(errors), "skipped": missed}


def start_to_safe_relay(runs: int) -> dict:
    times = []
    for _ in range(runs):
        folder = tempfile.mkdtemp(prefix="mickill-bench-")
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "run", "--simulate", "--no-web",
                                    "--data", folder], stderr=subprocess.PIPE, text=True)
        for line in process.stderr:
            if "safe state" in line:
                times.append(time.perf_counter() - began)
                break
        process.terminate()
        process.communicate(timeout=10)
    return summary(times)


def idle_cost(seconds: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="mickill-bench-"))
    daemon = DaemonProcess(folder).start()
    try:
        time.sleep(1.0)
        pid = daemon.process.pid
        tick = os.sysconf("SC_CLK_TCK")

        def cpu_s():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        before, began = cpu_s(), time.monotonic()
        time.sleep(seconds)
        used, elapsed = cpu_s() - before, time.monotonic() - began
        rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:"))
    finally:
        daemon.stop()
    return {"seconds": round(elapsed, 1), "cpu_percent_of_one_core": round(100 * used / elapsed, 3),
            "rss_mb": round(rss_kb / 1024, 1)}


def main():
    figures = {
        "button_edge_to_cut_ms": button_latency(60 if QUICK else 300, 0),
        "button_edge_to_cut_under_500_status_per_s_ms": button_latency(60 if QUICK else 300, 500),
        "schedule_boundary_error_ms": boundary_error(5 if QUICK else 30),
        "start_to_safe_relay_ms": start_to_safe_relay(5 if QUICK else 20),
        "idle": idle_cost(5 if QUICK else 60),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
