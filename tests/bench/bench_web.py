"""The panel under load: dashboard latency with 20 concurrent clients, and the web process's
resident memory, against `mickill web` (waitress) and a daemon on simulated pins.

    .venv/bin/python tests/bench/bench_web.py [--quick]

Prints one JSON object; targets: p99 under 50 ms, resident memory under 60 MB. Every page
includes its login check, one round trip to the daemon, which keeps the sessions.
"""

import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from web_support import PASSWORD, make_admin, start_daemon, stop  # noqa: E402

CLIENTS = 20


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def log_in(host: str, port: int) -> str:
    """The session cookie of a fresh login, done as a browser would (with the CSRF token)."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/login")
    response = connection.getresponse()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.read().decode()).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "password": PASSWORD})
    connection.request("POST", "/login", body, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    assert response.status == 302, f"login failed: {response.status}"
    connection.close()
    return response.getheader("Set-Cookie").split(";")[0]


def client_loop(host, port, cookie, requests, path, timings, failures):
    connection = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(requests):
        start = time.perf_counter()
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        timings.append(time.perf_counter() - start)
        if response.status != 200:
            failures.append(response.status)


def load(host, port, cookie, path, requests):
    timings, failures = [], []
    threads = [threading.Thread(target=client_loop, args=(host, port, cookie, requests, path, timings, failures))
               for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    timings.sort()
    return {
        "requests": len(timings), "failures": len(failures),
        "throughput_per_s": round(len(timings) / elapsed, 1),
        "p50_ms": round(statistics.median(timings) * 1000, 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 2),
        "max_ms": round(timings[-1] * 1000, 2),
    }


def main() -> int:
    quick = "--quick" in sys.argv
    requests = 20 if quick else 100
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        daemon = start_daemon(folder)
        web = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "web", "--data", str(folder),
                                "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
        try:
            port = int(re.search(r":(\d+)/", web.stdout.readline()).group(1))
            make_admin(folder)
            cookie = log_in("127.0.0.1", port)
            load("127.0.0.1", port, cookie, "/", 5)  # warm up templates and connections
            figures = {
                "clients": CLIENTS,
                "dashboard": load("127.0.0.1", port, cookie, "/", requests),
                "status_json": load("127.0.0.1", port, cookie, "/status.json", requests),
                "resident_mb": round(resident_mb(web.pid), 1),
                "targets": {"dashboard_p99_ms": 50, "resident_mb": 60},
            }
        finally:
            web.terminate()
            web.wait(timeout=10)
            web.stdout.close()
            stop(daemon)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
