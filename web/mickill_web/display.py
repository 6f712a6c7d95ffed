"""How the panel says things: the status in words, and instants in the schedule's zone (with
the UTC offset on days the clocks change)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SOURCE_WORDS = {"button": "the button", "web": "the web panel", "api": "the API", "cli": "the command line",
                "schedule": "the schedule", "system": "mickill", "switch": "the switch",
                "mqtt": "home automation", "audio": "the audio gate"}


def zone_of(status: dict) -> ZoneInfo:
    try:
        return ZoneInfo(status.get("timezone") or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def clocks_change_on(day: date, zone: ZoneInfo) -> bool:
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.utcoffset() != end.utcoffset()


def offset_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def when(value, zone: ZoneInfo, with_day: bool = True) -> str:
    """'Sun 28 Mar 07:00', with '(UTC+01:00)' added on a day the clocks change."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    local = moment.astimezone(zone)
    text = local.strftime("%a %d %b %H:%M" if with_day else "%H:%M")
    if clocks_change_on(local.date(), zone):
        text += f" ({offset_text(local)})"
    return text


def source_words(source: str | None) -> str:
    return SOURCE_WORDS.get(source or "", source or "unknown")


def present(status: dict) -> dict:
    """The dashboard's words for a status object; the page and its live updates share them."""
    zone = zone_of(status)
    cut = status.get("state") != "live"
    next_change = status.get("next_change") or {}
    clock = status.get("clock") or {}
    fault = status.get("fault")
    override = status.get("override") or {}
    words = {
        "state": "CUT" if cut else "LIVE",
        "state_class": "cut" if cut else "live",
        "headline": "The microphone is cut" if cut else "The microphone is live",
        "locked": ("The switch is in its cut position: flip it to auto to allow unmuting"
                   if status.get("switch") == "cut" else
                   "Locked: only the physical button can open it" if status.get("locked") else "Not locked"),
        "is_locked": bool(status.get("locked")),
        "reason": status.get("reason") or "",
        "source": source_words(status.get("source")),
        "until": when(status.get("until"), zone) if status.get("until") else "until further notice",
        "next_change": (f"{next_change.get('state', '?')}"
                        f"{' (locked)' if next_change.get('locked') else ''} at {when(next_change.get('at'), zone)}"
                        if next_change.get("at") else "none scheduled"),
        "clock": ("trusted" if clock.get("trusted") else
                  "NOT trusted yet: the schedule waits and the mic stays cut") + f" (policy {clock.get('policy', '?')})",
        "clock_ok": bool(clock.get("trusted")),
        "fault": (fault if isinstance(fault, str) else (fault or {}).get("message", str(fault))) if fault else "none",
        "has_fault": bool(fault),
        "override": (f"{override.get('kind')} by {source_words(override.get('source'))}"
                     + (f" until {when(override.get('until'), zone)}" if override.get("until") else "")
                     if override else "none"),
        "relay": status.get("relay", "?"),
        "timezone": str(zone),
        "simulated": bool(status.get("simulated")),
    }
    return words


def init_app(app) -> None:
    app.jinja_env.globals["source_words"] = source_words
    # The last status seen says whether the daemon simulates its pins (for the menu).
    app.jinja_env.globals["show_simulator"] = lambda: bool(app.extensions.get("mickill_simulated"))
