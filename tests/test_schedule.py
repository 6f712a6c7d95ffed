"""The schedule's semantics rule by rule, on real TOML files, with DST in four kinds of zone."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mickill.errors import MickillError
from mickill.schedule import (
    Change,
    evaluate,
    format_instant,
    loads,
    parse_instant,
    plan,
    resolve,
)

ALL_DAYS = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'


@pytest.fixture
def load(config_file):
    """load(zone, body, default="live") -> Schedule read back from a real file."""

    def read(zone: str, body: str, default: str = "live"):
        path = config_file(f'timezone = "{zone}"\ndefault = "{default}"\n{body}', name="schedule.toml")
        return loads(path.read_text(encoding="utf-8"))

    return read


def window(name, days, start, end, state="muted", extra=""):
    return f'\n[[window]]\nname = "{name}"\ndays = {days}\nstart = "{start}"\nend = "{end}"\nstate = "{state}"\n{extra}\n'


def exception(name, first, last, state="muted", extra=""):
    return f'\n[[exception]]\nname = "{name}"\nfrom = "{first}"\nto = "{last}"\nstate = "{state}"\n{extra}\n'


def lines(schedule, start, end):
    """The plan as (ISO instant, state, locked) with local times of the schedule's zone."""
    zone = schedule.zone
    changes = plan(schedule, parse_instant(start, zone), parse_instant(end, zone))
    return [(format_instant(c.at, zone), c.state, c.locked) for c in changes]


def utc(moment):
    return moment.astimezone(timezone.utc)


# Rule 1: windows ------------------------------------------------------------------------------


def test_overnight_window_closes_next_day_even_when_that_day_is_not_listed(load):
    # 2027-03-01 is a Monday; the window is listed on Mondays only.
    s = load("UTC", window("Night", '["mon"]', "22:00", "07:00"))
    assert lines(s, "2027-02-28T12:00", "2027-03-03T00:00") == [
        ("2027-02-28T12:00:00+00:00", "live", False),
        ("2027-03-01T22:00:00+00:00", "muted", False),
        ("2027-03-02T07:00:00+00:00", "live", False),
    ]


def test_same_day_window_opens_and_closes_on_its_day(load):
    s = load("UTC", window("Lunch", '["tue"]', "12:00", "13:30"))
    assert lines(s, "2027-03-01T00:00", "2027-03-08T00:00")[1:] == [
        ("2027-03-02T12:00:00+00:00", "muted", False),
        ("2027-03-02T13:30:00+00:00", "live", False),
    ]


def test_end_equal_to_start_is_a_24_hour_window(load):
    s = load("UTC", window("Day", '["wed"]', "09:00", "09:00"))
    assert lines(s, "2027-03-01T00:00", "2027-03-08T00:00")[1:] == [
        ("2027-03-03T09:00:00+00:00", "muted", False),
        ("2027-03-04T09:00:00+00:00", "live", False),
    ]


def test_24_hour_window_across_spring_forward_lasts_23_hours(load):
    s = load("Europe/London", window("Sunday", '["sun"]', "12:00", "12:00"))
    changes = plan(s, parse_instant("2027-03-28T00:00", s.zone), parse_instant("2027-03-30T00:00", s.zone))
    assert [format_instant(c.at, s.zone) for c in changes[1:]] == ["2027-03-28T12:00:00+01:00", "2027-03-29T12:00:00+01:00"]
    assert changes[2].at - changes[1].at == timedelta(hours=24)  # same zone: wall-clock difference
    assert utc(changes[2].at) - utc(changes[1].at) == timedelta(hours=24)


def test_live_window_lifts_a_muted_default(load):
    s = load("UTC", window("Evening", ALL_DAYS, "18:00", "21:00", state="live"), default="muted")
    assert lines(s, "2027-03-01T12:00", "2027-03-02T00:00") == [
        ("2027-03-01T12:00:00+00:00", "muted", False),
        ("2027-03-01T18:00:00+00:00", "live", False),
        ("2027-03-01T21:00:00+00:00", "muted", False),
    ]


