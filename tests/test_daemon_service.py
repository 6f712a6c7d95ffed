"""The daemon as systemd runs it: sd_notify READY, watchdog pings, STOPPING; and bad configs."""

import os
import socket
import subprocess
import sys
import time

from daemon_harness import cli


def test_notify_ready_watchdog_and_stopping(tmp_path):
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(5)
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
    process = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "run", "--simulate", "--no-web",
                                "--data", str(tmp_path / "data")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        messages = []
        began = time.monotonic()
        while sum("WATCHDOG=1" in m for m in messages) < 3:
            messages.append(listener.recv(4096).decode())
        assert messages[0].startswith("READY=1")
        # Pinged at least twice per one-second watchdog interval.
        assert time.monotonic() - began < 2.5
        process.terminate()
        assert process.wait(timeout=10) == 0
        while "STOPPING=1" not in messages[-1]:
            messages.append(listener.recv(4096).decode())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()


def test_a_bad_config_stops_the_start_with_one_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[relay]\npin = 40\n")
    data = tmp_path / "data"
    result = cli("run", "--simulate", "--no-web", "--config", str(config), "--data", str(data), data=data)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "SIMULATED" not in line]
    assert len(lines) == 1 and "relay.pin" in lines[0] and "Traceback" not in result.stderr
    assert not (data / "mickill.db").exists()


def test_a_missing_config_file_says_how_to_make_one(tmp_path):
    data = tmp_path / "data"
    result = cli("run", "--simulate", "--config", str(tmp_path / "nowhere.toml"), "--data", str(data), data=data)
    assert result.returncode == 2 and "nowhere.toml" in result.stderr and "Traceback" not in result.stderr


def test_audio_that_cannot_start_leaves_the_daemon_running(tmp_path):
    from daemon_harness import DaemonProcess

    config = '[relay]\nwiring = "mic"\n[audio]\nenabled = true\ngate = true\ninput_device = "no such microphone"\n'
    daemon = DaemonProcess(tmp_path / "d", config_text=config).start()
    try:
        assert daemon.status()["state"] == "live"
        assert "running without it" in daemon.log.read_text()
    finally:
        daemon.stop()
