"""A real mickill daemon in a subprocess, on simulated pins, for end-to-end tests.

Tests talk to it only the way users do: through its control socket and the `mickill` CLI.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mickill.control import Client
from mickill.errors import DaemonUnavailable
from mickill.paths import socket_path

# A config with every optional part fitted, and a clock that tests can make trusted or not.
FULL_CONFIG = """
[relay]
pin = 17
[control]
kind = "{kind}"
pin = 27
debounce_ms = 20
[led]
pin = 22
[sense]
pin = 23
fault_ms = 200
[clock]
policy = "{clock_policy}"
sync_file = "{sync_file}"
kernel = false
"""


def cli(*args, data: Path, timeout: float = 30, input_text: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `mickill` command line against the daemon in `data`."""
    env = {**os.environ, "MICKILL_DATA": str(data)}
    return subprocess.run([sys.executable, "-m", "mickill.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, input=input_text)


class DaemonProcess:
    """`mickill run --simulate` in a subprocess, with its own data folder and config."""

    def __init__(self, folder: Path, *, kind: str = "button", clock_policy: str = "trust",
                 config_text: str | None = None, extra_args: tuple = ()):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.sync_file = self.folder / "synchronized"
        self.config = self.folder / "mickill.toml"
        if not self.config.exists() or config_text is not None:
            text = config_text if config_text is not None else FULL_CONFIG.format(
                kind=kind, clock_policy=clock_policy, sync_file=self.sync_file)
            self.folder.mkdir(parents=True, exist_ok=True)
            self.config.write_text(text, encoding="utf-8")
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen | None = None
        self.log = self.folder / "daemon.log"

    @property
    def socket(self) -> Path:
        return socket_path(self.data)

    def start(self, timeout: float = 15.0) -> "DaemonProcess":
        command = [sys.executable, "-m", "mickill.cli.main", "run", "--simulate", "--no-web",
                   "--data", str(self.data), "--config", str(self.config), *self.extra_args]
        self._log_handle = open(self.log, "ab")
        self.process = subprocess.Popen(command, stdout=self._log_handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with Client(self.socket, "web", timeout=2) as client:
                    client.raw({"op": "status", "source": "web"})   # any answer means it is up
                return self
            except DaemonUnavailable:
                time.sleep(0.02)
        self.kill()  # never leave a daemon behind that no test will stop
        raise RuntimeError(f"daemon did not answer within {timeout} s:\n{self.log.read_text()}")

    def client(self, source: str = "cli", timeout: float = 30) -> Client:
        return Client(self.socket, source, timeout=timeout)

    def request(self, op: str, source: str = "cli", **fields) -> dict:
        with self.client(source) as client:
            return client.request(op, **fields)

    def raw(self, message: dict) -> dict:
        with self.client() as client:
            return client.raw(message)

    def status(self) -> dict:
        return self.request("status")

    def wait_for(self, predicate, timeout: float = 5.0, interval: float = 0.02) -> dict:
        """Poll status until predicate(status) holds; return that status or fail with the last."""
        deadline = time.monotonic() + timeout
        status = self.status()
        while not predicate(status):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; last status: {status}")
            time.sleep(interval)
            status = self.status()
        return status

    def stop(self, sig=signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()
        code = self.process.returncode
        self.process = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