# Rule 2: exceptions ---------------------------------------------------------------------------


def test_exception_runs_from_midnight_of_from_to_midnight_after_to(load):
    s = load("UTC", exception("Christmas", "2026-12-24", "2026-12-26"))
    assert lines(s, "2026-12-23T00:00", "2026-12-30T00:00") == [
        ("2026-12-23T00:00:00+00:00", "live", False),
        ("2026-12-24T00:00:00+00:00", "muted", False),
        ("2026-12-27T00:00:00+00:00", "live", False),
    ]


def test_one_day_exception_across_fall_back_lasts_25_hours(load):
    s = load("Europe/London", exception("Clocks", "2027-10-31", "2027-10-31"))
    changes = plan(s, parse_instant("2027-10-30T12:00", s.zone), parse_instant("2027-11-02T00:00", s.zone))
    assert [format_instant(c.at, s.zone) for c in changes[1:]] == ["2027-10-31T00:00:00+01:00", "2027-11-01T00:00:00+00:00"]
    assert utc(changes[2].at) - utc(changes[1].at) == timedelta(hours=25)


def test_exception_spanning_spring_forward(load):
    s = load("America/New_York", exception("Trip", "2027-03-13", "2027-03-15", extra="locked = true"))
    assert lines(s, "2027-03-12T00:00", "2027-03-17T00:00") == [
        ("2027-03-12T00:00:00-05:00", "live", False),
        ("2027-03-13T00:00:00-05:00", "muted", True),
        ("2027-03-16T00:00:00-04:00", "live", False),
    ]


# Rule 3: resolve ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, day, at, expected",
    [
        # Gaps: the wall time never happens, so it takes effect at the gap's end.
        ("Europe/London", "2027-03-28", "01:30", "2027-03-28T02:00:00+01:00"),
        ("America/New_York", "2027-03-14", "02:30", "2027-03-14T03:00:00-04:00"),
        ("Australia/Lord_Howe", "2026-10-04", "02:15", "2026-10-04T02:30:00+11:00"),
        ("America/Santiago", "2026-09-06", "00:00", "2026-09-06T01:00:00-03:00"),
        # Repeats: the first occurrence, with the summer offset.
        ("Europe/London", "2027-10-31", "01:30", "2027-10-31T01:30:00+01:00"),
        ("America/New_York", "2027-11-07", "01:00", "2027-11-07T01:00:00-04:00"),
        ("Australia/Lord_Howe", "2027-04-04", "01:45", "2027-04-04T01:45:00+11:00"),
        ("America/Santiago", "2026-04-04", "23:30", "2026-04-04T23:30:00-03:00"),
        # Ordinary times and the edges of a gap.
        ("Europe/London", "2027-03-28", "00:59", "2027-03-28T00:59:00+00:00"),
        ("Europe/London", "2027-03-28", "02:00", "2027-03-28T02:00:00+01:00"),
        ("Australia/Lord_Howe", "2026-10-04", "02:00", "2026-10-04T02:30:00+11:00"),
    ],
)
def test_resolve(zone, day, at, expected):
    moment = resolve(ZoneInfo(zone), date.fromisoformat(day), time.fromisoformat(at))
    assert format_instant(moment, ZoneInfo(zone)) == expected
    assert moment.tzinfo == ZoneInfo(zone)
    assert utc(moment) == datetime.fromisoformat(expected)


def test_resolve_first_occurrence_is_an_hour_before_the_second():
    zone = ZoneInfo("Europe/London")
    first = resolve(zone, date(2027, 10, 31), time(1, 30))
    second = datetime(2027, 10, 31, 1, 30, fold=1, tzinfo=zone)
    assert utc(second) - utc(first) == timedelta(hours=1)


def test_window_in_london_gap_opens_at_gap_end(load):
    s = load("Europe/London", window("Early", '["sun"]', "01:30", "04:00"))
    assert lines(s, "2027-03-27T12:00", "2027-03-29T00:00") == [
        ("2027-03-27T12:00:00+00:00", "live", False),
        ("2027-03-28T02:00:00+01:00", "muted", False),
        ("2027-03-28T04:00:00+01:00", "live", False),
    ]


