"""`mickill doctor`'s checks of a build: platform, config, pins, clock, service and audio, and
the runner that orders them; each check returns a Check with what to do when it is not a PASS."""

import http.client
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .doctor_wiring import FAIL, PASS, WARN, Check, check_control, check_relay
from .errors import ConfigError, MickillError

# BCM pins with a function a HAT or the OS may want; a device there works but blocks that use.
RESERVED_PINS = {
    0: "the HAT ID EEPROM (ID_SD)", 1: "the HAT ID EEPROM (ID_SC)",
    2: "I2C (SDA)", 3: "I2C (SCL)",
    7: "SPI (CE1)", 8: "SPI (CE0)", 9: "SPI (MISO)", 10: "SPI (MOSI)", 11: "SPI (SCLK)",
    14: "the UART (TXD)", 15: "the UART (RXD)",
    18: "I2S audio (PCM_CLK)", 19: "I2S audio (PCM_FS)", 20: "I2S audio (PCM_DIN)", 21: "I2S audio (PCM_DOUT)",
}
LAST_PULLED_UP = 8    # BCM 0-8 come up pulled high at power-on, 9-27 pulled low
PANEL_ANSWERING = (503,)  # besides 2xx and 3xx: the panel is up but says it is not ready
MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))
OS_RELEASE = Path("/etc/os-release")
STOP_DAEMON = "the daemon owns the pins; stop it first (sudo systemctl stop mickill) to test the wiring"


@dataclass
class Options:
    config_path: Path | None = None
    data_dir: Path | None = None
    simulate: bool = False
    click: bool = False
    button: bool = False
    button_timeout: float = 30.0
    model_files: tuple = MODEL_FILES
    os_release: Path = OS_RELEASE
    env: dict = field(default_factory=lambda: dict(os.environ))


# -- platform --------------------------------------------------------------------------------

def read_model(model_files=MODEL_FILES) -> str | None:
    for path in model_files:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace").rstrip("\x00\n ")
        except OSError:
            continue
    return None


def read_os_name(path: Path = OS_RELEASE) -> str | None:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return values.get("PRETTY_NAME", values.get("NAME", "")).strip().strip('"') or None


def check_platform(model: str | None, os_name: str | None, simulated: bool | None, why: str,
                   simulate_requested: bool) -> Check:
    """The board, the OS and the pin library; simulated pins on a Pi are a warning."""
    on_pi = bool(model and "Raspberry Pi" in model)
    board = model or "not a Raspberry Pi"
    detail = f"{board}; {os_name or 'unknown OS'}; pins: {'simulated' if simulated else 'real'} ({why})"
    if simulated is None:
        return Check("platform", FAIL, f"{board}; {os_name or 'unknown OS'}; no pin library: {why}",
                     "install lgpio (sudo apt install python3-lgpio) and run setup.sh again")
    if simulated and not simulate_requested:
        advice = ("a Raspberry Pi with simulated pins switches no relay: unset GPIOZERO_PIN_FACTORY"
                  if on_pi else "run this on the Raspberry Pi to test real wiring, or pass --simulate")
        return Check("platform", WARN, detail, advice)
    return Check("platform", PASS, detail)


# -- config and pins -------------------------------------------------------------------------

def load_config(path: Path | None):
    """(Config or None, Check)."""
    from . import config as hardware_config

    try:
        loaded = hardware_config.load(path)
    except ConfigError as error:
        return None, Check("config", FAIL, str(error),
                           f"fix the file; the sample {hardware_config.sample_path()} documents every key")
    detail = f"{path} is valid" if path else "no config file: using the built-in defaults"
    return loaded, Check("config", PASS, detail)


def device_pins(config) -> dict[str, int]:
    pins = {"relay.pin": config.relay.pin, "control.pin": config.control.pin,
            "led.pin": config.led.pin, "sense.pin": config.sense.pin}
    return {key: pin for key, pin in pins.items() if pin is not None}


