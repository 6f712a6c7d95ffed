"""What the owner sees in the privacy ledger: when the mic was live, as periods and as time live
per local day (pure: the changes and the range are passed in)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .schedule import resolve
from .store import STATES, LedgerRow, check_range

# Said for a period that was already live at the start of the range when no source is given.
UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True)
class Day:
    date: date
    live_seconds: float


def live_periods(
    changes: Sequence[LedgerRow],
    state_before: str | None,
    start: datetime,
    end: datetime,
    *,
    source_before: str | None = None,
) -> list[tuple[datetime, datetime, str]]:
    """(begin, end, source that opened it) of each live period within [start, end), oldest
    first, in UTC.

    `changes` are the ledger rows in [start, end); `state_before` is the state at `start`, where
    None (nothing recorded yet) counts as muted because mickill fails closed. A live row while
    already live continues the period: the mic never closed in between.
    """
    check_range(start, end)
    # In UTC throughout: Python compares and subtracts datetimes of one zone by wall clock,
    # which is wrong across a DST change.
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    if state_before not in (None, *STATES):
        raise ValueError(f"state_before must be 'muted', 'live' or None, got {state_before!r}")
    periods = []
    opened: tuple[datetime, str] | None = None
    if state_before == "live":
        opened = (start, source_before or UNKNOWN_SOURCE)
    for at, row in sorted(((row.at.astimezone(timezone.utc), row) for row in changes), key=_order):
        if not start <= at < end:
            raise ValueError(f"ledger row {row.id} at {row.at} is outside [{start}, {end})")
        if row.state == "live" and opened is None:
            opened = (at, row.source)
        elif row.state == "muted" and opened is not None:
            if at > opened[0]:
                periods.append((opened[0], at, opened[1]))
            opened = None
        elif row.state not in STATES:
            raise ValueError(f"ledger row {row.id} has state {row.state!r}")
    if opened is not None and end > opened[0]:
        periods.append((opened[0], end, opened[1]))
    return periods


def _order(pair: tuple[datetime, LedgerRow]):
    at, row = pair
    return at, row.id


def live_per_day(
    changes: Sequence[LedgerRow],
    state_before: str | None,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
) -> list[Day]:
    """One Day per local date of `zone` that [start, end) touches, oldest first, with the
    seconds the mic was live in it; a day is as long as the zone's clocks make it (23 or 25
    hours across a DST change)."""
    check_range(start, end)
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    if start == end:
        return []
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    dates = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    live = {day: timedelta(0) for day in dates}
    for begin, finish, _source in live_periods(changes, state_before, start, end):
        day = begin.astimezone(zone).date()
        while begin < finish:
            cut = min(finish, day_start(day + timedelta(days=1), zone))
            live[day] += cut - begin
            begin, day = cut, day + timedelta(days=1)
    return [Day(day, live[day].total_seconds()) for day in dates]


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """When `day` begins in `zone`, in UTC: its local midnight by the schedule's rule 3, so a
    midnight skipped by a DST change begins the day at the end of the gap."""
    return resolve(zone, day, time(0)).astimezone(timezone.utc)
