"""The gate and the masker against a real daemon (a subprocess on simulated pins)."""

import subprocess
import sys
import time

import pytest

from mickill.audio.config import AudioConfig
from mickill.audio.detector import Detection
from mickill.audio.gate import Gate
from mickill.audio.service import start
from mickill.control import Client
from mickill.errors import DaemonUnavailable
from mickill.paths import socket_path

KNOCK = Detection(3.2, "knock", 0.9)
MUTED = """timezone = "Etc/UTC"
default = "muted"
"""
LOCKED_ALL_DAY = """timezone = "Etc/UTC"
default = "live"
[[window]]
name = "Locked"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "00:00"
state = "muted"
locked = true
"""


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def daemon(tmp_path):
    data = tmp_path / "data"
    process = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "run", "--simulate", "--no-web",
                                "--data", str(data)], stderr=subprocess.DEVNULL)

    def answers():
        try:
            with Client(socket_path(data), "cli", timeout=1) as client:
                return client.request("status")["ok"]
        except DaemonUnavailable:
            return False

    try:
        assert wait_for(answers, 15), "the daemon did not come up"
        yield data
    finally:
        process.terminate()
        process.wait(timeout=10)


def ask(data, op, source="cli", **fields):
    with Client(socket_path(data), source) as client:
        return client.request(op, **fields)


def test_a_knock_opens_for_the_window_then_the_mic_is_cut_again(daemon):
    ask(daemon, "schedule.set", toml=MUTED)
    with Client(socket_path(daemon), "audio") as client:
        assert Gate(client, window_s=1).on_detection(KNOCK) == "opened"
    status = ask(daemon, "status")
    assert status["state"] == "live" and status["override"]["source"] == "audio"
    events = ask(daemon, "events", kind="audio.detection")["events"]
    assert [e["detail"]["kind"] for e in events] == ["knock"] and events[0]["detail"]["t"] == 3.2
    assert wait_for(lambda: ask(daemon, "status")["state"] == "muted", 5)


def test_the_gate_is_refused_in_a_locked_window_and_carries_on(daemon):
    ask(daemon, "schedule.set", toml=LOCKED_ALL_DAY)
    with Client(socket_path(daemon), "audio") as client:
        gate = Gate(client, window_s=20, min_interval_s=0)
        assert gate.on_detection(KNOCK) == "refused:locked"
        assert gate.on_detection(KNOCK) == "refused:locked"
    assert ask(daemon, "status")["state"] == "muted"


def test_at_most_one_opening_per_ten_seconds(daemon):
    now = [100.0]
    ask(daemon, "schedule.set", toml=MUTED)
    with Client(socket_path(daemon), "audio") as client:
        gate = Gate(client, window_s=20, clock=lambda: now[0])
        assert gate.on_detection(KNOCK) == "opened"
        now[0] += 9.9
        assert gate.on_detection(KNOCK) == "rate_limited"
        now[0] += 0.2
        assert gate.on_detection(KNOCK) == "opened"
    assert len(ask(daemon, "events", kind="audio.detection")["events"]) == 2


def test_a_cancel_right_after_the_opening_cuts_the_mic_again(daemon):
    ask(daemon, "schedule.set", toml=MUTED)
    with Client(socket_path(daemon), "audio") as client:
        gate = Gate(client, window_s=20)
        assert gate.on_detection(KNOCK) == "opened"
        assert gate.on_detection(Detection(3.6, "cancel", 0.9)) == "closed"
    assert ask(daemon, "status")["state"] == "muted"


def test_the_gate_survives_a_missing_daemon(tmp_path):
    with Client(socket_path(tmp_path), "audio") as client:
        assert Gate(client, window_s=20).on_detection(KNOCK) == "unavailable"


class Recorder:
    """Stands in for the sound card: records what the service asks of it."""

    def __init__(self):
        self.masking, self.chimes = [], []

    def set_masking(self, on):
        if not self.masking or self.masking[-1] != on:
            self.masking.append(on)

    def play_chime(self, opening):
        self.chimes.append(opening)

    def close(self):
        pass


def test_masking_follows_the_cut_through_every_transition(daemon):
    now = time.gmtime(time.time() + 120)
    start_at = f"{now.tm_hour:02d}:{now.tm_min:02d}"
    boundary = LOCKED_ALL_DAY.replace('default = "live"', 'default = "muted"').replace('start = "00:00"', f'start = "{start_at}"').replace(
        'end = "00:00"', f'end = "{(now.tm_hour + 1) % 24:02d}:{now.tm_min:02d}"')
    ask(daemon, "schedule.set", toml=boundary)
    output = Recorder()
    service = start(None, socket_path(daemon), AudioConfig(enabled=True, gate=False, masking=True, chime=True),
                    output=output)
    try:
        assert service.following.wait(5) and output.masking[-1:] == [True]   # muted now: noise
        with Client(socket_path(daemon), "audio") as client:
            assert Gate(client, window_s=20).on_detection(KNOCK) == "opened"
        assert wait_for(lambda: output.masking[-1:] == [False])
        ask(daemon, "mute")
        assert wait_for(lambda: output.masking[-1:] == [True])
        ask(daemon, "unmute")
        assert wait_for(lambda: output.masking[-1:] == [False])
        ask(daemon, "sim.clock", offset=180)                    # into the locked window
        assert wait_for(lambda: output.masking[-1:] == [True])
        assert output.masking == [True, False, True, False, True]       # on at start: fail closed
        assert output.chimes == [True, False]                           # the gate's open and close
    finally:
        service.stop()