def check_pins(config) -> Check:
    """Each device pin away from I2C, SPI, UART, I2S and the ID EEPROM."""
    pins = device_pins(config)
    clashes = [f"{key} = {pin} is {RESERVED_PINS[pin]}" for key, pin in pins.items() if pin in RESERVED_PINS]
    listed = ", ".join(f"{key.split('.')[0]} BCM {pin}" for key, pin in pins.items())
    if clashes:
        return Check("pins", WARN, "; ".join(clashes),
                     "move these to free GPIOs (BCM 17, 22, 23, 27 are the defaults) so HATs and the "
                     "serial console keep working")
    return Check("pins", PASS, f"{listed}: none on I2C, SPI, UART, I2S or the ID EEPROM")


def check_boot_state(config) -> Check:
    """Whether the relay stays released while the Pi boots and while it is off."""
    pin, active_high = config.relay.pin, config.relay.active_high
    pulled_up = pin <= LAST_PULLED_UP
    if not active_high:
        return Check("relay at boot", WARN,
                     f"relay.active_high = false: an active-low board energizes when BCM {pin} is low, "
                     "as it is while the Pi boots and while the Pi is off",
                     "use an active-high relay board or a transistor driver, then set "
                     "relay.active_high = true; see hardware/README.md")
    if pulled_up:
        return Check("relay at boot", WARN,
                     f"BCM {pin} is pulled high at power-on, so an active-high relay energizes (mic live) "
                     "for the seconds the Pi takes to boot",
                     "move the relay to a pin pulled low at boot (BCM 9-27, default 17), or add a "
                     "10 kΩ pull-down the chip's pull-up cannot beat")
    return Check("relay at boot", PASS, f"BCM {pin} is pulled low at power-on: the relay stays released while the Pi boots")


# -- clock -----------------------------------------------------------------------------------

def time_zone(env=os.environ, zone_file=Path("/etc/timezone"), localtime=Path("/etc/localtime")) -> str:
    if env.get("TZ"):
        return env["TZ"].lstrip(":")
    try:
        return zone_file.read_text(encoding="utf-8").strip()
    except OSError:
        pass
    try:
        target = os.readlink(localtime)
        return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else target
    except OSError:
        return "unknown"


def judge_clock(kernel_synced: bool | None, sync_file_exists: bool, policy: str, zone: str) -> Check:
    """Pure: is the clock synchronised, and what mickill does about it if not."""
    how = [what for what, yes in (("kernel", kernel_synced), ("timesyncd", sync_file_exists)) if yes]
    if how:
        return Check("clock", PASS, f"synchronised ({', '.join(how)}); time zone {zone}")
    unknown = " (the kernel's state is unknown)" if kernel_synced is None else ""
    if policy == "trust":
        return Check("clock", WARN, f"not synchronised{unknown}; time zone {zone}; clock policy trust: "
                     "the schedule runs on this clock as it is",
                     "check the network and `timedatectl`; enable NTP with sudo timedatectl set-ntp true")
    return Check("clock", WARN, f"not synchronised{unknown}; time zone {zone}; the mic stays cut until it is",
                 "check the network and `timedatectl`; enable NTP with sudo timedatectl set-ntp true")


def check_clock(config, simulated: bool, env) -> Check:
    from .clock import kernel_synchronized

    policy = config.clock.policy or ("trust" if simulated else "wait-sync")
    kernel = kernel_synchronized() if config.clock.kernel else None
    return judge_clock(kernel, Path(config.clock.sync_file).exists(), policy, time_zone(env))


# -- service ---------------------------------------------------------------------------------

