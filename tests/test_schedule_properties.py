"""Properties of the schedule against a literal reading of rules 1-5, around real DST changes."""

import json
from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mickill.schedule import (
    STATES,
    Exception_,
    Schedule,
    Window,
    dumps,
    evaluate,
    loads,
    parse,
    plan,
    resolve,
    to_document,
)

# A zone and a date on which its clocks change (or not, for UTC).
PIVOTS = [
    ("Europe/London", date(2027, 3, 28)),
    ("Europe/London", date(2027, 10, 31)),
    ("America/New_York", date(2027, 3, 14)),
    ("America/New_York", date(2027, 11, 7)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("Australia/Lord_Howe", date(2027, 4, 4)),
    ("America/Santiago", date(2026, 9, 6)),
    ("America/Santiago", date(2026, 4, 5)),
    ("UTC", date(2027, 3, 1)),
]
PROPERTY = settings(max_examples=60, deadline=None)

names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64).filter(str.strip)
# Hours near the small hours are where DST gaps and repeats are.
clock = st.builds(time, st.sampled_from([0, 0, 1, 1, 2, 2, 3, 7, 12, 22, 23]), st.sampled_from([0, 15, 30, 45, 59]))
# (days from the pivot, wall time, extra minutes): mostly small hours, often on a boundary.
offsets = st.tuples(st.integers(-1, 1), clock, st.one_of(st.just(0), st.integers(1, 59)))


@st.composite
def flags(draw, state):
    locked = draw(st.booleans()) if state == "muted" else False
    return locked, draw(st.sampled_from([True, True, True, False]))


@st.composite
def windows(draw):
    state = draw(st.sampled_from(STATES))
    days = tuple(draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True)))
    return Window(draw(names), days, draw(clock), draw(clock), state, *draw(flags(state)))


@st.composite
def schedules(draw, pivot=None):
    zone, day = pivot or draw(st.sampled_from(PIVOTS))
    exceptions = []
    for _ in range(draw(st.integers(0, 2))):
        state = draw(st.sampled_from(STATES))
        first = day + timedelta(days=draw(st.integers(-3, 2)))
        last = first + timedelta(days=draw(st.integers(0, 2)))
        exceptions.append(Exception_(draw(names), first, last, state, *draw(flags(state))))
    window_list = tuple(draw(st.lists(windows(), min_size=1, max_size=4)))
    return Schedule(zone, draw(st.sampled_from(STATES)), window_list, tuple(exceptions)), day


def utc(moment):
    return moment.astimezone(timezone.utc)


def literal_intervals(schedule, first_day, last_day):
    """Rules 1, 2 and 4 as written: every (open, close, state, locked) of every enabled entry."""
    zone, found = schedule.zone, []
    day = first_day
    while day <= last_day:
        for w in schedule.windows:
            if w.enabled and day.weekday() in w.days:
                closing_day = day if w.end > w.start else day + timedelta(days=1)
                found.append((utc(resolve(zone, day, w.start)), utc(resolve(zone, closing_day, w.end)), w.state, w.locked))
        day += timedelta(days=1)
    for e in schedule.exceptions:
        if e.enabled:
            found.append((utc(resolve(zone, e.first, time(0))), utc(resolve(zone, e.last + timedelta(days=1), time(0))), e.state, e.locked))
    return found


def literal_state(schedule, intervals, moment):
    """Rule 5 as written."""
    open_now = [(state, locked) for opens, closes, state, locked in intervals if opens <= moment < closes]
    if any(state == "muted" for state, _ in open_now):
        return "muted", any(locked for state, locked in open_now if state == "muted")
    if open_now:
        return "live", False
    return schedule.default, False


def start_near(schedule, day, offset):
    days, wall, minutes = offset
    return utc(resolve(schedule.zone, day + timedelta(days=days), wall)) + timedelta(minutes=minutes)


@PROPERTY
@given(schedules(), offsets)
def test_muted_wins_and_evaluate_matches_the_rules(drawn, minutes):
    schedule, day = drawn
    moment = start_near(schedule, day, minutes)
    intervals = literal_intervals(schedule, day - timedelta(days=6), day + timedelta(days=6))
    result = evaluate(schedule, moment)
    muted_open = [locked for opens, closes, state, locked in intervals if state == "muted" and opens <= moment < closes]
    if muted_open:
        assert result.state == "muted"
        assert result.locked == any(muted_open)
    assert (result.state, result.locked) == literal_state(schedule, intervals, moment)


@PROPERTY
@given(schedules(), offsets)
def test_plan_agrees_with_the_state_minute_by_minute(drawn, minutes):
    schedule, day = drawn
    start = start_near(schedule, day, minutes)
    end = start + timedelta(days=2)
    changes = plan(schedule, start, end)
    intervals = literal_intervals(schedule, day - timedelta(days=4), day + timedelta(days=4))
    assert utc(changes[0].at) == start
    assert all(utc(a.at) < utc(b.at) and (a.state, a.locked) != (b.state, b.locked) for a, b in zip(changes, changes[1:]))
    # Every boundary is a whole minute, so checking every minute checks every instant.
    assert all(c.at.second == 0 and c.at.microsecond == 0 for c in changes)
    index, moment = 0, start
    while moment < end:
        while index + 1 < len(changes) and utc(changes[index + 1].at) <= moment:
            index += 1
        assert (changes[index].state, changes[index].locked) == literal_state(schedule, intervals, moment), moment
        moment += timedelta(minutes=1)


@PROPERTY
@given(schedules(), offsets)
def test_until_is_the_next_change_of_the_plan(drawn, minutes):
    schedule, day = drawn
    now = start_near(schedule, day, minutes)
    horizon = now + timedelta(days=15)
    changes = plan(schedule, now, horizon)
    result = evaluate(schedule, now)
    assert (result.state, result.locked) == (changes[0].state, changes[0].locked)
    if len(changes) > 1:
        assert utc(result.until) == utc(changes[1].at)
        assert (result.next.state, result.next.locked) == (changes[1].state, changes[1].locked)
    else:
        assert result.until is None or utc(result.until) >= horizon
    assert (result.until is None) == (result.next is None)


@PROPERTY
@given(schedules())
def test_documents_round_trip_through_toml_and_json(drawn):
    schedule, _ = drawn
    assert loads(dumps(schedule)) == schedule
    assert parse(to_document(schedule)) == schedule
    assert parse(json.loads(json.dumps(to_document(schedule)))) == schedule


def test_a_year_of_five_windows_plans_quickly():
    # A budget far above the measured figure (see tests/bench/bench_plan.py): it catches stepping
    # minute by minute, not noise.
    schedule = loads(dumps(Schedule("Europe/London", "live", tuple(
        Window(f"W{n}", tuple(range(7)), time(n * 4 + 1), time(n * 4 + 3), "muted") for n in range(5)
    ), ())))
    start = datetime(2027, 1, 1, tzinfo=timezone.utc)
    began = datetime.now()
    changes = plan(schedule, start, start + timedelta(days=365))
    assert (datetime.now() - began).total_seconds() < 0.5
    assert len(changes) == 1 + 365 * 5 * 2
