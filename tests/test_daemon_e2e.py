"""The daemon end to end, on simulated pins: what a user sees through the socket and the CLI."""

import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from daemon_harness import DaemonProcess, cli
from mickill.errors import Refused, RequestError

LOCKED_ALL_DAY = """
timezone = "UTC"
default = "live"
[[window]]
name = "All day"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "00:00"
state = "muted"
locked = true
"""

MUTED_BY_DEFAULT = 'timezone = "UTC"\ndefault = "muted"\n'

NOON_WINDOW = """
timezone = "UTC"
default = "live"
[[window]]
name = "Lunch"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "12:00"
end = "13:00"
state = "muted"
"""


def set_wall_clock(daemon, target: datetime):
    """Shift the daemon's simulated wall clock so that it now reads `target`."""
    daemon.request("sim.clock", offset=target.timestamp() - time.time())


def today_at(hour: int, minute: int = 0, second: float = 0) -> datetime:
    day = datetime.now(timezone.utc).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc) + timedelta(seconds=second)


def test_press_cuts_at_once_and_a_second_press_opens(start_daemon):
    daemon = start_daemon()
    assert daemon.status()["state"] == "live"
    status = daemon.request("sim.press")
    # The cut is already in force when the press request is answered: no debounce wait.
    assert (status["state"], status["source"], status["relay"]) == ("muted", "button", "cut")
    assert daemon.request("sim.pins")["relay"] is False
    daemon.request("sim.release")
    time.sleep(0.1)          # a real hand: the release outlasts the debounce time
    daemon.request("sim.press")
    # The schedule says live, so the second press lifts the button's own mute.
    status = daemon.wait_for(lambda s: s["state"] == "live", timeout=2)
    assert status["source"] == "schedule" and status["override"] is None
    assert daemon.request("sim.pins")["relay"] is True


def test_locked_window_refuses_the_socket_and_opens_for_a_hold(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=LOCKED_ALL_DAY)
    status = daemon.status()
    assert (status["state"], status["locked"], status["reason"]) == ("muted", True, "window 'All day'")
    for source in ("cli", "web", "api", "audio", "mqtt"):
        with pytest.raises(Refused) as refusal:
            daemon.request("unmute", source=source, **{"for": 60})
        assert refusal.value.code == "locked"
    result = cli("unmute", "--for", "15m", data=daemon.data)
    assert result.returncode == 1 and "locked" in result.stderr and "Traceback" not in result.stderr
    # A short press is not enough inside a locked window ...
    daemon.request("sim.press")
    time.sleep(0.1)
    daemon.request("sim.release")
    assert daemon.status()["state"] == "muted"
    # ... a deliberate hold is.
    status = daemon.request("sim.hold", seconds=2.3)
    assert (status["state"], status["source"]) == ("live", "button")
    assert daemon.request("sim.pins")["relay"] is True


def test_temporary_unmute_expires_on_time(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=MUTED_BY_DEFAULT)
    assert daemon.status()["state"] == "muted"
    opened = daemon.request("unmute", **{"for": 1})
    assert opened["state"] == "live"
    began = time.monotonic()
    daemon.wait_for(lambda s: s["state"] == "muted", timeout=3, interval=0.01)
    assert 0.9 <= time.monotonic() - began <= 1.5
    changes = daemon.request("ledger")["changes"]
    assert [c["state"] for c in changes[-2:]] == ["live", "muted"]


def test_restart_keeps_mutes_and_drops_temporary_unmutes(tmp_path):
    daemon = DaemonProcess(tmp_path / "d").start()
    try:
        daemon.request("mute", **{"for": 3600})
        daemon.stop()
        daemon.start()
        status = daemon.status()
        assert (status["state"], status["source"]) == ("muted", "cli")
        daemon.request("schedule.set", toml=MUTED_BY_DEFAULT)
        assert daemon.request("unmute", **{"for": 600})["state"] == "live"
        daemon.stop()
        daemon.start()
        status = daemon.status()
        assert (status["state"], status["override"]) == ("muted", None)
    finally:
        daemon.stop()


