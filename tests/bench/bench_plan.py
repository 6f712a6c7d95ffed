"""How long `mickill plan` takes over one year of a five-window schedule, interpreter start included.

Runs the installed `mickill` command (or `python -m mickill.cli.main` when there is no script)
as a subprocess several times and prints one JSON object. Not collected by pytest (no test_ prefix)."""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 15
# Five windows every day, so the year holds 365 * 5 * 2 changes and a DST change each way.
SCHEDULE = 'timezone = "Europe/London"\ndefault = "live"\n' + "".join(
    f'\n[[window]]\nname = "W{n}"\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
    f'start = "{n * 4 + 1:02d}:00"\nend = "{n * 4 + 3:02d}:30"\nstate = "muted"\n'
    for n in range(5)
)
EXPECTED_LINES = 1 + 365 * 5 * 2


def command() -> list[str]:
    script = Path(sys.executable).with_name("mickill")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mickill.cli.main"]


def one_run(path: Path) -> float:
    args = [*command(), "plan", "--schedule", str(path), "--from", "2027-01-01", "--to", "2028-01-01", "--json"]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    lines = result.stdout.count("\n")
    if result.returncode != 0 or lines != EXPECTED_LINES:
        sys.exit(f"mickill plan failed (status {result.returncode}, {lines} lines): {result.stderr.strip()}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schedule.toml"
        path.write_text(SCHEDULE, encoding="utf-8")
        one_run(path)  # warm the file cache and bytecode
        times = [one_run(path) for _ in range(RUNS)]
    print(json.dumps({"plan_year_5_windows_s": {"median": round(statistics.median(times), 4), "max": round(max(times), 4)}}))


if __name__ == "__main__":
    main()
