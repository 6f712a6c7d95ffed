"""The systemd units: the directives the daemon's safety and the panel's confinement rely on,
and systemd's own verdict on the files."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DAEMON = REPO / "firmware" / "systemd" / "mickill.service"
WEB = REPO / "web" / "systemd" / "mickill-web.service"
EXEC_TAIL = "--config /etc/mickill/mickill.toml --data /var/lib/mickill"


def parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with all its values in order (systemd allows repeats,
    which configparser does not)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} is outside any section"
        assert "=" in line, f"{path.name}: {line!r} is not KEY=VALUE"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit, section, key) -> str:
    values = unit[section].get(key)
    assert values is not None, f"{key}= missing from [{section}]"
    assert len(values) == 1, f"{key}= given {len(values)} times in [{section}]"
    return values[0]


def words(unit, section, key) -> set[str]:
    return {word for value in unit[section].get(key, []) for word in value.split()}


@pytest.fixture(scope="module")
def daemon():
    return parse(DAEMON)


@pytest.fixture(scope="module")
def web():
    return parse(WEB)


HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectControlGroups": "yes",
}


def test_daemon_runs_as_its_own_user_with_gpio(daemon):
    service = "Service"
    assert one(daemon, service, "ExecStart") == f"/opt/mickill/venv/bin/mickill run --no-web {EXEC_TAIL}"
    assert one(daemon, service, "User") == "mickill"
    assert one(daemon, service, "Group") == "mickill"
    assert "gpio" in words(daemon, service, "SupplementaryGroups")


def test_daemon_stop_of_any_kind_releases_the_relay(daemon):
    # A crashed process's GPIO line may keep its level: ExecStopPost drives it to "cut".
    command = one(daemon, "Service", "ExecStopPost").split()
    assert command[:2] == ["/opt/mickill/venv/bin/mickill", "release-relay"]
    from mickill.cli.main import build_parser

    assert build_parser().parse_args(command[1:]).func.__module__ == "mickill.cli.release"


def test_lgpio_gets_a_writable_working_folder(daemon):
    # lgpio creates files in its working folder at import; "/" is read-only under the sandbox.
    assert one(daemon, "Service", "WorkingDirectory") == "/var/lib/mickill"
    assert one(daemon, "Service", "Environment") == "LG_WD=/var/lib/mickill"
    assert "/var/lib/mickill" in words(daemon, "Service", "ReadWritePaths")


def test_daemon_is_supervised_by_notify_and_watchdog(daemon):
    assert one(daemon, "Service", "Type") == "notify"
    assert one(daemon, "Service", "NotifyAccess") == "main"
    assert one(daemon, "Service", "WatchdogSec") == "10"
    assert one(daemon, "Service", "Restart") == "on-failure"
    assert one(daemon, "Service", "RestartSec") == "1"
    assert one(daemon, "Service", "KillSignal") == "SIGTERM"
    assert one(daemon, "Service", "TimeoutStopSec") == "5"
    # The start limit belongs in [Unit]; in [Service] systemd ignores it.
    assert one(daemon, "Unit", "StartLimitIntervalSec") == "60"
    assert one(daemon, "Unit", "StartLimitBurst") == "5"
    assert "StartLimitIntervalSec" not in daemon["Service"]


def test_daemon_does_not_wait_for_the_clock_or_the_network(daemon):
    # It must hold the mic cut from early boot, before NTP has synchronised.
    ordering = words(daemon, "Unit", "After") | words(daemon, "Unit", "Wants") | words(daemon, "Unit", "Requires")
    assert not ordering & {"time-sync.target", "time-set.target", "network-online.target", "network.target"}


def test_daemon_hardening_keeps_gpio_and_sound_reachable(daemon):
    service = daemon["Service"]
    for key, value in HARDENING.items():
        assert one(daemon, "Service", key) == value, key
    assert one(daemon, "Service", "ReadWritePaths") == "/var/lib/mickill"
    assert one(daemon, "Service", "RestrictAddressFamilies") == "AF_UNIX"
    assert one(daemon, "Service", "UMask") == "0007"
    # A private /dev would hide the GPIO chips; ProtectClock would block reading adjtimex.
    assert service.get("PrivateDevices", ["no"]) == ["no"]
    assert "ProtectClock" not in service
    allowed = {value.split()[0]: value.split()[1] for value in service["DeviceAllow"]}
    assert allowed["char-gpiochip"] == "rw"
    assert allowed["/dev/gpiomem"] == "rw"
    assert allowed["char-alsa"] == "rw"
    assert one(daemon, "Install", "WantedBy") == "multi-user.target"


def test_web_is_a_socket_client_with_network(web):
    assert one(web, "Service", "Type") == "simple"
    assert one(web, "Service", "ExecStart") == f"/opt/mickill/venv/bin/mickill web {EXEC_TAIL}"
    assert one(web, "Service", "User") == "mickill-web"
    assert one(web, "Service", "Group") == "mickill-web"
    assert words(web, "Service", "SupplementaryGroups") == {"mickill"}
    assert one(web, "Service", "Restart") == "on-failure"
    assert words(web, "Unit", "After") >= {"network-online.target", "mickill.service"}
    assert words(web, "Unit", "Wants") == {"network-online.target"}
    assert one(web, "Install", "WantedBy") == "multi-user.target"


def test_web_hardening(web):
    for key, value in HARDENING.items():
        assert one(web, "Service", key) == value, key
    assert words(web, "Service", "RestrictAddressFamilies") == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert one(web, "Service", "ReadOnlyPaths") == "/var/lib/mickill"
    assert "ReadWritePaths" not in web["Service"]
    # It never touches GPIO: no devices, and none of the gpio group's rights.
    assert one(web, "Service", "PrivateDevices") == "yes"
    assert "DeviceAllow" not in web["Service"]
    assert "gpio" not in words(web, "Service", "SupplementaryGroups")


def test_systemd_accepts_both_units(tmp_path):
    """systemd-analyze verify against a staging root holding the installed layout, so unknown
    keys, misspelt targets and a missing ExecStart binary are all reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    system_units = Path("/usr/lib/systemd/system")
    if not (system_units / "multi-user.target").exists():
        pytest.skip("no systemd unit directory at /usr/lib/systemd/system to verify against")
    root = tmp_path / "root"
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    for unit in (DAEMON, WEB):
        shutil.copy2(unit, unit_dir / unit.name)
    mickill = root / "opt/mickill/venv/bin/mickill"
    mickill.parent.mkdir(parents=True)
    mickill.write_text("#!/bin/sh\n")
    mickill.chmod(0o755)
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", DAEMON.name, WEB.name],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
