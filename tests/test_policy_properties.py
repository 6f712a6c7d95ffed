"""Property tests of the policy: authority holds over random situations and request sequences."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mickill.errors import Refused
from mickill.policy import (
    RANKS,
    Override,
    ScheduleVerdict,
    Situation,
    current_override,
    decide,
    mute,
    unmute,
)

T0 = datetime(2027, 3, 27, 20, 0, tzinfo=timezone.utc)
DEFAULT_S = 900
ALL_SOURCES = sorted(RANKS)
NON_BUTTON = [s for s in ALL_SOURCES if s != "button"]

offsets = st.integers(min_value=1, max_value=2 * 86400).map(lambda s: timedelta(seconds=s))
maybe_until = st.none() | offsets

# A verdict is drawn as its parts, and made at the moment it applies so its `until` is ahead.
verdict_parts = st.tuples(
    st.sampled_from([("muted", True), ("muted", False), ("live", False)]),
    st.sampled_from(["window 'Night'", "default"]),
    maybe_until,
)


def verdict_at(parts, now):
    (state, locked), reason, ahead = parts
    return ScheduleVerdict(state, locked, reason, None if ahead is None else now + ahead)


@st.composite
def overrides(draw, sources=ALL_SOURCES):
    kind = draw(st.sampled_from(["mute", "unmute"]))
    until = draw(offsets if kind == "unmute" else maybe_until)
    return Override(kind, draw(st.sampled_from(sources)), T0, None if until is None else T0 + until)


@st.composite
def situations(draw):
    now = T0 + timedelta(seconds=draw(st.integers(min_value=0, max_value=3 * 86400)))
    return Situation(
        verdict_at(draw(verdict_parts), now),
        draw(st.none() | overrides()),
        draw(st.booleans()),
        draw(st.sampled_from([None, "auto", "cut"])),
        draw(st.sampled_from([None, "sense disagrees with relay"])),
        now,
    )


durations = st.none() | st.integers(min_value=1, max_value=14 * 3600).map(float)


def requests(sources):
    return st.tuples(st.sampled_from(["mute", "unmute"]), st.sampled_from(sources), durations)


def steps(sources):
    # (seconds since the last step, the schedule's verdict now, clock trusted, optional request)
    return st.lists(
        st.tuples(st.integers(0, 1800), verdict_parts, st.booleans(), st.none() | requests(sources)),
        min_size=1,
        max_size=25,
    )


def run(initial, trail, switch=None):
    """Play requests over time as the daemon would; yield each (situation, decision)."""
    stored, now = initial, T0
    for gap, parts, trusted, request in trail:
        now += timedelta(seconds=gap)
        verdict = verdict_at(parts, now)
        s = Situation(verdict, stored, trusted, switch, None, now)
        stored = current_override(s)
        if request is not None:
            kind, source, duration = request
            s = Situation(verdict, stored, trusted, switch, None, now)
            try:
                if kind == "mute":
                    stored = mute(s, source, duration)
                else:
                    stored = unmute(s, source, duration, DEFAULT_S)
            except Refused:
                pass
        s = Situation(verdict, stored, trusted, switch, None, now)
        yield s, decide(s)


@settings(max_examples=150, deadline=None)
@given(st.none() | overrides(NON_BUTTON), steps(NON_BUTTON))
def test_no_client_source_ever_opens_a_locked_window(initial, trail):
    for s, d in run(initial, trail):
        if s.schedule.locked:
            assert d.state == "muted", (s, d)


@settings(max_examples=150, deadline=None)
@given(st.none() | overrides(), steps(ALL_SOURCES), st.sampled_from([None, "auto"]))
def test_live_inside_a_locked_window_is_always_the_buttons_doing(initial, trail, switch):
    for s, d in run(initial, trail, switch):
        if s.schedule.locked and d.state == "live":
            held = current_override(s)
            assert d.source == "button" and held.kind == "unmute" and held.source == "button"


@st.composite
def outranked_trail(draw):
    muter = draw(st.sampled_from(["button", "cli", "web", "api"]))
    lower = [s for s in ALL_SOURCES if RANKS[s] < RANKS[muter]]
    return muter, draw(steps(lower))


@settings(max_examples=150, deadline=None)
@given(outranked_trail(), maybe_until, st.sampled_from([None, "auto"]))
def test_a_mute_stays_until_its_end_whatever_lower_ranks_ask(muter_and_trail, length, switch):
    muter, trail = muter_and_trail
    until = None if length is None else T0 + length
    for s, d in run(Override("mute", muter, T0, until), trail, switch):
        if until is None or s.now < until:
            assert d.state == "muted", (s, d)
            assert current_override(s).source == muter


@settings(max_examples=100, deadline=None)
@given(outranked_trail(), st.data())
def test_every_lower_rank_unmute_of_a_live_mute_is_refused(muter_and_trail, data):
    muter, _ = muter_and_trail
    s = data.draw(situations())
    s = Situation(s.schedule, Override("mute", muter, T0, None), s.clock_trusted, s.switch, s.fault, s.now)
    lower = data.draw(st.sampled_from([x for x in ALL_SOURCES if RANKS[x] < RANKS[muter]]))
    try:
        unmute(s, lower, None, DEFAULT_S)
    except Refused as refused:
        assert refused.code in {"outranked", "locked", "clock", "switch", "fault"}
    else:
        raise AssertionError(f"{lower} lifted a mute made by {muter}")


@settings(max_examples=200, deadline=None)
@given(situations(), st.sampled_from(["cut", "fault"]))
def test_never_live_while_the_switch_is_cut_or_a_fault_is_latched(s, why):
    if why == "cut":
        s = Situation(s.schedule, s.override, s.clock_trusted, "cut", s.fault, s.now)
    else:
        s = Situation(s.schedule, s.override, s.clock_trusted, s.switch, "relay stuck", s.now)
    assert decide(s).state == "muted"
    for source in ALL_SOURCES:
        try:
            after = unmute(s, source, None, DEFAULT_S)
        except Refused as refused:
            assert refused.code in {"switch", "fault"}
        else:
            raise AssertionError(f"{source} unmuted with the switch cut or a fault: {after}")


@settings(max_examples=200, deadline=None)
@given(situations(), st.sampled_from(ALL_SOURCES), durations)
def test_a_mute_is_never_refused_and_always_mutes(s, source, duration):
    after = mute(s, source, duration)
    assert decide(Situation(s.schedule, after, s.clock_trusted, s.switch, s.fault, s.now)).state == "muted"
