"""Durations as people write them: 90s, 15m, 2h, 1h30m, or a plain number of seconds."""

import re

from .errors import DurationError

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises DurationError with an example of the expected form."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        seconds = float(cleaned)
    elif cleaned and re.fullmatch(f"(?:{_PART.pattern})+", cleaned):
        seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(cleaned))
    else:
        raise DurationError(f"cannot read duration {text!r}: write it like 90s, 15m, 2h or 1h30m")
    if seconds <= 0:
        raise DurationError(f"duration {text!r} must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of `seconds`, for messages: 900 -> '15m', 5400 -> '1h30m'."""
    whole = int(round(seconds))
    if whole <= 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
