"""`mickill doctor`'s checks without wiring: platform, config, pins, clock, service, panel, audio,
the report formats and the command line."""

import http.server
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from mickill import config as hardware_config
from mickill import doctor
from mickill.control import Client
from mickill.doctor import FAIL, PASS, WARN
from mickill.paths import socket_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "mickill.cli.main", "doctor", *args],
                          capture_output=True, text=True, timeout=timeout)


# -- platform ---------------------------------------------------------------------------------

def test_the_model_and_os_are_read_from_their_files(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nPRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"\n')
    assert doctor.read_model((tmp_path / "missing", model)) == "Raspberry Pi 4 Model B Rev 1.4"
    assert doctor.read_os_name(release) == "Raspbian GNU/Linux 12 (bookworm)"
    assert doctor.read_model((tmp_path / "missing",)) is None and doctor.read_os_name(tmp_path / "no") is None


def test_platform_verdicts():
    pi = "Raspberry Pi 5 Model B Rev 1.0"
    real = doctor.check_platform(pi, "Debian 12", False, "Raspberry Pi, lgpio", False)
    assert real.status == PASS and "lgpio" in real.detail and pi in real.detail
    assert doctor.check_platform(None, "Debian 12", True, "simulation requested", True).status == PASS
    laptop = doctor.check_platform(None, "Debian 12", True, "not a Raspberry Pi", False)
    assert laptop.status == WARN and "--simulate" in laptop.advice
    mocked_pi = doctor.check_platform(pi, "Debian 12", True, "GPIOZERO_PIN_FACTORY=mock", False)
    assert mocked_pi.status == WARN and "GPIOZERO_PIN_FACTORY" in mocked_pi.advice
    broken = doctor.check_platform(pi, "Debian 12", None, "no GPIO library could be loaded", False)
    assert broken.status == FAIL and "lgpio" in broken.advice


# -- config and pins --------------------------------------------------------------------------

def test_an_invalid_config_fails_with_the_config_error(config_file):
    loaded, check = doctor.load_config(config_file("[relay]\npin = 40\n"))
    assert loaded is None and check.status == FAIL
    assert "relay.pin" in check.detail and "0 to 27" in check.detail
    assert "sample" in check.advice


def test_a_pin_used_twice_fails(config_file):
    loaded, check = doctor.load_config(config_file("[led]\npin = 17\n"))
    assert loaded is None and check.status == FAIL and "already used by relay.pin" in check.detail


def test_a_missing_config_file_fails_and_no_file_means_the_defaults(tmp_path):
    assert doctor.load_config(tmp_path / "absent.toml")[1].status == FAIL
    loaded, check = doctor.load_config(None)
    assert loaded == hardware_config.Config() and check.status == PASS and "defaults" in check.detail


def test_reserved_pins_are_warnings_naming_key_and_function(config_file):
    loaded = hardware_config.load(config_file("[relay]\npin = 14\n[led]\npin = 2\n[sense]\npin = 18\n"))
    check = doctor.check_pins(loaded)
    assert check.status == WARN
    assert "relay.pin = 14 is the UART" in check.detail and "led.pin = 2 is I2C" in check.detail
    assert "sense.pin = 18 is I2S" in check.detail and "control.pin" not in check.detail
    assert doctor.check_pins(hardware_config.Config()).status == PASS


@pytest.mark.parametrize("pin,active_high,status", [
    (17, True, PASS), (9, True, PASS), (27, True, PASS),
    (4, True, WARN), (8, True, WARN),       # pulled up at power-on: an active-high relay energizes
    (17, False, WARN), (4, False, WARN),    # active-low boards energize whenever the pin is low
])
def test_the_relay_pins_state_at_boot(config_file, pin, active_high, status):
    text = (f"[relay]\npin = {pin}\nactive_high = {str(active_high).lower()}\n"
            "[control]\npin = 5\n[led]\npin = \"none\"\n")
    check = doctor.check_boot_state(hardware_config.load(config_file(text)))
    assert check.status == status
    if status == WARN:
        assert "hardware/README.md" in check.advice or "BCM 9-27" in check.advice


# -- clock ------------------------------------------------------------------------------------

def test_clock_verdicts():
    synced = doctor.judge_clock(True, False, "wait-sync", "Europe/London")
    assert synced.status == PASS and "kernel" in synced.detail and "Europe/London" in synced.detail
    assert "timesyncd" in doctor.judge_clock(None, True, "wait-sync", "UTC").detail
    waiting = doctor.judge_clock(False, False, "wait-sync", "UTC")
    assert waiting.status == WARN and "mic stays cut" in waiting.detail and "timedatectl" in waiting.advice
    trusting = doctor.judge_clock(None, False, "trust", "UTC")
    assert trusting.status == WARN and "unknown" in trusting.detail and "as it is" in trusting.detail


def test_the_time_zone_comes_from_tz_then_the_system(tmp_path):
    assert doctor.time_zone({"TZ": ":Europe/Paris"}) == "Europe/Paris"
    zone_file = tmp_path / "timezone"
    zone_file.write_text("America/Denver\n")
    assert doctor.time_zone({}, zone_file=zone_file) == "America/Denver"
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
    assert doctor.time_zone({}, zone_file=tmp_path / "none", localtime=link) == "Asia/Tokyo"


# -- service ----------------------------------------------------------------------------------

def test_no_daemon_fails_unless_the_wiring_is_being_tested(tmp_path):
    check, running = doctor.check_daemon(tmp_path / "mickill.sock", wiring_test=False)
    assert (check.status, running) == (FAIL, False) and "systemctl start mickill" in check.advice
    check, running = doctor.check_daemon(tmp_path / "mickill.sock", wiring_test=True)
    assert (check.status, running) == (WARN, False)


def test_a_running_daemon_passes_and_a_fault_fails(start_daemon):
    daemon = start_daemon()
    check, running = doctor.check_daemon(daemon.socket, wiring_test=False)
    assert running and check.status == PASS and "simulated pins" in check.detail
    with Client(daemon.socket, "cli") as client:
        status = daemon.wait_for(lambda s: s["sense"] == (s["state"] == "live"))  # contacts settled
        client.request("sim.sense_fault", on=True)
        client.request("unmute" if status["state"] == "muted" else "mute")
        deadline = time.monotonic() + 5
        while client.request("status")["fault"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
    check, running = doctor.check_daemon(daemon.socket, wiring_test=False)
    assert running and check.status == FAIL and "fault" in check.detail


def test_the_wiring_checks_keep_off_the_pins_while_the_daemon_runs(start_daemon, mock_factory, config_file, tmp_path):
    daemon = start_daemon()
    path = config_file(f"[web]\nbind = \"127.0.0.1:{free_port()}\"\n")
    options = doctor.Options(config_path=path, data_dir=daemon.data, click=True, button=True,
                             button_timeout=0.1, model_files=(tmp_path / "none",))
    checks = {c.name: c for c in doctor.run_checks(options, factory=mock_factory)}
    assert checks["daemon"].status == PASS
    for name in ("relay", "button"):
        assert checks[name].status == WARN and checks[name].advice == doctor.STOP_DAEMON
    assert len(mock_factory.pin(17).states) == 1, "the relay pin was touched"


class _Panel(http.server.BaseHTTPRequestHandler):
    code = 200
    body = b"<title>mickill</title>"
    location = "/login"

    def do_GET(self):
        self.send_response(self.code)
        if 300 <= self.code < 400:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("code,status,body,location", [
    (200, PASS, b"<h1>mickill</h1>", ""), (302, PASS, b"", "/login"), (302, PASS, b"", "http://pi:8080/setup"),
    (503, PASS, b"the mickill controller is not running", ""), (500, WARN, b"mickill", ""),
    (404, WARN, b"mickill", ""),
    # Something else on the port: another web server is not the panel.
    (200, WARN, b"<h1>Directory listing for /</h1>", ""), (302, WARN, b"", "/index.html"),
])
def test_the_panel_check_reads_a_real_http_answer(code, status, body, location):
    handler = type("Handler", (_Panel,), {"code": code, "body": body, "location": location})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        check = doctor.check_panel(f"0.0.0.0:{server.server_address[1]}", wiring_test=False)
    finally:
        server.shutdown()
        server.server_close()
    assert check.status == status and f"HTTP {code}" in check.detail


def test_a_silent_panel_fails():
    check = doctor.check_panel(f"127.0.0.1:{free_port()}", wiring_test=False)
    assert check.status == FAIL and "mickill-web" in check.advice
    assert doctor.panel_address("[::]:8080") == ("::1", 8080)
    assert doctor.panel_address("pi.local:80") == ("pi.local", 80)


# -- audio ------------------------------------------------------------------------------------

def test_a_bad_audio_section_fails_naming_the_key():
    check = doctor.check_audio({"loudness": 3}, "mic")
    assert check.status == FAIL and "audio.loudness" in check.detail


def test_an_audio_device_that_is_not_there_fails():
    check = doctor.check_audio({"enabled": True, "input_device": "no-such-microphone-x7"}, "mic")
    assert check.status in (FAIL, WARN)   # WARN only where PyAudio is missing
    if check.status == FAIL:
        assert "no-such-microphone-x7" in check.detail and "arecord -l" in check.advice


# -- the report and the command line ----------------------------------------------------------

def test_the_text_report_gives_advice_for_warnings_and_failures():
    checks = [doctor.Check("a", PASS, "fine", "unused advice"), doctor.Check("bb", WARN, "hmm", "do this"),
              doctor.Check("c", FAIL, "broken", "fix that")]
    text = doctor.format_text(checks)
    assert "unused advice" not in text and "-> do this" in text and "-> fix that" in text
    assert text.splitlines()[-1].startswith("FAILED") and "1 warning" in text
    assert json.loads(doctor.format_json(checks[:2]))["ok"] is True
    assert json.loads(doctor.format_json(checks))["checks"][2] == {
        "name": "c", "status": "FAIL", "detail": "broken", "advice": "fix that"}


def test_the_cli_reports_json_and_fails_only_when_the_service_is_expected(tmp_path, config_file):
    path = config_file(f"[web]\nbind = \"127.0.0.1:{free_port()}\"\n[sense]\npin = 23\n")
    result = run_cli("--simulate", "--click", "--json", "--config", str(path), "--data", str(tmp_path / "d"))
    report = json.loads(result.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    # Testing the wiring needs the daemon stopped, so its absence is only a warning then.
    assert result.returncode == 0 and report["ok"] is True
    # The relay's contacts follow the simulated coil, so the click is read back and passes.
    assert statuses["relay"] == PASS and statuses["daemon"] == WARN and statuses["web panel"] == WARN
    relay = next(c for c in report["checks"] if c["name"] == "relay")
    assert "contacts closed after" in relay["detail"]
    plain = run_cli("--simulate", "--json", "--config", str(path), "--data", str(tmp_path / "d"))
    report = json.loads(plain.stdout)
    assert plain.returncode == 1 and report["ok"] is False
    assert {c["name"]: c["status"] for c in report["checks"]}["daemon"] == FAIL


def test_the_cli_passes_with_a_daemon_and_panel_up(start_daemon, config_file):
    daemon = start_daemon()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Panel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        path = config_file(f"[web]\nbind = \"127.0.0.1:{server.server_address[1]}\"\n")
        result = run_cli("--simulate", "--config", str(path), "--data", str(daemon.data))
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout and result.stdout.strip().endswith("warning(s))")


def test_the_cli_fails_on_a_bad_config_and_rejects_a_bad_timeout(tmp_path, config_file):
    result = run_cli("--simulate", "--config", str(config_file("[relay]\nwiring = \"mains\"\n")),
                     "--data", str(tmp_path))
    assert result.returncode == 1 and "FAIL  config" in result.stdout and "relay.wiring" in result.stdout
    bad = run_cli("--button-timeout", "0")
    assert bad.returncode == 2 and "--button-timeout" in bad.stderr and "Traceback" not in bad.stderr


def test_the_relay_test_is_recorded_in_the_ledger(tmp_path, config_file):
    from datetime import datetime, timedelta, timezone

    from mickill.store import Store

    data = tmp_path / "d"
    data.mkdir()
    Store(data / "mickill.db").close()          # a daemon ran here before (and is stopped now)
    path = config_file(f"[web]\nbind = \"127.0.0.1:{free_port()}\"\n")
    result = run_cli("--simulate", "--click", "--config", str(path), "--data", str(data))
    assert result.returncode == 0
    with Store(data / "mickill.db") as store:
        now = datetime.now(timezone.utc)
        rows = store.changes(now - timedelta(minutes=5), now + timedelta(seconds=1))
    assert [(r.state, r.source) for r in rows] == [("live", "doctor"), ("muted", "doctor")]
    assert rows[1].at > rows[0].at