def test_window_in_repeated_hour_uses_first_occurrences(load):
    s = load("America/New_York", window("Fold", '["sun"]', "01:10", "01:50"))
    assert lines(s, "2027-11-06T12:00", "2027-11-08T00:00") == [
        ("2027-11-06T12:00:00-04:00", "live", False),
        ("2027-11-07T01:10:00-04:00", "muted", False),
        ("2027-11-07T01:50:00-04:00", "live", False),
    ]


def test_lord_howe_half_hour_shift_both_ways(load):
    s = load("Australia/Lord_Howe", window("Night", ALL_DAYS, "23:00", "02:15"))
    # Spring: 02:00 -> 02:30, so 02:15 is skipped and the window closes at 02:30.
    assert lines(s, "2026-10-03T12:00", "2026-10-04T12:00") == [
        ("2026-10-03T12:00:00+10:30", "live", False),
        ("2026-10-03T23:00:00+10:30", "muted", False),
        ("2026-10-04T02:30:00+11:00", "live", False),
    ]
    # Autumn: 02:00 -> 01:30, so 02:15 happens once, after the repeated half hour.
    assert lines(s, "2027-04-03T12:00", "2027-04-04T12:00") == [
        ("2027-04-03T12:00:00+11:00", "live", False),
        ("2027-04-03T23:00:00+11:00", "muted", False),
        ("2027-04-04T02:15:00+10:30", "live", False),
    ]


def test_midnight_gap_in_santiago_moves_window_and_exception_to_one_oclock(load):
    s = load("America/Santiago", window("Sunday", '["sun"]', "00:00", "08:00") + exception("Trip", "2026-09-10", "2026-09-10"))
    assert lines(s, "2026-09-05T12:00", "2026-09-06T12:00") == [
        ("2026-09-05T12:00:00-04:00", "live", False),
        ("2026-09-06T01:00:00-03:00", "muted", False),
        ("2026-09-06T08:00:00-03:00", "live", False),
    ]
    s = load("America/Santiago", exception("Gap day", "2026-09-06", "2026-09-06"))
    assert lines(s, "2026-09-05T12:00", "2026-09-08T00:00")[1:] == [
        ("2026-09-06T01:00:00-03:00", "muted", False),
        ("2026-09-07T00:00:00-03:00", "live", False),
    ]


def test_santiago_repeated_late_evening_opens_at_first_occurrence(load):
    # 2026-04-04 24:00 -03:00 becomes 23:00 -04:00: 23:00-23:59 happens twice.
    s = load("America/Santiago", window("Late", '["sat"]', "23:30", "00:00"))
    assert lines(s, "2026-04-04T12:00", "2026-04-05T12:00") == [
        ("2026-04-04T12:00:00-03:00", "live", False),
        ("2026-04-04T23:30:00-03:00", "muted", False),
        ("2026-04-05T00:00:00-04:00", "live", False),
    ]


# Rule 4: no effect unless close is after open -------------------------------------------------


def test_window_wholly_inside_a_gap_has_no_effect(load):
    s = load("Europe/London", window("Ghost", '["sun"]', "01:15", "01:45"))
    assert lines(s, "2027-03-27T00:00", "2027-03-30T00:00") == [("2027-03-27T00:00:00+00:00", "live", False)]
    # The next Sunday has no gap and the window works.
    assert len(lines(s, "2027-04-03T00:00", "2027-04-05T00:00")) == 3


def test_half_open_intervals_change_exactly_at_open_and_close(load):
    s = load("UTC", window("Hour", '["mon"]', "10:00", "11:00"))
    assert lines(s, "2027-03-01T10:00", "2027-03-01T11:00") == [("2027-03-01T10:00:00+00:00", "muted", False)]
    assert lines(s, "2027-03-01T11:00", "2027-03-01T12:00") == [("2027-03-01T11:00:00+00:00", "live", False)]
    assert lines(s, "2027-03-01T09:00", "2027-03-01T10:00") == [("2027-03-01T09:00:00+00:00", "live", False)]


