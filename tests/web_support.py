"""Shared parts of the web panel's tests: a real daemon on simulated pins in a temporary
folder, the panel app pointed at it, and a helper to log in."""

import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mickill.control import Client
from mickill.errors import DaemonUnavailable, Refused
from mickill.paths import socket_path

PASSWORD = "correct horse battery"


def start_daemon(folder: Path, timeout: float = 15.0) -> subprocess.Popen:
    """`mickill run --simulate` in `folder` (with a sense input, so faults can be injected),
    returned once it answers `status`."""
    config = folder / "mickill.toml"
    config.write_text("[sense]\npin = 23\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "mickill.cli.main", "run", "--simulate", "--no-web", "--data", str(folder),
         "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the daemon exited: {process.stderr.read().decode()}")
        try:
            with Client(socket_path(folder), "cli", timeout=1) as client:
                client.request("status")
            return process
        except DaemonUnavailable:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the daemon did not answer in time")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr:
        process.stderr.close()


def setup_code(folder: Path) -> str:
    with Client(socket_path(folder), "cli") as client:
        return client.request("auth.setup_code")["code"]


def make_admin(folder: Path) -> None:
    with Client(socket_path(folder), "web") as client:
        client.request("auth.setup", code=setup_code(folder), password=PASSWORD)


def ask(folder: Path, op: str, source: str = "cli", **fields) -> dict:
    with Client(socket_path(folder), source) as client:
        return client.request(op, **fields)


def reset_schedule(folder: Path, document: dict) -> None:
    """Save `document` even after a test left a locked window open. A new schedule may not open
    a locked window, so the lock is narrowed to today, and `document` saved a day later."""
    try:
        ask(folder, "schedule.set", schedule=document)
        return
    except Refused as refusal:
        if refusal.code != "locked":
            raise
    zone = ask(folder, "status")["timezone"]
    today = datetime.now(ZoneInfo(zone)).strftime("%a").lower()
    only_today = {"name": "Today", "days": [today], "start": "00:00", "end": "00:00", "state": "muted", "locked": True}
    ask(folder, "schedule.set", schedule={"timezone": zone, "default": "muted", "window": [only_today]})
    ask(folder, "sim.clock", offset=86400)
    try:
        ask(folder, "schedule.set", schedule=document)
    finally:
        ask(folder, "sim.clock", offset=0)


@pytest.fixture(scope="module")
def daemon_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("daemon")
    process = start_daemon(folder)
    yield folder
    stop(process)


@pytest.fixture(scope="module")
def admin_folder(daemon_folder):
    make_admin(daemon_folder)
    return daemon_folder


def make_app(folder: Path, csrf: bool = False, **extra):
    from mickill_web import create_app

    return create_app({"MICKILL_DATA": folder, "SECRET_KEY": "test-key", "TESTING": True,
                       "WTF_CSRF_ENABLED": csrf, **extra})


def login(client, password: str = PASSWORD):
    return client.post("/login", data={"password": password})


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def errors_in(page: str) -> list[str]:
    return re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)