def check_daemon(socket_file: Path, wiring_test: bool, timeout: float = 2.0):
    """(Check, running): the daemon answers `status` on its socket and reports no fault."""
    from .control import Client
    from .errors import DaemonUnavailable

    try:
        with Client(socket_file, source="cli", timeout=timeout) as client:
            status = client.request("status")
    except DaemonUnavailable as error:
        if wiring_test:
            return Check("daemon", WARN, f"not running ({socket_file}): the wiring checks may use the pins",
                         "start it again afterwards: sudo systemctl start mickill"), False
        return Check("daemon", FAIL, str(error),
                     "start it: sudo systemctl start mickill (or mickill run); see journalctl -u mickill"), False
    except (MickillError, OSError, ValueError) as error:
        return Check("daemon", FAIL, f"the daemon at {socket_file} did not answer status: {error}",
                     "restart it: sudo systemctl restart mickill; see journalctl -u mickill"), True
    detail = (f"running: mic {status.get('state')} ({status.get('reason')}), relay {status.get('relay')}"
              f"{', simulated pins' if status.get('simulated') else ''}")
    if status.get("fault"):
        return Check("daemon", FAIL, f"{detail}; fault: {status['fault']}",
                     "the relay or its sense input disagree: stop the daemon and run "
                     "mickill doctor --click to test the wiring"), True
    return Check("daemon", PASS, detail), True


def panel_address(bind: str) -> tuple[str, int]:
    """Where to reach a panel listening on `bind` from this machine."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return host, int(port)


def _is_mickill_panel(code: int, location: str, body: bytes) -> bool:
    """The panel sends a visitor to its login or setup page, or shows pages that name it."""
    if 300 <= code < 400:
        return location.rstrip("/").rsplit("/", 1)[-1] in ("login", "setup")
    return b"mickill" in body.lower()


def check_panel(bind: str, wiring_test: bool, timeout: float = 2.0) -> Check:
    host, port = panel_address(bind)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        code, location, body = response.status, response.getheader("Location", ""), response.read(65536)
    except (OSError, http.client.HTTPException) as error:
        status = WARN if wiring_test else FAIL
        return Check("web panel", status, f"not answering at {url} ({error})",
                     "start it: sudo systemctl start mickill-web; check [web] bind in the config")
    finally:
        connection.close()
    if not _is_mickill_panel(code, location, body):
        return Check("web panel", WARN, f"something answers at {url} (HTTP {code}) but it is not the mickill panel",
                     "check [web] bind in the config and what else listens on that port (ss -ltnp)")
    if 200 <= code < 400 or code in PANEL_ANSWERING:
        return Check("web panel", PASS, f"answering at {url} (HTTP {code})")
    return Check("web panel", WARN, f"answering at {url} with HTTP {code}",
                 "see its log: journalctl -u mickill-web")


# -- audio -----------------------------------------------------------------------------------

def check_audio(section: dict, wiring: str) -> Check:
    """The [audio] section is valid and its input and output devices exist."""
    try:
        from .audio import sources
        from .audio.config import parse
    except ImportError as error:
        return Check("audio", WARN, f"the audio modules cannot load ({error})",
                     "install the audio extras: pip install 'mickill[audio]'")
    try:
        audio, _ = parse(section, wiring)
    except ConfigError as error:
        return Check("audio", FAIL, str(error), "fix the [audio] section of the config file")
    try:
        devices = _quietly(sources.list_devices)
    except MickillError as error:
        return Check("audio", WARN, str(error), "install PyAudio to use the audio gate")
    inputs = [d for d in devices if d["inputs"] > 0]
    outputs = [d for d in devices if d["outputs"] > 0]
    wanted = [(audio.input_device, inputs, "input"), (audio.output_device, outputs, "output")]
    for name, usable, kind in wanted:
        if name is not None and not any(
                d["index"] == name if isinstance(name, int) else str(name).lower() in d["name"].lower()
                for d in usable):
            known = ", ".join(f"{d['index']}: {d['name']}" for d in usable) or "none"
            return Check("audio", FAIL, f"no {kind} device matches {name!r} (found {known})",
                         f"plug the device in (arecord -l / aplay -l list them) or fix audio.{kind}_device")
    if not inputs:
        return Check("audio", FAIL, "no audio input device found",
                     "plug in a USB microphone and check arecord -l")
    return Check("audio", PASS, f"{len(inputs)} input and {len(outputs)} output device(s): "
                 + ", ".join(d["name"] for d in inputs[:3]))


def _quietly(function):
    """Run function with stderr silenced: PortAudio prints ALSA's probing noise there."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            return function()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# -- the runner ------------------------------------------------------------------------------