def test_sense_fault_is_recorded_and_holds_the_relay_cut(start_daemon):
    daemon = start_daemon()
    daemon.wait_for(lambda s: s["sense"] is True)    # contacts follow the live relay within 5 ms
    daemon.request("sim.sense_fault", on=True)       # the contacts weld shut
    daemon.request("mute")
    status = daemon.wait_for(lambda s: s["fault"] is not None, timeout=2)
    assert status["relay"] == "cut" and status["state"] == "muted"
    assert status["led"] == "fast-blink" and "contacts read closed" in status["fault"]
    with pytest.raises(Refused) as refusal:
        daemon.request("unmute")
    assert refusal.value.code == "fault"
    assert [e["kind"] for e in daemon.request("events", kind="fault")["events"]] == ["fault"]
    daemon.request("sim.sense_fault", on=False)
    status = daemon.request("fault.clear")
    assert status["fault"] is None and status["led"] == "on"


def test_fault_is_not_raised_for_a_healthy_relay(start_daemon):
    daemon = start_daemon()
    for _ in range(5):
        daemon.request("mute")
        daemon.request("unmute")
    time.sleep(0.4)
    assert daemon.status()["fault"] is None


def test_untrusted_clock_holds_the_mic_cut_until_synchronised(start_daemon):
    daemon = start_daemon(clock_policy="wait-sync")
    status = daemon.status()
    assert status["state"] == "muted" and status["clock"] == {"trusted": False, "policy": "wait-sync"}
    assert status["led"] == "slow-blink" and status["reason"] == "waiting for a trusted clock"
    with pytest.raises(Refused) as refusal:
        daemon.request("unmute")
    assert refusal.value.code == "clock"
    daemon.sync_file.write_text("")                  # what systemd-timesyncd leaves behind
    status = daemon.wait_for(lambda s: s["clock"]["trusted"], timeout=1.5)
    assert status["state"] == "live" and status["led"] == "off"


def test_only_a_held_button_opens_the_mic_before_the_clock_is_trusted(start_daemon):
    # Without a trusted clock nobody knows whether a locked window is open: it takes a hold.
    daemon = start_daemon(clock_policy="wait-sync")
    daemon.request("sim.press")
    time.sleep(0.1)
    assert daemon.request("sim.release")["state"] == "muted"
    status = daemon.request("sim.hold", seconds=2.3)
    assert (status["state"], status["source"]) == ("live", "button")
    assert status["clock"]["trusted"] is False


def test_wall_clock_jump_is_noticed_within_a_second(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=NOON_WINDOW)
    set_wall_clock(daemon, today_at(11))
    daemon.wait_for(lambda s: s["state"] == "live", timeout=1.5)
    jumped = time.monotonic()
    set_wall_clock(daemon, today_at(12, 30))
    status = daemon.wait_for(lambda s: s["state"] == "muted", timeout=1.5, interval=0.01)
    assert time.monotonic() - jumped < 1.0
    assert status["reason"] == "window 'Lunch'"
    assert daemon.request("events", kind="clock.jump")["events"]


def test_schedule_boundary_is_applied_on_time(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=NOON_WINDOW)
    boundary = today_at(12)
    offset = (boundary - timedelta(seconds=1.0)).timestamp() - time.time()
    daemon.request("sim.clock", offset=offset)
    with daemon.client() as client:
        updates = client.watch()
        assert next(updates)["state"] == "live"
        status = next(updates)
        while status["state"] != "muted":
            status = next(updates)
        seen = time.time() + offset
    assert status["until"].startswith(boundary.date().isoformat() + "T13:00:00")
    assert abs(seen - boundary.timestamp()) < 0.1


def test_sigterm_cuts_the_relay_and_closes_the_ledger(start_daemon):
    daemon = start_daemon()
    assert daemon.status()["state"] == "live"
    assert daemon.stop() == 0
    db = sqlite3.connect(daemon.data / "mickill.db")
    state, source, reason = db.execute("SELECT state, source, reason FROM ledger ORDER BY id DESC").fetchone()
    assert (state, source, reason) == ("muted", "system", "mickill stopped")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not daemon.socket.exists()


