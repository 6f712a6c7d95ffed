"""The panel's pure helpers: timeline geometry across DST days, and times in the schedule's zone."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from mickill_web import timeline
from mickill_web.display import present, when

LONDON = ZoneInfo("Europe/London")


def test_a_spring_forward_day_is_23_hours_long():
    day = date(2027, 3, 28)  # clocks go 01:00 -> 02:00 in London
    start, end = timeline.day_bounds(day, LONDON)
    runs = timeline.runs({"state": "muted"}, [{"at": "2027-03-28T07:00:00+01:00", "state": "live"}], start, end)
    muted, live = timeline.pieces_of_day(runs, day, LONDON)
    # 00:00 GMT to 07:00 BST is six real hours of a 23-hour day.
    assert (muted.state, live.state) == ("muted", "live")
    assert abs(muted.length - 6 / 23) < 1e-9 and abs(live.start - 6 / 23) < 1e-9
    assert abs(muted.length + live.length - 1) < 1e-9


def test_runs_split_at_local_midnight_and_keep_sources():
    start = datetime(2027, 1, 4, tzinfo=LONDON)
    end = start + timedelta(days=2)
    changes = [{"at": "2027-01-04T22:00:00+00:00", "state": "live", "source": "web"},
               {"at": "2027-01-05T02:00:00+00:00", "state": "muted", "source": "button"}]
    runs = timeline.runs({"state": "muted", "source": "before"}, changes, start, end)
    first = timeline.pieces_of_day(runs, date(2027, 1, 4), LONDON)
    second = timeline.pieces_of_day(runs, date(2027, 1, 5), LONDON)
    assert [(p.state, p.source, round(p.length * 24, 6)) for p in first] == [("muted", "before", 22), ("live", "web", 2)]
    assert [(p.state, p.source, round(p.length * 24, 6)) for p in second] == [("live", "web", 2), ("muted", "button", 22)]


def test_changes_before_the_range_set_the_first_state():
    start = datetime(2027, 1, 4, tzinfo=timezone.utc)
    runs = timeline.runs({"state": "muted"}, [{"at": start.isoformat(), "state": "live"}], start, start + timedelta(hours=1))
    assert [run["state"] for run in runs] == ["live"]


def test_times_carry_the_offset_only_on_days_the_clocks_change():
    assert when("2027-03-28T07:00:00+01:00", LONDON) == "Sun 28 Mar 07:00 (UTC+01:00)"
    assert when("2027-03-29T07:00:00+01:00", LONDON) == "Mon 29 Mar 07:00"
    assert when("2027-10-31T00:30:00+00:00", ZoneInfo("America/New_York")) == "Sat 30 Oct 20:30"


def test_state_is_said_in_words_not_colour_alone():
    words = present({"state": "muted", "locked": True, "reason": "window 'Night'", "source": "schedule",
                     "timezone": "Europe/London", "clock": {"trusted": False, "policy": "wait-sync"}})
    assert (words["state"], words["headline"]) == ("CUT", "The microphone is cut")
    assert words["locked"].startswith("Locked") and "NOT trusted" in words["clock"]
    assert present({"state": "live"})["state"] == "LIVE"