def run_checks(options: Options, *, factory=None, announce=None, prepare=None) -> list[Check]:
    """Every check in order. `factory` replaces the pin-factory choice (tests pass a MockFactory);
    `prepare(hardware, factory, config)` runs before the wiring checks (simulated contacts)."""
    from . import hardware
    from .paths import data_dir, socket_path

    checks = []
    simulated, why = None, ""
    if factory is None:
        try:
            factory, simulated, why = hardware.choose_pin_factory(True if options.simulate else None, env=options.env)
        except MickillError as error:
            why = str(error)
    else:
        simulated, why = type(factory).__name__ == "MockFactory", f"{type(factory).__name__} given"
    checks.append(check_platform(read_model(options.model_files), read_os_name(options.os_release),
                                 simulated, why, options.simulate))
    config, config_check = load_config(options.config_path)
    checks.append(config_check)
    if config is None:
        return checks
    checks += [check_pins(config), check_boot_state(config)]
    wiring_test = options.click or options.button
    daemon_check, running = check_daemon(socket_path(data_dir(options.data_dir, options.env)), wiring_test)
    checks += [daemon_check, check_panel(config.web.bind, wiring_test), check_clock(config, bool(simulated), options.env)]
    if wiring_test:
        checks += _wiring_checks(options, config, factory, running, announce, prepare)
    if "audio" in config.extra:
        checks.append(check_audio(config.extra["audio"], config.relay.wiring))
    return checks


def _wiring_checks(options, config, factory, running, announce, prepare) -> list[Check]:
    from .hardware import Hardware

    names = (["relay"] if options.click else []) + ([config.control.kind] if options.button else [])
    if running:
        return [Check(name, WARN, "not tested", STOP_DAEMON) for name in names]
    if factory is None:
        return [Check(name, FAIL, "not tested: no pin library", "see the platform check") for name in names]
    try:
        devices = Hardware(config, factory)
    except MickillError as error:
        return [Check(name, FAIL, str(error), "free the pin or fix the config") for name in names]
    cleanup = prepare(devices, factory, config) if prepare else None
    try:
        checks = []
        if options.click:
            # The test closes the relay for a moment: the ledger must say so (written first).
            ledger = _ledger_for(options)
            _record(ledger, "live", "relay test (mickill doctor --click)")
            try:
                checks.append(check_relay(devices))
            finally:
                _record(ledger, "muted", "relay test over")
                if ledger is not None:
                    ledger.close()
        if options.button:
            checks.append(check_control(devices, config.control.kind, config.control.pin,
                                        config.control.debounce_ms, options.button_timeout, announce=announce))
        return checks
    finally:
        if cleanup:
            cleanup()
        devices.close()


def _ledger_for(options: Options):
    """The daemon's store, to record the relay test in its ledger; None without a database."""
    from .paths import data_dir, database_path
    from .store import Store

    path = database_path(data_dir(options.data_dir, options.env))
    try:
        return Store(path) if path.exists() else None
    except MickillError:
        return None


def _record(store, state: str, reason: str) -> None:
    if store is not None:
        from datetime import datetime, timezone

        store.record_change(datetime.now(timezone.utc), state, "doctor", reason)


def failed(checks: list[Check]) -> bool:
    return any(check.status == FAIL for check in checks)


def format_text(checks: list[Check]) -> str:
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status}  {check.name:<{width}}  {check.detail}")
        if check.status != PASS and check.advice:
            lines.append(f"{'':6}{'':<{width}}  -> {check.advice}")
    verdict = "FAILED: fix the FAIL lines above" if failed(checks) else "no failures"
    lines.append(f"{verdict} ({sum(c.status == WARN for c in checks)} warning(s))")
    return "\n".join(lines)


def format_json(checks: list[Check]) -> str:
    return json.dumps({"ok": not failed(checks), "checks": [check.as_dict() for check in checks]}, indent=2)

