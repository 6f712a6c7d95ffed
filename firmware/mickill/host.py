"""Facts about the machine mickill runs on: its time zone and its users."""

import os
import pwd
from pathlib import Path


def uid_of(user: str) -> int | None:
    """The user's id, or None where there is no such user (a laptop: the panel runs as its owner)."""
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def local_timezone() -> str:
    """The machine's IANA zone name, for a schedule that has none yet; UTC if unknown."""
    if os.environ.get("TZ", "").strip(":"):
        return os.environ["TZ"].strip(":")
    try:
        return Path("/etc/timezone").read_text(encoding="utf-8").strip() or "UTC"
    except OSError:
        pass
    try:
        return os.readlink("/etc/localtime").split("zoneinfo/", 1)[1]
    except (OSError, IndexError):
        return "UTC"
