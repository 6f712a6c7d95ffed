"""Pure geometry for the server-drawn SVG timelines: a run of state changes cut into local
days, each piece as a fraction of its day (a DST day is 23 or 25 hours long)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Piece:
    start: float      # fraction of the local day, 0..1
    length: float
    state: str        # "muted" or "live"
    locked: bool
    source: str
    begin: datetime
    end: datetime


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of `day` and of the next day in `zone`, in UTC: subtracting two
    datetimes of the same ZoneInfo gives wall-clock time, which is wrong across DST."""
    return (datetime.combine(day, time(0), zone).astimezone(timezone.utc),
            datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc))


def runs(first_state: dict, changes: list[dict], start: datetime, end: datetime) -> list[dict]:
    """Consecutive runs [begin, end) with their state, from the state at `start` and the
    changes after it; `first_state` and each change are dicts with state (locked, source)."""
    out = []
    current, since = first_state, start
    for change in changes:
        at = datetime.fromisoformat(change["at"]) if isinstance(change["at"], str) else change["at"]
        if at <= since:
            current = change
            continue
        if at >= end:
            break
        out.append({**current, "begin": since, "end": at})
        current, since = change, at
    if since < end:
        out.append({**current, "begin": since, "end": end})
    return out


def pieces_of_day(all_runs: list[dict], day: date, zone: ZoneInfo) -> list[Piece]:
    day_start, day_end = day_bounds(day, zone)
    length = (day_end - day_start).total_seconds()
    pieces = []
    for run in all_runs:
        begin, end = max(run["begin"], day_start), min(run["end"], day_end)
        if begin >= end:
            continue
        pieces.append(Piece(
            start=(begin - day_start).total_seconds() / length,
            length=(end - begin).total_seconds() / length,
            state=run.get("state", "muted"), locked=bool(run.get("locked")),
            source=run.get("source", ""), begin=begin.astimezone(zone), end=end.astimezone(zone)))
    return pieces


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())
