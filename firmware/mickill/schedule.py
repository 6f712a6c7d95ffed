"""The weekly schedule: its document (parse, validate, export as TOML or JSON) and, purely, the
state it asks for at an instant and the plan of changes over a range, exact across DST."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import MickillError, ScheduleError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATES = ("muted", "live")
UTC = dt.timezone.utc
MIDNIGHT = dt.time(0, 0)
# evaluate() looks this far ahead for the next change, in growing spans so the usual case is cheap.
SEARCH_SPANS_DAYS = (2, 14, 400)

_TOP_KEYS = ("timezone", "default", "window", "exception")
_WINDOW_KEYS = ("name", "days", "start", "end", "state", "locked", "enabled")
_EXCEPTION_KEYS = ("name", "from", "to", "state", "locked", "enabled")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NAME_MAX = 64


@dataclass(frozen=True)
class Window:
    name: str
    days: tuple[int, ...]  # 0 = Monday, in the order written
    start: dt.time
    end: dt.time
    state: str
    locked: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class Exception_:
    name: str
    first: dt.date  # "from" in the document
    last: dt.date  # "to" in the document, inclusive
    state: str
    locked: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class Schedule:
    timezone: str
    default: str
    windows: tuple[Window, ...]
    exceptions: tuple[Exception_, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Change:
    at: dt.datetime
    state: str
    locked: bool


@dataclass(frozen=True)
class Evaluation:
    state: str
    locked: bool
    reason: str
    until: dt.datetime | None
    next: Change | None


# ---------------------------------------------------------------------------------------------
# The document


def _show(value) -> str:
    """A user's value as they would write it, cut short so a message stays one line."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(label: str | None, field: str, message: str):
    where = f"{label}, {field}" if label else field
    raise ScheduleError(f"{where}: {message}", entry=label, field=field)


def _check_state(label, field, value):
    if value not in STATES:
        _fail(label, field, f'{_show(value)} is not a state; write "muted" or "live"')
    return value


def _check_zone(value) -> str:
    if not isinstance(value, str) or not value:
        _fail(None, "timezone", f'{_show(value)} is not a zone name; write an IANA name such as "Europe/London"')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(None, "timezone", f'unknown zone {_show(value)}; write an IANA name such as "Europe/London"')
    return value


def _label(kind: str, index: int, table) -> str:
    name = table.get("name") if isinstance(table, dict) else None
    if isinstance(name, str) and _name_problem(name) is None:
        return f'{kind} {index} ("{name}")'
    return f"{kind} {index}"


def _name_problem(name) -> str | None:
    if not isinstance(name, str):
        return f"{_show(name)} is not text; write a quoted name of 1 to {NAME_MAX} characters"
    if not name.strip() or len(name) > NAME_MAX:
        return f"must be 1 to {NAME_MAX} characters and not blank (it has {len(name)})"
    if _CONTROL.search(name):
        return "contains a control character such as a line break; use plain text"
    return None


def _common(label: str, table, keys: tuple[str, ...], required: tuple[str, ...]) -> tuple[str, str, bool, bool]:
    """Checks shared by windows and exceptions; returns (name, state, locked, enabled)."""
    kind = label.split()[0]
    if not isinstance(table, dict):
        _fail(label, "entry", f"{_show(table)} is not a table; write it under its own [[{kind}]] header")
    for key in table:
        if key not in keys:
            _fail(label, str(key), f"unknown key; the keys are {', '.join(keys)}")
    for key in required:
        if key not in table:
            _fail(label, key, f"missing; every {kind} needs " + ", ".join(required))
    problem = _name_problem(table["name"])
    if problem:
        _fail(label, "name", problem)
    state = _check_state(label, "state", table["state"])
    flags = []
    for key, default in (("locked", False), ("enabled", True)):
        value = table.get(key, default)
        if not isinstance(value, bool):
            _fail(label, key, f"{_show(value)} is not true or false; write {key} = true or {key} = false")
        flags.append(value)
    locked, enabled = flags
    if locked and state != "muted":
        _fail(label, "locked", 'only a muted entry can be locked; remove locked or set state = "muted"')
    return table["name"], state, locked, enabled


def _time(label: str, field: str, value) -> dt.time:
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if not match:
        _fail(label, field, f'{_show(value)} is not a time; write 24-hour "HH:MM" in quotes, such as "22:00"')
    return dt.time(int(match[1]), int(match[2]))


def _date(label: str, field: str, value) -> dt.date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    _fail(label, field, f'{_show(value)} is not a date; write "YYYY-MM-DD" in quotes, such as "2026-12-24"')


def _window(index: int, table) -> Window:
    label = _label("window", index, table)
    name, state, locked, enabled = _common(label, table, _WINDOW_KEYS, ("name", "days", "start", "end", "state"))
    days = table["days"]
    if not isinstance(days, (list, tuple)) or not days:
        _fail(label, "days", f'{_show(days)} is not a list of days; write e.g. ["mon", "tue"] with at least one day')
    numbers = []
    for day in days:
        if day not in DAYS:
            _fail(label, "days", f"unknown day {_show(day)}; use {', '.join(DAYS)}")
        if DAYS.index(day) in numbers:
            _fail(label, "days", f"{_show(day)} is repeated; list each day once")
        numbers.append(DAYS.index(day))
    start = _time(label, "start", table["start"])
    end = _time(label, "end", table["end"])
    return Window(name, tuple(numbers), start, end, state, locked, enabled)


