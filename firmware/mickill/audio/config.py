"""The `[audio]` section of the hardware config, validated strictly; errors name `audio.KEY`."""

from dataclasses import dataclass, fields

from ..errors import ConfigError


@dataclass(frozen=True)
class AudioConfig:
    enabled: bool = False
    input_device: str | int | None = None    # name substring or PortAudio index; None: default
    output_device: str | int | None = None
    sample_rate: int = 16000
    gate: bool = True
    window_s: int = 20
    gap_min_ms: int = 150
    gap_max_ms: int = 700
    threshold_db: float = 8.0
    phrase: str | None = None
    masking: bool = False
    masking_level_db: float = -30.0          # noise RMS in dB relative to full scale
    chime: bool = False


RATES = (8000, 16000, 22050, 32000, 44100, 48000)
_RANGES = {"window_s": (5, 120), "gap_min_ms": (50, 2000), "gap_max_ms": (100, 3000),
           "threshold_db": (3.0, 40.0), "masking_level_db": (-60.0, -6.0)}


def parse(section: dict | None, wiring: str = "mic") -> tuple[AudioConfig, list[str]]:
    """Validate `[audio]`; returns the config and warnings for the log."""
    section = dict(section or {})
    known = {f.name: f for f in fields(AudioConfig)}
    for key in section:
        if key not in known:
            raise ConfigError(f"audio.{key}: unknown key; the keys are {', '.join(known)}")
    values = {}
    for key, value in section.items():
        values[key] = _check(key, value)
    config = AudioConfig(**values)
    if config.gap_min_ms >= config.gap_max_ms:
        raise ConfigError(f"audio.gap_min_ms ({config.gap_min_ms}) must be below audio.gap_max_ms "
                          f"({config.gap_max_ms}): widen the range")
    warnings = []
    if wiring == "power" and config.enabled and config.gate:
        if "gate" in section:
            warnings.append("audio.gate is on with relay.wiring = \"power\": the speaker needs "
                            "its boot time, so a knock opens it only after it has started")
        else:
            config = AudioConfig(**{**values, "gate": False})
            warnings.append("audio gate off: relay.wiring = \"power\" cuts the speaker's power and "
                            "it needs its boot time; set audio.gate = true to use it anyway")
    return config, warnings


def _check(key, value):
    if key in ("enabled", "gate", "masking", "chime"):
        if not isinstance(value, bool):
            raise ConfigError(f"audio.{key}: must be true or false, not {value!r}")
        return value
    if key in ("input_device", "output_device"):
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise ConfigError(f"audio.{key}: give a device name (part of it) or an index from "
                              f"'mickill audio devices', not {value!r}")
        return value
    if key == "sample_rate":
        if value not in RATES or isinstance(value, bool):
            raise ConfigError(f"audio.sample_rate: {value!r} is not one of {RATES}")
        return value
    if key == "phrase":
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise ConfigError(f"audio.phrase: give a short key phrase of 1 to 64 characters, not {value!r}")
        return value.strip().lower()
    low, high = _RANGES[key]
    integral = isinstance(low, int)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integral and not isinstance(value, int)):
        kind = "a whole number" if integral else "a number"
        raise ConfigError(f"audio.{key}: must be {kind} from {low} to {high}, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"audio.{key}: {value} is out of range; use {low} to {high}")
    return value
