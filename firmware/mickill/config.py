"""The hardware facts (pins, polarity, wiring, clock policy, web bind) read from a TOML file
and validated strictly at start, so a wrong pin is an error before any GPIO is touched."""

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from .errors import ConfigError

DEFAULT_PATH = Path("/etc/mickill/mickill.toml")
SAMPLE_NAME = "mickill.sample.toml"
BCM_PINS = range(0, 28)
# Sections other modules own: passed through untouched, validated by their owners.
EXTRA_SECTIONS = ("audio",)


@dataclass(frozen=True)
class RelayConfig:
    pin: int = 17
    active_high: bool = True
    wiring: str = "power"  # "power": on the speaker's supply; "mic": on the microphone line


@dataclass(frozen=True)
class ControlConfig:
    kind: str = "button"  # "button" (momentary) or "switch" (latching: closed = auto)
    pin: int = 27
    pull_up: bool = True
    debounce_ms: int = 30


@dataclass(frozen=True)
class LedConfig:
    pin: int | None = 22
    active_high: bool = True


@dataclass(frozen=True)
class SenseConfig:
    pin: int | None = None  # active = relay contacts closed (mic live)
    active_high: bool = True
    fault_ms: int = 200


@dataclass(frozen=True)
class ClockConfig:
    policy: str | None = None  # None: trust when simulated, wait-sync on real pins
    sync_file: str = "/run/systemd/timesync/synchronized"
    kernel: bool = True


@dataclass(frozen=True)
class WebConfig:
    bind: str = "127.0.0.1:8080"
    # The system user the panel runs as. The daemon lets that user speak only as "web" or
    # "api", so a compromised panel cannot pass itself off as the command line.
    user: str = "mickill-web"


@dataclass(frozen=True)
class Config:
    relay: RelayConfig = field(default_factory=RelayConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    led: LedConfig = field(default_factory=LedConfig)
    sense: SenseConfig = field(default_factory=SenseConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)
    web: WebConfig = field(default_factory=WebConfig)
    extra: dict = field(default_factory=dict)


_SECTIONS = {
    "relay": RelayConfig,
    "control": ControlConfig,
    "led": LedConfig,
    "sense": SenseConfig,
    "clock": ClockConfig,
    "web": WebConfig,
}

_ENUMS = {
    ("relay", "wiring"): ("power", "mic"),
    ("control", "kind"): ("button", "switch"),
}
_RANGES = {
    ("control", "debounce_ms"): range(1, 501),
    ("sense", "fault_ms"): range(1, 10001),
}
# Keys that may say "none" (no device fitted) or "auto" (the default policy): TOML has no null.
_NONE_WORDS = {
    ("led", "pin"): "none",
    ("sense", "pin"): "none",
    ("clock", "policy"): "auto",
}
_PINS = (("relay", "pin"), ("control", "pin"), ("led", "pin"), ("sense", "pin"))
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _check_value(section: str, key: str, value, where: str):
    """Return the value for section.key, or raise naming it and what is expected."""
    name = f"{section}.{key}"
    if (section, key) in _NONE_WORDS and value == _NONE_WORDS[(section, key)]:
        return None
    if key == "pin" or (section, key) in _RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            expected = "a BCM GPIO number 0..27" if key == "pin" else "an integer"
            if (section, key) in _NONE_WORDS:
                expected += ' or "none"'
            raise ConfigError(f"{where}: {name} must be {expected}, got {value!r}")
        allowed = BCM_PINS if key == "pin" else _RANGES[(section, key)]
        if value not in allowed:
            what = "BCM GPIO number" if key == "pin" else "value"
            raise ConfigError(
                f"{where}: {name} must be a {what} from {allowed.start} to {allowed.stop - 1}, got {value}")
        return value
    if key in ("active_high", "pull_up", "kernel"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {name} must be a string, got {value!r}")
    if (section, key) in _ENUMS:
        choices = _ENUMS[(section, key)]
        if value not in choices:
            listed = " or ".join(f'"{c}"' for c in choices)
            raise ConfigError(f"{where}: {name} must be {listed}, got {value!r}")
    elif (section, key) == ("clock", "policy"):
        if value not in ("wait-sync", "trust"):
            raise ConfigError(f'{where}: {name} must be "wait-sync", "trust" or "auto", got {value!r}')
    elif (section, key) == ("clock", "sync_file"):
        if not value.startswith("/"):
            raise ConfigError(f"{where}: {name} must be an absolute path, got {value!r}")
    elif (section, key) == ("web", "bind"):
        _check_bind(value, f"{where}: {name}")
    elif (section, key) == ("web", "user"):
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", value):
            raise ConfigError(f"{where}: {name} must be a system user name like \"mickill-web\", got {value!r}")
    return value


def _check_bind(bind: str, name: str) -> None:
    """host:port, with an IPv6 host in brackets ([::1]:8080)."""
    expected = 'must be "host:port", for example "127.0.0.1:8080" or "[::1]:8080"'
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{name} {expected} (port 1..65535), got {bind!r}")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ConfigError(f"{name} has an invalid IPv6 address {host!r}; {expected}") from None
        return
    if not _HOSTNAME.match(host):
        raise ConfigError(f"{name} has an invalid host {host!r}; {expected}")


def parse(document: dict, origin: str = "<config>") -> Config:
    """Validate a TOML document (already read into a dict) into a Config, or raise ConfigError
    naming the first bad "section.key" and what it expects."""
    built, extra = {}, {}
    for section, table in document.items():
        if section in EXTRA_SECTIONS:
            if not isinstance(table, dict):
                raise ConfigError(f"{origin}: [{section}] must be a table (a [{section}] section)")
            extra[section] = dict(table)
            continue
        if section not in _SECTIONS:
            known = ", ".join(f"[{s}]" for s in (*_SECTIONS, *EXTRA_SECTIONS))
            raise ConfigError(f"{origin}: unknown section [{section}]; expected one of {known}")
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: {section} must be a table (a [{section}] section)")
        kind = _SECTIONS[section]
        keys = [f.name for f in fields(kind)]
        values = {}
        for key, value in table.items():
            if key not in keys:
                raise ConfigError(
                    f"{origin}: unknown key {section}.{key}; [{section}] takes {', '.join(keys)}")
            values[key] = _check_value(section, key, value, origin)
        built[section] = kind(**values)
    config = Config(**built, extra=extra)
    _check_pins_distinct(config, origin)
    return config


def _check_pins_distinct(config: Config, origin: str) -> None:
    owner = {}
    for section, key in _PINS:
        pin = getattr(getattr(config, section), key)
        if pin is None:
            continue
        if pin in owner:
            raise ConfigError(
                f"{origin}: {section}.{key} uses BCM {pin}, already used by {owner[pin]}; "
                "give each device its own pin")
        owner[pin] = f"{section}.{key}"


def sample_path() -> Path:
    """Where the packaged sample lives on disk (for messages telling the owner to copy it)."""
    return Path(str(resources.files(__package__).joinpath(SAMPLE_NAME)))


def sample_text() -> str:
    """The packaged sample config: every key, commented, with the defaults."""
    return resources.files(__package__).joinpath(SAMPLE_NAME).read_text(encoding="utf-8")


def load(path: Path | None) -> Config:
    """Read and validate a config file; None means the built-in defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; create one from the sample with "
            f"`install -D -m 0644 {sample_path()} {path}` and edit its pins") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror}); "
                          "check that it is a readable file") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the config file as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        # tomllib's message already says "(at line N, column M)".
        raise ConfigError(f"{path}: TOML syntax error: {error}; fix that line") from None
    return parse(document, origin=str(path))