def _exception(index: int, table) -> Exception_:
    label = _label("exception", index, table)
    name, state, locked, enabled = _common(label, table, _EXCEPTION_KEYS, ("name", "from", "to", "state"))
    first = _date(label, "from", table["from"])
    last = _date(label, "to", table["to"])
    if first > last:
        _fail(label, "from", f"{first} is after to = {last}; the range is inclusive, so from <= to")
    if last == dt.date.max:
        _fail(label, "to", f"{last} is too far ahead; use a date before 9999-12-31")
    return Exception_(name, first, last, state, locked, enabled)


def _entries(document: dict, kind: str) -> list:
    entries = document.get(kind, [])
    if not isinstance(entries, (list, tuple)):
        _fail(None, kind, f"{_show(entries)} is not a list; write each {kind} under its own [[{kind}]] header")
    return entries


def parse(document: dict) -> Schedule:
    """A validated Schedule from its document (parsed TOML or JSON); raises ScheduleError."""
    if not isinstance(document, dict):
        raise ScheduleError(f"a schedule must be a table with timezone, default, window and exception, not {_show(document)}")
    for key in document:
        if key not in _TOP_KEYS:
            _fail(None, str(key), "unknown top-level key; the keys are timezone, default, [[window]] and [[exception]]")
    if "timezone" not in document:
        _fail(None, "timezone", 'missing; add a line such as timezone = "Europe/London"')
    timezone = _check_zone(document["timezone"])
    default = _check_state(None, "default", document.get("default", "live"))
    windows = tuple(_window(i, t) for i, t in enumerate(_entries(document, "window"), 1))
    exceptions = tuple(_exception(i, t) for i, t in enumerate(_entries(document, "exception"), 1))
    return Schedule(timezone, default, windows, exceptions)


def loads(text: str) -> Schedule:
    """A validated Schedule from TOML text; syntax errors are ScheduleErrors naming the line."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScheduleError(f"the schedule is not valid TOML: {error}; fix the syntax there") from None
    return parse(document)


def _hhmm(moment: dt.time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _entry_document(entry: Window | Exception_) -> dict:
    if isinstance(entry, Window):
        document = {"name": entry.name, "days": [DAYS[d] for d in entry.days],
                    "start": _hhmm(entry.start), "end": _hhmm(entry.end), "state": entry.state}
    else:
        document = {"name": entry.name, "from": entry.first.isoformat(), "to": entry.last.isoformat(),
                    "state": entry.state}
    # Defaults are left out so an export reads like the documented format.
    if entry.locked:
        document["locked"] = True
    if not entry.enabled:
        document["enabled"] = False
    return document


def to_document(schedule: Schedule) -> dict:
    """The JSON-able document of `schedule`; parse(to_document(s)) == s."""
    return {
        "timezone": schedule.timezone,
        "default": schedule.default,
        "window": [_entry_document(w) for w in schedule.windows],
        "exception": [_entry_document(e) for e in schedule.exceptions],
    }


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # A JSON string is a TOML basic string once DEL, which TOML forbids bare, is escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def dumps(schedule: Schedule) -> str:
    """The TOML text of `schedule`, laid out like the documented format; loads(dumps(s)) == s."""
    document = to_document(schedule)
    lines = [f"timezone = {_toml_value(document['timezone'])}", f"default = {_toml_value(document['default'])}"]
    for kind in ("window", "exception"):
        for entry in document[kind]:
            lines += ["", f"[[{kind}]]"] + [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def empty(timezone: str = "UTC", default: str = "live") -> Schedule:
    """A schedule with no windows or exceptions; raises ScheduleError for a bad zone or state."""
    return parse({"timezone": timezone, "default": default})


# ---------------------------------------------------------------------------------------------
# Instants


def _wall(seconds: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC).astimezone(zone).replace(tzinfo=None)


def _resolve_utc(zone: ZoneInfo, day: dt.date, at: dt.time) -> dt.datetime:
    """Rule 3 as a UTC instant: the first instant the wall clock reads (day, at) or later."""
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    # fold=0 is the first occurrence of a repeated wall time; the round trip exposes a gap.
    moment = naive.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == naive:
        return moment
    # Skipped: find the transition (a whole second) by bisection between the two offsets' readings.
    a, b = moment.timestamp(), naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp()
    low, high = math.floor(min(a, b)), math.ceil(max(a, b))
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, UTC)


def resolve(zone: ZoneInfo, day: dt.date, at: dt.time) -> dt.datetime:
    """Rule 3: the first instant at which `zone`'s wall clock reads `day` `at`, or later."""
    return _resolve_utc(zone, day, at).astimezone(zone)


