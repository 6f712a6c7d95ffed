"""Crash safety: a real writer process killed at random moments loses nothing it acknowledged
and leaves a sound database file."""

import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from mickill.store import Store

KILLS = 20

# The writer says "ready" once the store is open, then, after each write returns, the id of
# the ledger row ("L 17") or the number written into the schedule ("S 1000042").
WRITER = """
import sys
from datetime import datetime, timezone
from mickill.store import Store

path, run = sys.argv[1], int(sys.argv[2])
store = Store(path)
print("ready", flush=True)
n = 0
while True:
    n += 1
    now = datetime.now(timezone.utc)
    if n % 3 == 0:
        number = run * 1_000_000 + n
        store.save_schedule(f"# schedule {number}\\n", now)
        print(f"S {number}", flush=True)
    else:
        row = store.record_change(now, ("muted", "live")[n % 2], "web", f"run {run} write {n}")
        print(f"L {row}", flush=True)
"""


def schedule_number(store):
    text = store.schedule_text()
    return int(text.split()[-1]) if text else 0


def test_sigkill_at_random_moments_loses_no_acknowledged_write(tmp_path):
    path = tmp_path / "mickill.db"
    rng = random.Random()
    acknowledged_rows: set[int] = set()
    last_schedule = 0
    started = time.monotonic()
    for run in range(1, KILLS + 1):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(run)],
            stdout=subprocess.PIPE,
            text=True,
        )
        if run % 5 == 1:
            # Sometimes kill while the interpreter starts or the store opens and migrates.
            time.sleep(rng.uniform(0.0, 0.15))
        else:
            assert writer.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.0, 0.05))
        writer.send_signal(signal.SIGKILL)
        output = writer.stdout.read()
        writer.stdout.close()
        assert writer.wait() == -signal.SIGKILL
        # Only complete lines were acknowledged; a torn last line was not.
        for line in output.splitlines(keepends=True):
            if line.endswith("\n") and line[0] in "LS":
                kind, value = line.split()
                if kind == "L":
                    acknowledged_rows.add(int(value))
                else:
                    last_schedule = max(last_schedule, int(value))

        with Store(path) as store:
            assert store.integrity_check() == "ok", f"after kill {run}"
            everything = store.changes(
                datetime(2000, 1, 1, tzinfo=timezone.utc),
                datetime.now(timezone.utc) + timedelta(days=1),
            )
            missing = acknowledged_rows - {row.id for row in everything}
            assert not missing, (
                f"after kill {run}, {len(missing)} acknowledged ledger rows lost, "
                f"first {sorted(missing)[:5]}"
            )
            # The schedule is the last acknowledged one, or one saved just before the kill.
            assert schedule_number(store) >= last_schedule, f"after kill {run}"

    assert len(acknowledged_rows) > KILLS, "the writer hardly wrote: the test proved little"
    assert time.monotonic() - started < 20
