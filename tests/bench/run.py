"""Run every benchmark (tests/bench/bench_*.py) and print their figures as one JSON object.

    .venv/bin/python tests/bench/run.py [--quick]

Benchmarks print figures; they never fail on timing (this machine may be busy).
"""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    figures = {}
    for script in sorted(HERE.glob("bench_*.py")):
        result = subprocess.run([sys.executable, str(script), *sys.argv[1:]], capture_output=True, text=True)
        name = script.stem.removeprefix("bench_")
        try:
            figures[name] = json.loads(result.stdout)
        except json.JSONDecodeError:
            figures[name] = {"error": (result.stderr or result.stdout).strip().splitlines()[-1:]}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
