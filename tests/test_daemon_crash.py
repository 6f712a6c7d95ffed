"""Crash safety: the daemon killed with SIGKILL in the middle of schedule writes, many times."""

import random
import sqlite3
import threading
import time

from daemon_harness import DaemonProcess
from mickill.errors import MickillError

ROUNDS = 12


def schedule_text(number: int) -> str:
    """Odd numbers mute by default, even ones leave the mic live: the relay shows which won."""
    default = "muted" if number % 2 else "live"
    # The exception lies in the past, so only `default` decides the state now.
    return (f'timezone = "UTC"\ndefault = "{default}"\n\n[[exception]]\nname = "w{number}"\n'
            f'from = "2020-01-01"\nto = "2020-01-01"\nstate = "muted"\n')


def test_sigkill_during_schedule_writes_loses_no_acknowledged_write(tmp_path):
    rng = random.Random(20261126)
    daemon = DaemonProcess(tmp_path / "d")
    number = 0
    for round_number in range(ROUNDS):
        daemon.start()
        acknowledged: list[int] = []
        stop = threading.Event()

        def writer():
            nonlocal number
            try:
                with daemon.client(timeout=5) as client:
                    while not stop.is_set():
                        number += 1
                        client.request("schedule.set", toml=schedule_text(number))
                        acknowledged.append(number)
            except MickillError:
                pass  # the daemon died under us: exactly what this test does

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(rng.uniform(0.05, 0.4))
        daemon.kill()
        stop.set()
        thread.join(timeout=10)
        assert acknowledged, f"round {round_number}: no write was acknowledged before the kill"

        db = sqlite3.connect(daemon.data / "mickill.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()

        daemon.start()
        saved = daemon.request("schedule.get")["schedule"]
        saved_number = int(saved["exception"][0]["name"][1:])
        # The last acknowledged write is there (or the one in flight when the kill came).
        assert saved_number >= acknowledged[-1]
        assert saved_number <= number
        status = daemon.status()
        expected = "muted" if saved_number % 2 else "live"
        assert status["state"] == expected, status
        assert daemon.request("sim.pins")["relay"] is (expected == "live")
        daemon.stop()