# Rule 5: muted wins, locked -------------------------------------------------------------------


def test_muted_wins_over_live_and_locked_comes_from_muted_entries(load):
    body = (
        window("Open house", ALL_DAYS, "08:00", "20:00", state="live")
        + window("Calls", ALL_DAYS, "12:00", "13:00")
        + window("Dinner", ALL_DAYS, "18:00", "19:00", extra="locked = true")
    )
    s = load("UTC", body, default="muted")
    assert lines(s, "2027-03-01T07:00", "2027-03-01T21:00") == [
        ("2027-03-01T07:00:00+00:00", "muted", False),
        ("2027-03-01T08:00:00+00:00", "live", False),
        ("2027-03-01T12:00:00+00:00", "muted", False),
        ("2027-03-01T13:00:00+00:00", "live", False),
        ("2027-03-01T18:00:00+00:00", "muted", True),
        ("2027-03-01T19:00:00+00:00", "live", False),
        ("2027-03-01T20:00:00+00:00", "muted", False),
    ]


def test_lock_change_alone_is_a_change(load):
    body = window("Evening", ALL_DAYS, "18:00", "23:00") + window("Late", ALL_DAYS, "21:00", "23:00", extra="locked = true")
    s = load("UTC", body)
    assert [(at[11:16], st, lk) for at, st, lk in lines(s, "2027-03-01T17:00", "2027-03-02T00:00")] == [
        ("17:00", "live", False),
        ("18:00", "muted", False),
        ("21:00", "muted", True),
        ("23:00", "live", False),
    ]


def test_disabled_entries_have_no_effect(load):
    body = window("Off", ALL_DAYS, "10:00", "11:00", extra="enabled = false") + exception(
        "Off too", "2027-03-01", "2027-03-02", extra="enabled = false"
    )
    s = load("UTC", body)
    assert lines(s, "2027-02-28T00:00", "2027-03-04T00:00") == [("2027-02-28T00:00:00+00:00", "live", False)]
    assert evaluate(s, datetime(2027, 3, 1, 10, 30, tzinfo=timezone.utc)).reason == "default"


# Rule 6: the plan -----------------------------------------------------------------------------


def test_touching_and_overlapping_windows_make_no_change_at_their_joint(load):
    body = (
        window("A", ALL_DAYS, "20:00", "22:00")
        + window("B", ALL_DAYS, "22:00", "23:00")
        + window("C", ALL_DAYS, "22:30", "23:30")
    )
    s = load("UTC", body)
    assert lines(s, "2027-03-01T19:00", "2027-03-02T00:00") == [
        ("2027-03-01T19:00:00+00:00", "live", False),
        ("2027-03-01T20:00:00+00:00", "muted", False),
        ("2027-03-01T23:30:00+00:00", "live", False),
    ]


def test_plan_of_an_empty_range_is_empty(load):
    s = load("UTC", "")
    moment = datetime(2027, 3, 1, tzinfo=timezone.utc)
    assert plan(s, moment, moment) == []
    assert plan(s, moment, moment - timedelta(hours=1)) == []


