"""Time live per local day and live periods, from ledger changes (pure: no store needed)."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mickill.ledger import UNKNOWN_SOURCE, Day, day_start, live_per_day, live_periods
from mickill.store import LedgerRow

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
HOUR = 3600
ONE_HOUR = timedelta(hours=1)


def rows(*changes):
    """LedgerRows from (aware time, state, source) triples, ids in order."""
    return [
        LedgerRow(n, at, state, source, f"change {n}")
        for n, (at, state, source) in enumerate(changes, 1)
    ]


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def test_live_across_midnight_is_split_between_the_two_days():
    start, end = london(2026, 11, 25), london(2026, 11, 27)
    changes = rows(
        (london(2026, 11, 25, 22, 30), "live", "web"),
        (london(2026, 11, 26, 1, 15), "muted", "schedule"),
    )
    assert live_per_day(changes, "muted", start, end, LONDON) == [
        Day(date(2026, 11, 25), 1.5 * HOUR),
        Day(date(2026, 11, 26), 1.25 * HOUR),
    ]


def test_spring_forward_day_has_23_hours():
    # 2027-03-28: London's clocks go from 01:00 GMT to 02:00 BST.
    start, end = london(2027, 3, 27), london(2027, 3, 30)
    days = live_per_day([], "live", start, end, LONDON)
    assert days == [
        Day(date(2027, 3, 27), 24 * HOUR),
        Day(date(2027, 3, 28), 23 * HOUR),
        Day(date(2027, 3, 29), 24 * HOUR),
    ]


def test_fall_back_day_has_25_hours():
    # 2026-10-25: London's clocks go from 02:00 BST back to 01:00 GMT.
    start, end = london(2026, 10, 25), london(2026, 10, 26)
    assert live_per_day([], "live", start, end, LONDON) == [Day(date(2026, 10, 25), 25 * HOUR)]


@pytest.mark.parametrize(
    "day, live_hours",
    [
        # Fall-back day: 01:00-02:00 happens twice, so 00:30 to 03:00 local is 3.5 hours.
        (date(2026, 10, 25), 3.5),
        # Spring-forward day: 01:00-02:00 never happens, so 00:30 to 03:00 is 1.5 hours.
        (date(2027, 3, 28), 1.5),
    ],
)
def test_live_through_a_dst_change_counts_real_time(day, live_hours):
    changes = rows(
        (london(day.year, day.month, day.day, 0, 30), "live", "button"),
        (london(day.year, day.month, day.day, 3, 0), "muted", "schedule"),
    )
    start, end = day_start(day, LONDON), day_start(day + timedelta(days=1), LONDON)
    assert live_per_day(changes, "muted", start, end, LONDON) == [Day(day, live_hours * HOUR)]


def test_day_in_a_zone_whose_dst_change_skips_midnight():
    # Santiago: on 2024-09-08 the clock goes from 00:00 -04 to 01:00 -03; that day starts
    # at 01:00 and lasts 23 hours.
    santiago = ZoneInfo("America/Santiago")
    assert day_start(date(2024, 9, 8), santiago) == datetime(2024, 9, 8, 4, 0, tzinfo=UTC)
    start = datetime(2024, 9, 7, tzinfo=santiago)
    end = datetime(2024, 9, 9, tzinfo=santiago)
    assert live_per_day([], "live", start, end, santiago) == [
        Day(date(2024, 9, 7), 24 * HOUR),
        Day(date(2024, 9, 8), 23 * HOUR),
    ]


def test_all_muted_range_has_zero_every_day_and_no_periods():
    start, end = london(2026, 11, 20), london(2026, 11, 27)
    days = live_per_day([], "muted", start, end, LONDON)
    assert [day.date for day in days] == [date(2026, 11, 20) + timedelta(days=n) for n in range(7)]
    assert all(day.live_seconds == 0 for day in days)
    assert live_periods([], "muted", start, end) == []


def test_nothing_recorded_before_counts_as_muted():
    start, end = london(2026, 11, 26), london(2026, 11, 27)
    assert live_per_day([], None, start, end, LONDON) == [Day(date(2026, 11, 26), 0.0)]
    assert live_periods([], None, start, end) == []


def test_all_live_range_is_one_period_from_the_source_before():
    start, end = london(2026, 11, 26, 9), london(2026, 11, 26, 17)
    assert live_periods([], "live", start, end, source_before="web") == [(start, end, "web")]
    assert live_periods([], "live", start, end) == [(start, end, UNKNOWN_SOURCE)]
    assert live_per_day([], "live", start, end, LONDON) == [Day(date(2026, 11, 26), 8 * HOUR)]


def test_partial_days_at_both_ends_and_a_range_ending_at_midnight():
    start, end = london(2026, 11, 25, 18), london(2026, 11, 27)
    days = live_per_day([], "live", start, end, LONDON)
    # 2026-11-27 is not touched: the range stops just before it.
    assert days == [Day(date(2026, 11, 25), 6 * HOUR), Day(date(2026, 11, 26), 24 * HOUR)]


def test_periods_name_the_source_that_opened_them():
    t = london(2026, 11, 26, 8)
    changes = rows(
        (t, "live", "schedule"),
        (t + timedelta(hours=1), "live", "web"),  # still live: the same period continues
        (t + timedelta(hours=2), "muted", "button"),
        (t + timedelta(hours=3), "muted", "schedule"),
        (t + timedelta(hours=4), "live", "button"),
    )
    end = t + timedelta(hours=5)
    assert live_periods(changes, "muted", t - timedelta(hours=1), end) == [
        (t, t + timedelta(hours=2), "schedule"),
        (t + timedelta(hours=4), end, "button"),
    ]


def test_changes_at_the_same_instant_leave_no_empty_period():
    t = london(2026, 11, 26, 8)
    changes = rows((t, "live", "web"), (t, "muted", "audio"))
    assert live_periods(changes, "muted", t, t + timedelta(hours=1)) == []


def test_empty_range():
    t = london(2026, 11, 26, 8)
    assert live_per_day([], "live", t, t, LONDON) == []
    assert live_periods([], "live", t, t) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda t: live_periods([], "open", t, t),
        lambda t: live_periods(rows((t, "open", "web")), "muted", t, t + timedelta(hours=1)),
        lambda t: live_periods([], "live", t.replace(tzinfo=None), t),
        lambda t: live_periods([], "live", t, t - timedelta(seconds=1)),
        # Rows outside [start, end): the caller mixed up its range.
        lambda t: live_periods(rows((t - ONE_HOUR, "live", "web")), "muted", t, t + ONE_HOUR),
        lambda t: live_per_day(rows((t + ONE_HOUR, "live", "web")), "muted", t, t + ONE_HOUR, LONDON),
    ],
)
def test_programming_errors_are_value_errors(call):
    with pytest.raises(ValueError):
        call(london(2026, 11, 26, 8))


# -- properties ------------------------------------------------------------------------

# Around both of London's 2027 changes and a plain stretch, in whole minutes.
ORIGINS = [london(2027, 3, 27, 12), london(2026, 10, 24, 12), london(2026, 11, 26, 12)]


@st.composite
def ledgers(draw):
    origin = draw(st.sampled_from(ORIGINS)).astimezone(UTC)  # so + timedelta is real time
    length = draw(st.integers(min_value=0, max_value=4 * 24 * 60))
    start = origin + timedelta(minutes=draw(st.integers(min_value=-600, max_value=600)))
    end = start + timedelta(minutes=length)
    offsets = draw(st.lists(st.integers(min_value=0, max_value=max(length - 1, 0)), max_size=12))
    changes = rows(
        *[
            (start + timedelta(minutes=offset), draw(st.sampled_from(["muted", "live"])),
             draw(st.sampled_from(["web", "button", "schedule"])))
            for offset in sorted(offsets)
            if offset < length
        ]
    )
    state_before = draw(st.sampled_from([None, "muted", "live"]))
    return changes, state_before, start, end


@settings(max_examples=150, deadline=None)
@given(ledgers())
def test_live_seconds_per_day_add_up_to_the_live_periods(ledger):
    changes, state_before, start, end = ledger
    days = live_per_day(changes, state_before, start, end, LONDON)
    periods = live_periods(changes, state_before, start, end)
    total = sum((finish - begin for begin, finish, _ in periods), timedelta(0)).total_seconds()
    assert sum(day.live_seconds for day in days) == pytest.approx(total, abs=1e-6)
    # Periods are ordered, non-overlapping, non-empty and inside the range.
    for (begin, finish, _), following in zip(periods, periods[1:] + [None]):
        assert start <= begin < finish <= end
        if following:
            assert finish <= following[0]
    # No day holds more live time than the day is long (23, 24 or 25 hours).
    for day in days:
        length = day_start(day.date + timedelta(days=1), LONDON) - day_start(day.date, LONDON)
        assert 0 <= day.live_seconds <= length.total_seconds()


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(1970, 1, 1), max_value=date(2037, 12, 31)),
       st.sampled_from(["Europe/London", "America/Santiago", "America/Havana", "Asia/Tehran"]))
def test_day_start_is_the_first_instant_showing_that_date(day, zone_name):
    zone = ZoneInfo(zone_name)
    begin = day_start(day, zone)
    assert begin.astimezone(zone).date() == day
    assert (begin - timedelta(microseconds=1)).astimezone(zone).date() < day