def test_switch_in_cut_position_is_a_hard_mute(start_daemon):
    daemon = start_daemon(kind="switch")
    assert daemon.status()["switch"] == "cut"        # the simulated switch starts open: cut
    daemon.request("sim.switch", position="auto")
    status = daemon.wait_for(lambda s: s["state"] == "live", timeout=2)
    assert status["switch"] == "auto"
    status = daemon.request("sim.switch", position="cut")
    assert (status["state"], status["relay"], status["source"]) == ("muted", "cut", "switch")
    for source in ("cli", "web", "audio"):
        with pytest.raises(Refused) as refusal:
            daemon.request("unmute", source=source)
        assert refusal.value.code == "switch"


def test_ledger_and_status_commands(start_daemon):
    daemon = start_daemon()
    assert cli("mute", "--for", "90s", data=daemon.data).returncode == 0
    result = cli("status", "--json", data=daemon.data)
    status = json.loads(result.stdout)
    assert status["state"] == "muted" and status["override"]["source"] == "cli"
    result = cli("ledger", "--days", "1", "--json", data=daemon.data)
    answer = json.loads(result.stdout)
    assert [c["state"] for c in answer["changes"]] == ["live", "muted"]
    assert len(answer["days"]) in (1, 2)
    text = cli("ledger", data=daemon.data).stdout
    assert "minutes live per day" in text and "cli: muted by cli" in text


def test_schedule_import_export_and_validation_through_the_cli(start_daemon, tmp_path):
    daemon = start_daemon()
    good = tmp_path / "good.toml"
    good.write_text(NOON_WINDOW)
    assert cli("schedule", "validate", str(good), data=daemon.data).returncode == 0
    assert cli("schedule", "import", str(good), data=daemon.data).returncode == 0
    exported = cli("schedule", "export", data=daemon.data).stdout
    assert 'name = "Lunch"' in exported
    bad = tmp_path / "bad.toml"
    bad.write_text(NOON_WINDOW.replace('"12:00"', '"25:00"'))
    for action in ("validate", "import"):
        result = cli("schedule", action, str(bad), data=daemon.data)
        assert result.returncode == 2
        assert "Lunch" in result.stderr and "start" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert cli("schedule", "export", data=daemon.data).stdout == exported   # nothing changed
    assert "Lunch" in cli("schedule", "show", data=daemon.data).stdout