def parse_instant(text: str, zone: ZoneInfo) -> dt.datetime:
    """An ISO 8601 instant in `zone`; without an offset it is `zone`'s wall time, by rule 3."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError, TypeError):
        raise MickillError(
            f"{_show(text)} is not an ISO 8601 date and time; write it like 2027-03-28T07:00 "
            "(the schedule's local time) or 2027-03-28T07:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        return resolve(zone, moment.date(), moment.time())
    return moment.astimezone(zone)


def format_instant(moment: dt.datetime, zone: ZoneInfo) -> str:
    """`moment` as ISO 8601 in `zone`, to the second: 2027-03-28T07:00:00+01:00."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Evaluation and plan. Inside, every instant is UTC: datetimes sharing a ZoneInfo compare and
# subtract by wall time and ignore fold, which is wrong across DST.


def _intervals(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> list:
    """(open, close, state, locked, order) of every enabled entry open somewhere in [start, end)."""
    zone = schedule.zone
    # A window opens at most a day before it closes; a spare day covers gaps across midnight.
    first_day = start.astimezone(zone).date() - dt.timedelta(days=2)
    last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
    resolved = {}

    def at(day: dt.date, moment: dt.time) -> dt.datetime:
        key = (day, moment)
        if key not in resolved:
            resolved[key] = _resolve_utc(zone, day, moment)
        return resolved[key]

    found = []

    def keep(opens, closes, entry, order):
        # Rule 4: an interval that does not close after it opens has no effect.
        if opens < closes and closes > start and opens < end:
            found.append((opens, closes, entry.state, entry.locked, order))

    days = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    for order, window in enumerate(schedule.windows):
        if not window.enabled:
            continue
        overnight = dt.timedelta(days=0 if window.end > window.start else 1)
        for day in days:
            if day.weekday() in window.days:
                keep(at(day, window.start), at(day + overnight, window.end), window, order)
    for order, exception in enumerate(schedule.exceptions, len(schedule.windows)):
        # Clamped to the days in view: outside them an exception only extends across the range.
        first, last = max(exception.first, first_day), min(exception.last, last_day)
        if exception.enabled and first <= last:
            keep(at(first, MIDNIGHT), at(last + dt.timedelta(days=1), MIDNIGHT), exception, order)
    return found


def _sweep(default: str, intervals: list, start: dt.datetime, end: dt.datetime) -> list:
    """Rule 6 over UTC instants: [(at, state, locked)], the state at `start` first."""
    events = sorted(
        [(opens, +1, state, locked) for opens, _, state, locked, _ in intervals]
        + [(closes, -1, state, locked) for _, closes, state, locked, _ in intervals],
        key=lambda event: event[0],
    )
    count = {"muted": 0, "live": 0, "locked": 0}

    def current() -> tuple[str, bool]:
        state = "muted" if count["muted"] else "live" if count["live"] else default
        return state, count["locked"] > 0

    def apply(event):
        _, step, state, locked = event
        count[state] += step
        if locked:
            count["locked"] += step

    index = 0
    while index < len(events) and events[index][0] <= start:
        apply(events[index])
        index += 1
    changes = [(start, *current())]
    while index < len(events) and events[index][0] < end:
        # Everything at one instant is applied together, so touching windows make no change.
        moment = events[index][0]
        while index < len(events) and events[index][0] == moment:
            apply(events[index])
            index += 1
        if current() != changes[-1][1:]:
            changes.append((moment, *current()))
    return changes


def plan(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> list[Change]:
    """Rule 6: the (state, locked) at `start`, then every change in (start, end), in order."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    zone = schedule.zone
    intervals = _intervals(schedule, start, end)
    return [Change(at.astimezone(zone), state, locked) for at, state, locked in _sweep(schedule.default, intervals, start, end)]


def _reason(schedule: Schedule, intervals: list, now: dt.datetime) -> str:
    """The entry that decides at `now`: first locked muted, else first muted, else first live."""
    open_now = sorted((order, state, locked) for opens, closes, state, locked, order in intervals if opens <= now < closes)
    for wanted in (lambda s, l: s == "muted" and l, lambda s, l: s == "muted", lambda s, l: s == "live"):
        for order, state, locked in open_now:
            if wanted(state, locked):
                if order < len(schedule.windows):
                    return f"window '{schedule.windows[order].name}'"
                return f"exception '{schedule.exceptions[order - len(schedule.windows)].name}'"
    return "default"


def evaluate(schedule: Schedule, now: dt.datetime) -> Evaluation:
    """The state at `now`, why, and the next change (searched up to 400 days ahead)."""
    now = now.astimezone(UTC)
    zone = schedule.zone
    for span in SEARCH_SPANS_DAYS:
        intervals = _intervals(schedule, now, now + dt.timedelta(days=span))
        changes = _sweep(schedule.default, intervals, now, now + dt.timedelta(days=span))
        if span == SEARCH_SPANS_DAYS[0]:
            reason = _reason(schedule, intervals, now)
        if len(changes) > 1:
            break
    _, state, locked = changes[0]
    following = Change(changes[1][0].astimezone(zone), *changes[1][1:]) if len(changes) > 1 else None
    return Evaluation(state, locked, reason, following.at if following else None, following)
