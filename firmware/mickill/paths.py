"""Where mickill keeps its data and finds its daemon: --data, $MICKILL_DATA, or a default."""

import os
from pathlib import Path

SYSTEM_DATA_DIR = Path("/var/lib/mickill")
SOCKET_NAME = "mickill.sock"
DATABASE_NAME = "mickill.db"


def data_dir(explicit: str | os.PathLike | None = None, env=os.environ) -> Path:
    """The data folder: the one given, else $MICKILL_DATA, else the installed service's, else
    the user's own (~/.local/share/mickill), so a laptop needs no root."""
    if explicit:
        return Path(explicit).expanduser()
    if env.get("MICKILL_DATA"):
        return Path(env["MICKILL_DATA"]).expanduser()
    if (SYSTEM_DATA_DIR / SOCKET_NAME).exists():
        return SYSTEM_DATA_DIR
    base = env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "mickill"


def config_path(explicit: str | os.PathLike | None, env=os.environ) -> Path | None:
    """The hardware config: the one given, else $MICKILL_CONFIG, else the installed one if it
    exists; None means the built-in defaults."""
    from .config import DEFAULT_PATH

    if explicit:
        return Path(explicit)
    if env.get("MICKILL_CONFIG"):
        return Path(env["MICKILL_CONFIG"])
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def socket_path(data: Path) -> Path:
    return Path(data) / SOCKET_NAME


def database_path(data: Path) -> Path:
    return Path(data) / DATABASE_NAME