@pytest.mark.parametrize("args", [
    ("mute", "--for", "soon"),
    ("unmute", "--for", "-5m"),
    ("ledger", "--days", "zero"),
    ("sim", "hold", "forever"),
    ("frobnicate",),
])
def test_bad_cli_input_is_one_line_and_exit_2(args, tmp_path):
    result = cli(*args, data=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_client_commands_without_a_daemon_say_so(tmp_path):
    result = cli("status", data=tmp_path)
    assert result.returncode == 3
    assert "not running" in result.stderr and "Traceback" not in result.stderr


def test_unmute_longer_than_twelve_hours_is_refused_and_changes_nothing(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=MUTED_BY_DEFAULT)
    result = cli("unmute", "--for", "13h", data=daemon.data)
    assert result.returncode in (1, 2) and "12" in result.stderr
    assert daemon.status()["state"] == "muted"


def test_switch_commands_need_a_switch(start_daemon):
    daemon = start_daemon()
    with pytest.raises(RequestError) as error:
        daemon.request("sim.switch", position="cut")   # the control is a push button
    assert error.value.code == "bad_request" and "kind" in str(error.value)


def test_release_relay_command_drives_the_safe_state(tmp_path):
    result = cli("release-relay", "--simulate", data=tmp_path)
    assert result.returncode == 0 and "released (mic cut)" in result.stderr


def test_release_after_a_crash_closes_the_live_period_in_the_ledger(tmp_path):
    daemon = DaemonProcess(tmp_path / "d").start()
    assert daemon.status()["state"] == "live"
    daemon.kill()                                   # no clean stop: the ledger still says live
    result = cli("release-relay", "--simulate", "--data", str(daemon.data), data=daemon.data)
    assert result.returncode == 0
    db = sqlite3.connect(daemon.data / "mickill.db")
    rows = db.execute("SELECT state, source, reason FROM ledger ORDER BY id").fetchall()
    assert rows[-1] == ("muted", "system", "relay released after mickill stopped")
    db.close()
    daemon.start()                                  # and the restart adds no second cut
    assert [c["state"] for c in daemon.request("ledger")["changes"]] == ["live", "muted", "live"]
    daemon.stop()


def test_slow_password_hashing_does_not_hold_up_the_loop(start_daemon):
    import threading

    daemon = start_daemon()
    code = daemon.request("auth.setup_code")["code"]
    daemon.request("auth.setup", source="web", code=code, password="correct horse battery")
    logins_done = threading.Event()

    def many_logins():
        import json
        import socket

        # Twelve logins in one write: scrypt takes tens of milliseconds for each of them.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(daemon.socket))
            line = json.dumps({"op": "auth.login", "source": "web", "password": "wrong password!"})
            sock.sendall((line + "\n").encode() * 12)
            received = b""
            while received.count(b"\n") < 12:
                received += sock.recv(65536)
        assert all(json.loads(answer)["ok"] is False for answer in received.splitlines())
        logins_done.set()

    thread = threading.Thread(target=many_logins)
    began = time.monotonic()
    thread.start()
    time.sleep(0.02)
    slowest = 0.0
    while not logins_done.is_set():
        asked = time.monotonic()
        daemon.status()
        slowest = max(slowest, time.monotonic() - asked)
    thread.join()
    hashing = time.monotonic() - began
    # The status answers kept coming while the hashes were computed on the side.
    assert slowest < hashing / 3, (slowest, hashing)


def test_ledger_says_when_nothing_was_recorded(start_daemon):
    daemon = start_daemon()
    now = datetime.now(timezone.utc)
    answer = daemon.request("ledger", **{"from": (now - timedelta(days=3)).isoformat(),
                                         "to": (now - timedelta(days=2)).isoformat()})
    assert answer["state_before"] is None and answer["changes"] == []
    assert [day["live_seconds"] for day in answer["days"]] == [0.0] * len(answer["days"])


def test_automation_may_not_rewrite_the_rules(start_daemon):
    daemon = start_daemon()
    for op, fields in (("schedule.set", {"toml": MUTED_BY_DEFAULT}),
                       ("settings.set", {"settings": {"default_unmute_s": 600}}),
                       ("fault.clear", {})):
        for source in ("audio", "mqtt"):
            answer = daemon.raw({"op": op, "source": source, **fields})
            assert answer["error"] == "forbidden_source", (op, source, answer)
    assert daemon.request("schedule.get")["schedule"]["default"] == "live"


def test_a_new_schedule_cannot_open_a_locked_window_that_is_open(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=LOCKED_ALL_DAY)
    for source in ("cli", "web", "api"):
        with pytest.raises(Refused) as refusal:
            daemon.request("schedule.set", source=source, toml='timezone = "UTC"\n')
        assert refusal.value.code == "locked" and "All day" in str(refusal.value)
    disabled = LOCKED_ALL_DAY.replace("locked = true", "locked = true\nenabled = false")
    with pytest.raises(Refused):
        daemon.request("schedule.set", toml=disabled)
    status = daemon.status()
    assert (status["state"], status["locked"]) == ("muted", True)
    # Changes that keep the open window locked are fine, even while it is open.
    kept = LOCKED_ALL_DAY + '\n[[exception]]\nname = "Holiday"\nfrom = "2030-01-01"\nto = "2030-01-02"\nstate = "muted"\n'
    daemon.request("schedule.set", toml=kept)
    assert daemon.request("schedule.get")["schedule"]["exception"][0]["name"] == "Holiday"


def test_a_setting_cannot_trust_an_untrusted_clock(start_daemon):
    daemon = start_daemon(clock_policy="wait-sync")
    with pytest.raises(Refused) as refusal:
        daemon.request("settings.set", settings={"clock_policy": "trust"})
    assert refusal.value.code == "clock"
    assert daemon.status()["state"] == "muted"
    daemon.request("settings.set", settings={"clock_policy": "wait-sync"})   # stricter: allowed


def test_the_panels_user_may_speak_only_as_the_panel(tmp_path):
    import getpass

    config = f'[web]\nuser = "{getpass.getuser()}"\n'
    daemon = DaemonProcess(tmp_path / "d", config_text=config).start()
    try:
        for source in ("cli", "audio", "mqtt"):
            answer = daemon.raw({"op": "status", "source": source})
            assert answer["error"] == "forbidden_source", answer
        assert daemon.request("status", source="web")["ok"] is True
        assert daemon.raw({"op": "auth.setup_code", "source": "cli"})["error"] == "forbidden_source"
    finally:
        daemon.stop()


def test_a_clock_step_back_does_not_stretch_an_unmute(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=MUTED_BY_DEFAULT)
    daemon.request("unmute", **{"for": 900})
    daemon.request("sim.clock", offset=-86400)
    status = daemon.wait_for(lambda s: s["until"] is not None and s["until"] < datetime.now(timezone.utc).isoformat(),
                             timeout=1.5)
    until = datetime.fromisoformat(status["until"])
    remaining = (until - (datetime.now(timezone.utc) - timedelta(days=1))).total_seconds()
    assert status["state"] == "live" and 880 <= remaining <= 905


def test_switch_to_auto_is_answered_once_it_counts(start_daemon):
    daemon = start_daemon(kind="switch")
    status = daemon.request("sim.switch", position="auto")
    assert (status["switch"], status["state"]) == ("auto", "live")


def test_a_press_that_clears_a_fault_keeps_the_mic_cut(start_daemon):
    daemon = start_daemon()
    daemon.wait_for(lambda s: s["sense"] is True)    # the contacts have followed the live relay
    daemon.request("sim.sense_fault", on=True)       # ... and now stick closed
    daemon.request("mute")
    daemon.wait_for(lambda s: s["fault"] is not None, timeout=2)
    daemon.request("sim.sense_fault", on=False)
    status = daemon.request("sim.press")             # the owner presses to be sure
    assert status["fault"] is None and (status["state"], status["relay"]) == ("muted", "cut")
    time.sleep(0.1)
    assert daemon.status()["state"] == "muted"       # still cut after the debounce time
    daemon.request("sim.release")
    time.sleep(0.1)
    daemon.request("sim.press")                      # a second press opens it as usual
    daemon.wait_for(lambda s: s["state"] == "live", timeout=2)


def test_status_names_the_mics_own_next_change(start_daemon):
    daemon = start_daemon()
    daemon.request("schedule.set", toml=LOCKED_ALL_DAY)
    status = daemon.request("sim.hold", seconds=2.3)
    assert status["state"] == "live"
    # The hold opened the mic for the default 15 minutes: that is the next change, not the
    # locked window's end tomorrow.
    assert status["next_change"]["at"] == status["until"]
    assert (status["next_change"]["state"], status["next_change"]["locked"]) == ("muted", True)


def test_switch_mode_has_no_button_to_press(start_daemon):
    daemon = start_daemon(kind="switch")
    for op in ("sim.press", "sim.release"):
        with pytest.raises(RequestError, match="sim switch"):
            daemon.request(op)
    text = cli("status", data=daemon.data).stdout
    assert "flip it to auto" in text and "only the button" not in text


def test_ledger_days_counts_local_days(start_daemon):
    daemon = start_daemon()
    answer = json.loads(cli("ledger", "--days", "2", "--json", data=daemon.data).stdout)
    assert len(answer["days"]) == 2
    bad = daemon.raw({"op": "ledger", "source": "cli", "from": "garbage", "to": "2030-01-01T00:00"})
    assert bad["error"] == "bad_request" and bad["message"].startswith("'from'")


def test_a_ledger_range_in_the_future_is_empty_not_an_error(start_daemon):
    daemon = start_daemon()
    now = datetime.now(timezone.utc)
    answer = daemon.request("ledger", **{"from": (now + timedelta(days=1)).isoformat(),
                                         "to": (now + timedelta(days=2)).isoformat()})
    assert answer["changes"] == [] and answer["days"] == []