def test_plan_reports_instants_in_the_schedule_zone_whatever_zone_is_given(load):
    s = load("Europe/London", window("Night", ALL_DAYS, "22:00", "07:00"))
    start = datetime(2027, 3, 27, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    changes = plan(s, start, start + timedelta(days=1))
    assert changes[0] == Change(start.astimezone(s.zone), "muted", False)  # 03:00 GMT
    assert all(c.at.tzinfo == s.zone for c in changes)


# evaluate ------------------------------------------------------------------------------------


def test_evaluate_names_the_deciding_entry_and_the_next_change(load):
    body = (
        window("Evening", ALL_DAYS, "18:00", "23:00")
        + window("Night", ALL_DAYS, "22:00", "07:00", extra="locked = true")
        + window("Open", ALL_DAYS, "06:00", "09:00", state="live")
        + exception("Holiday", "2027-03-02", "2027-03-02")
    )
    s = load("Europe/London", body)

    def at(text):
        return evaluate(s, parse_instant(text, s.zone))

    e = at("2027-03-01T22:30")
    assert (e.state, e.locked, e.reason) == ("muted", True, "window 'Night'")
    # Evening closing at 23:00 changes nothing; at 07:00 the Holiday, unlocked, is what remains.
    assert format_instant(e.until, s.zone) == "2027-03-02T07:00:00+00:00"
    assert e.next == Change(e.until, "muted", False)
    e = at("2027-03-01T06:30")
    assert (e.state, e.locked, e.reason) == ("muted", True, "window 'Night'")
    e = at("2027-03-01T08:00")
    assert (e.state, e.locked, e.reason) == ("live", False, "window 'Open'")
    # Open closing at 09:00 leaves the default, live: no change until Evening.
    assert format_instant(e.until, s.zone) == "2027-03-01T18:00:00+00:00"
    assert at("2027-03-01T12:00").reason == "default"
    e = at("2027-03-02T12:00")
    assert (e.state, e.reason) == ("muted", "exception 'Holiday'")
    assert format_instant(e.until, s.zone) == "2027-03-02T22:00:00+00:00"  # Night takes over, locked


def test_evaluate_finds_a_far_change_and_gives_none_beyond_400_days(load):
    s = load("UTC", exception("Sabbatical", "2028-01-01", "2028-01-31"))
    near = evaluate(s, datetime(2027, 3, 1, tzinfo=timezone.utc))
    assert near.until == datetime(2028, 1, 1, tzinfo=timezone.utc)
    far = evaluate(s, datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert (far.state, far.until, far.next) == ("live", None, None)
    assert evaluate(load("UTC", ""), datetime(2027, 3, 1, tzinfo=timezone.utc)).until is None


def test_evaluate_accepts_any_zone_and_answers_in_the_schedule_zone(load):
    s = load("Europe/London", window("Night", ALL_DAYS, "22:00", "07:00"))
    e = evaluate(s, datetime(2027, 3, 28, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo")))  # 23:30 GMT on the 27th
    assert (e.state, format_instant(e.until, s.zone)) == ("muted", "2027-03-28T07:00:00+01:00")
    assert e.until.tzinfo == s.zone


# Instants ------------------------------------------------------------------------------------


def test_parse_instant_reads_local_wall_time_by_rule_3_and_keeps_offsets():
    zone = ZoneInfo("Europe/London")
    assert format_instant(parse_instant("2027-03-28T01:30", zone), zone) == "2027-03-28T02:00:00+01:00"
    assert format_instant(parse_instant("2027-10-31T01:30", zone), zone) == "2027-10-31T01:30:00+01:00"
    assert format_instant(parse_instant("2027-10-31T01:30+00:00", zone), zone) == "2027-10-31T01:30:00+00:00"
    assert format_instant(parse_instant("2027-06-01T12:00Z", zone), zone) == "2027-06-01T13:00:00+01:00"
    assert format_instant(parse_instant("2027-06-01", zone), zone) == "2027-06-01T00:00:00+01:00"


@pytest.mark.parametrize("text", ["tomorrow", "", "2027-13-01T00:00", "2027-03-28T25:00", None])
def test_parse_instant_rejects_bad_text_with_an_example(text):
    with pytest.raises(MickillError, match="ISO 8601.*2027-03-28T07:00"):
        parse_instant(text, ZoneInfo("UTC"))


def test_format_instant_has_seconds_and_the_zone_offset():
    moment = datetime(2027, 3, 28, 6, 0, 0, 123456, tzinfo=timezone.utc)
    assert format_instant(moment, ZoneInfo("Europe/London")) == "2027-03-28T07:00:00+01:00"
    assert format_instant(moment, ZoneInfo("Australia/Lord_Howe")) == "2027-03-28T17:00:00+11:00"
