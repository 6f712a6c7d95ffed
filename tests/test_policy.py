"""Unit tests of the pure decision: precedence, refusals, expiry, restart, persistence."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mickill.errors import MickillError, Refused
from mickill.policy import (
    CLIENT_SOURCES,
    MAX_UNMUTE_S,
    RANKS,
    Override,
    ScheduleVerdict,
    Situation,
    current_override,
    decide,
    mute,
    restore_after_restart,
    unmute,
)

NOW = datetime(2027, 3, 28, 12, 0, tzinfo=timezone.utc)
NEXT = NOW + timedelta(hours=3)
LIVE = ScheduleVerdict("live", False, "default", NEXT)
MUTED = ScheduleVerdict("muted", False, "window 'Evening'", NEXT)
LOCKED = ScheduleVerdict("muted", True, "window 'Night'", NEXT)
DEFAULT_S = 900


def sit(schedule=LIVE, override=None, *, trusted=True, switch=None, fault=None, now=NOW):
    return Situation(schedule, override, trusted, switch, fault, now)


def ov(kind, source, until=NEXT, since=NOW - timedelta(minutes=1)):
    return Override(kind, source, since, until)


def refusal(s, source="web", duration=None):
    with pytest.raises(Refused) as info:
        unmute(s, source, duration, DEFAULT_S)
    return info.value.code, str(info.value)


# --- decide: precedence, one rung at a time ---------------------------------------------


def test_schedule_rules_without_override():
    d = decide(sit(LOCKED))
    assert (d.state, d.locked, d.reason, d.source, d.until) == ("muted", True, "window 'Night'", "schedule", NEXT)
    d = decide(sit(LIVE))
    assert (d.state, d.locked, d.source, d.until) == ("live", False, "schedule", NEXT)


def test_switch_cut_beats_everything_even_a_button_unmute():
    d = decide(sit(LIVE, ov("unmute", "button"), switch="cut", fault="sense disagrees with relay"))
    assert (d.state, d.locked, d.reason, d.source) == ("muted", True, "switch in cut position", "switch")


def test_switch_auto_hands_control_to_the_schedule():
    assert decide(sit(LIVE, switch="auto")).state == "live"


def test_fault_beats_a_button_unmute():
    d = decide(sit(LIVE, ov("unmute", "button"), fault="sense disagrees with relay"))
    assert (d.state, d.reason, d.source) == ("muted", "fault: sense disagrees with relay", "system")


def test_button_unmute_opens_a_locked_window_and_ignores_an_untrusted_clock():
    d = decide(sit(LOCKED, ov("unmute", "button"), trusted=False))
    assert (d.state, d.locked, d.source, d.until) == ("live", False, "button", NEXT)


def test_untrusted_clock_mutes_whatever_the_schedule_says():
    d = decide(sit(LIVE, trusted=False))
    assert (d.state, d.reason, d.source) == ("muted", "waiting for a trusted clock", "system")
    assert decide(sit(LIVE, ov("unmute", "web"), trusted=False)).state == "muted"


def test_manual_mute_beats_a_live_schedule_and_carries_the_lock():
    d = decide(sit(LIVE, ov("mute", "audio")))
    assert (d.state, d.locked, d.reason, d.source, d.until) == ("muted", False, "muted by audio", "audio", NEXT)
    assert decide(sit(LOCKED, ov("mute", "web"))).locked is True


def test_client_unmute_beats_a_muted_schedule():
    d = decide(sit(MUTED, ov("unmute", "web")))
    assert (d.state, d.locked, d.reason, d.source) == ("live", False, "unmuted by web", "web")


def test_client_unmute_has_ended_once_a_locked_window_is_open():
    s = sit(LOCKED, ov("unmute", "cli"))
    assert current_override(s) is None
    assert decide(s).state == "muted"


def test_button_unmute_survives_a_locked_window_opening():
    s = sit(LOCKED, ov("unmute", "button"))
    assert current_override(s) == s.override


# --- expiry -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mute", "unmute"])
def test_override_ends_exactly_at_until(kind):
    o = ov(kind, "web")
    assert current_override(sit(MUTED, o, now=NEXT - timedelta(microseconds=1))) == o
    assert current_override(sit(MUTED, o, now=NEXT)) is None


def test_mute_without_end_never_expires():
    o = ov("mute", "web", until=None)
    assert current_override(sit(LIVE, o, now=NOW + timedelta(days=400))) == o


def test_unmutes_are_dropped_under_switch_cut_fault_or_untrusted_clock():
    assert current_override(sit(MUTED, ov("unmute", "button"), switch="cut")) is None
    assert current_override(sit(MUTED, ov("unmute", "button"), fault="relay stuck")) is None
    assert current_override(sit(MUTED, ov("unmute", "web"), trusted=False)) is None
    # mutes stay: they mute anyway, and must still hold when the switch goes back to auto
    m = ov("mute", "web")
    assert current_override(sit(LIVE, m, switch="cut")) == m


# --- mute ----------------------------------------------------------------------------------


def test_mute_lasts_until_the_schedules_next_change():
    o = mute(sit(LIVE), "audio", None)
    assert (o.kind, o.source, o.since, o.until) == ("mute", "audio", NOW, NEXT)
    # the decision keeps the original end even after the schedule moves on
    later = sit(ScheduleVerdict("live", False, "default", NEXT + timedelta(days=1)), o, now=NOW + timedelta(hours=1))
    assert decide(later).until == NEXT


def test_mute_with_no_next_change_is_indefinite():
    assert mute(sit(ScheduleVerdict("live", False, "default", None)), "web", None).until is None


def test_mute_with_duration_and_under_untrusted_clock():
    assert mute(sit(LIVE), "web", 600).until == NOW + timedelta(seconds=600)
    assert mute(sit(LIVE, trusted=False), "web", None).until is None


def test_mute_replaces_a_button_unmute_from_any_source():
    s = sit(LOCKED, ov("unmute", "button"))
    o = mute(s, "audio", None)
    assert decide(sit(LOCKED, o)).state == "muted"


def test_lower_rank_mute_cannot_shorten_or_take_over_a_stronger_mute():
    web = ov("mute", "web", until=NOW + timedelta(hours=1))
    short = mute(sit(LIVE, web), "audio", 60)
    assert (short.source, short.since, short.until) == ("web", web.since, web.until)
    longer = mute(sit(LIVE, web), "audio", 7200)
    assert (longer.source, longer.until) == ("web", NOW + timedelta(hours=2))
    assert mute(sit(LIVE, web), "mqtt", None).until == NEXT  # the schedule's change is later
    assert mute(sit(LIVE, ov("mute", "button")), "web", None).source == "button"
    # ... so the automation cannot then lift it
    assert refusal(sit(LIVE, short), "audio")[0] == "outranked"


def test_equal_or_higher_rank_mute_replaces_outright():
    web = ov("mute", "web", until=None)
    o = mute(sit(LIVE, web), "cli", 60)
    assert (o.source, o.since, o.until) == ("cli", NOW, NOW + timedelta(seconds=60))


@pytest.mark.parametrize("state", [dict(switch="cut"), dict(fault="x"), dict(trusted=False), dict(schedule=LOCKED)])
def test_mute_is_never_refused(state):
    assert mute(sit(**state), "audio", None).kind == "mute"


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_mute_rejects_a_nonsense_duration(bad):
    with pytest.raises(Refused) as info:
        mute(sit(), "web", bad)
    assert info.value.code == "bad_request" and "positive number of seconds" in str(info.value)


# --- unmute: every refusal -----------------------------------------------------------------


def test_refused_by_switch():
    code, msg = refusal(sit(MUTED, switch="cut"), "button")
    assert code == "switch" and msg == "the switch is in its cut position; flip it to auto to allow unmuting"


def test_refused_by_fault_names_the_fault():
    code, msg = refusal(sit(MUTED, fault="sense disagrees with relay"), "button")
    assert code == "fault" and "sense disagrees with relay" in msg and "check the relay" in msg and "press the button" in msg


def test_refused_by_untrusted_clock_except_for_the_button():
    code, msg = refusal(sit(MUTED, trusted=False), "web")
    assert code == "clock" and "hold the button" in msg
    o = unmute(sit(MUTED, trusted=False), "button", None, DEFAULT_S)
    assert decide(sit(MUTED, o, trusted=False)).state == "live"


def test_unmute_by_the_button_under_untrusted_clock_and_live_schedule_is_not_a_no_op():
    # the schedule's "live" means nothing without a trusted clock; the press must open the mic
    s = sit(LIVE, ov("mute", "web"), trusted=False)
    o = unmute(s, "button", None, DEFAULT_S)
    assert decide(sit(LIVE, o, trusted=False)).state == "live"


@pytest.mark.parametrize("source", sorted(CLIENT_SOURCES))
def test_refused_by_locked_window_except_for_the_button(source):
    code, msg = refusal(sit(LOCKED), source)
    assert code == "locked" and msg == "locked: only the physical button can open this window"
    o = unmute(sit(LOCKED), "button", None, DEFAULT_S)
    assert decide(sit(LOCKED, o)).state == "live"


def test_locked_window_refuses_even_while_a_button_unmute_is_in_force():
    assert refusal(sit(LOCKED, ov("unmute", "button")), "web")[0] == "locked"


@pytest.mark.parametrize("source", sorted(CLIENT_SOURCES))
def test_button_mute_outranks_every_client(source):
    code, msg = refusal(sit(MUTED, ov("mute", "button")), source)
    assert code == "outranked" and msg == "muted at the button; only the button can lift it"


@pytest.mark.parametrize("mute_source", ["cli", "web", "api"])
@pytest.mark.parametrize("source", ["mqtt", "audio"])
def test_user_mute_outranks_automation(mute_source, source):
    code, msg = refusal(sit(LIVE, ov("mute", mute_source)), source)
    assert code == "outranked" and f"muted by {mute_source}" in msg and "logged-in user" in msg


@pytest.mark.parametrize("source", ["button", "cli", "web", "api", "mqtt", "audio"])
def test_equal_or_higher_rank_lifts_a_mute(source):
    lowest = "audio" if RANKS[source] < 2 else "mqtt"
    o = unmute(sit(MUTED, ov("mute", lowest)), source, None, DEFAULT_S)
    assert (o.kind, o.source, o.until) == ("unmute", source, NOW + timedelta(seconds=DEFAULT_S))


@pytest.mark.parametrize("duration", [MAX_UNMUTE_S + 1, 0, -1, float("inf"), float("nan")])
def test_unmute_duration_out_of_range_is_refused_not_clamped(duration):
    code, msg = refusal(sit(MUTED), "web", duration)
    assert code == "bad_request" and "at most 12h" in msg


def test_unmute_for_exactly_twelve_hours_is_allowed():
    o = unmute(sit(MUTED), "web", MAX_UNMUTE_S, DEFAULT_S)
    assert o.until == NOW + timedelta(hours=12)


@pytest.mark.parametrize("source", ["switch", "schedule", "system", "doctor", "nobody"])
def test_unknown_or_internal_source_is_a_programming_error(source):
    with pytest.raises(ValueError):
        unmute(sit(MUTED), source, None, DEFAULT_S)
    with pytest.raises(ValueError):
        mute(sit(MUTED), source, None)


# --- unmute: what it returns ---------------------------------------------------------------


def test_unmute_clears_a_manual_mute_when_the_schedule_is_live():
    s = sit(LIVE, ov("mute", "web"))
    assert unmute(s, "web", None, DEFAULT_S) is None
    assert decide(sit(LIVE, None)).state == "live"


def test_unmute_when_already_live_by_schedule_needs_no_override():
    assert unmute(sit(LIVE), "audio", None, DEFAULT_S) is None


def test_unmute_over_an_unmute_replaces_it_unless_the_requester_is_outranked():
    button = ov("unmute", "button")
    assert unmute(sit(MUTED, button), "audio", 60, DEFAULT_S) == button
    web = ov("unmute", "web")
    renewed = unmute(sit(MUTED, web), "cli", 60, DEFAULT_S)
    assert (renewed.source, renewed.until) == ("cli", NOW + timedelta(seconds=60))


def test_unmute_ignores_an_expired_mute_from_a_higher_rank():
    stale = ov("mute", "button", until=NOW)
    assert unmute(sit(LIVE, stale), "audio", None, DEFAULT_S) is None


# --- restart and persistence ---------------------------------------------------------------


def test_restart_keeps_running_mutes_and_drops_every_unmute():
    m = ov("mute", "web")
    assert restore_after_restart(m, NOW) == m
    assert restore_after_restart(ov("mute", "web", until=None), NOW + timedelta(days=9)) is not None
    assert restore_after_restart(m, NEXT) is None
    assert restore_after_restart(ov("unmute", "button"), NOW) is None
    assert restore_after_restart(None, NOW) is None


@pytest.mark.parametrize(
    "since, until",
    [
        (datetime(2027, 3, 28, 14, 30, tzinfo=ZoneInfo("Europe/London")), None),
        # the second 01:30 of the autumn change: the instant, not the wall time, must survive
        (NOW, datetime(2027, 10, 31, 1, 30, fold=1, tzinfo=ZoneInfo("Europe/London"))),
    ],
)
def test_override_round_trips_through_json_in_utc(since, until):
    o = Override("mute", "web", since, until)
    text = o.to_json()
    assert "+00:00" in text and "Europe" not in text
    back = Override.from_json(text)
    assert (back.kind, back.source) == ("mute", "web")
    assert back.since.timestamp() == since.timestamp() and back.since.utcoffset() == timedelta(0)
    assert (back.until and back.until.timestamp()) == (until and until.timestamp())


@pytest.mark.parametrize(
    "text",
    ["", "{}", "[1]", "null", '{"kind": "pause", "source": "web", "since": "2027-01-01T00:00:00+00:00", "until": null}',
     '{"kind": "mute", "source": "web", "since": "yesterday", "until": null}',
     '{"kind": "unmute", "source": "web", "since": "2027-01-01T00:00:00+00:00", "until": null}'],
)
def test_damaged_stored_override_says_what_to_do(text):
    with pytest.raises(MickillError, match="mute or unmute again") as info:
        Override.from_json(text)
    assert isinstance(info.value, ValueError)  # so a loader catching ValueError drops it


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        Situation(LIVE, None, True, None, None, datetime(2027, 1, 1))
