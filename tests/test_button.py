"""The button and switch state machines: debounce, press, hold, release, fail-closed switch."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mickill.button import Event, PushButton, ToggleSwitch

DEB = 0.03
HOLD = 2.0


def kinds(events):
    return [e.kind for e in events]


def drive(control, edges, until):
    """Feed edges as the daemon does: tick at every deadline that falls before the next edge."""
    out = []
    for level, at in [*edges, (None, until)]:
        while (deadline := control.next_deadline()) is not None and deadline <= at:
            out += control.tick(deadline)
        if level is not None:
            out += control.edge(level, at)
    return out


# --- push button ---------------------------------------------------------------------------


def test_down_comes_on_the_first_edge_before_any_debounce():
    b = PushButton(DEB, HOLD)
    assert b.edge(True, 10.0) == [Event("down", 10.0)]
    assert b.is_pressed


def test_press_only_once_stable_for_the_debounce_time():
    b = PushButton(DEB, HOLD)
    b.edge(True, 10.0)
    assert b.next_deadline() == pytest.approx(10.03)
    assert b.tick(10.029) == []
    assert b.tick(10.03) == [Event("press", pytest.approx(10.03))]
    assert b.tick(10.5) == []


def test_hold_after_hold_seconds_of_stable_press_and_only_once():
    b = PushButton(DEB, HOLD)
    b.edge(True, 0.0)
    b.tick(0.03)
    assert b.next_deadline() == pytest.approx(HOLD)
    assert b.tick(1.999) == []
    assert b.tick(2.0) == [Event("hold", 2.0)]
    assert b.next_deadline() is None
    assert b.tick(9.0) == []
    assert kinds(b.edge(False, 9.5)) == []
    assert b.tick(9.53) == [Event("up", pytest.approx(9.53))]
    assert b.next_deadline() is None and not b.is_pressed


def test_release_mid_hold_cancels_the_hold():
    b = PushButton(DEB, HOLD)
    events = drive(b, [(True, 0.0), (False, 1.0)], until=10.0)
    assert kinds(events) == ["down", "press", "up"]


def test_a_bounce_mid_hold_is_not_a_release():
    b = PushButton(DEB, HOLD)
    events = drive(b, [(True, 0.0), (False, 1.0), (True, 1.01)], until=3.0)
    assert kinds(events) == ["down", "press", "hold"]
    assert events[-1].at == pytest.approx(HOLD)


def test_a_bounce_across_the_hold_time_holds_once_the_contact_closes_again():
    b = PushButton(DEB, HOLD)
    events = drive(b, [(True, 0.0), (False, 1.99)], until=2.0)
    assert kinds(events) == ["down", "press"]
    assert b.edge(True, 2.01) == [Event("hold", 2.01)]  # at once, without waiting for a tick


def test_a_press_shorter_than_debounce_is_down_and_up_without_press():
    b = PushButton(DEB, HOLD)
    events = drive(b, [(True, 0.0), (False, 0.02)], until=1.0)
    assert events == [Event("down", 0.0), Event("up", pytest.approx(0.05))]


def test_late_ticks_still_report_events_in_order_at_their_own_time():
    b = PushButton(DEB, HOLD)
    b.edge(True, 0.0)
    b.edge(False, 5.0)  # nobody ticked for five seconds: the edge flushes what was due
    assert kinds(b.tick(6.0)) == ["up"]
    b2 = PushButton(DEB, HOLD)
    b2.edge(True, 0.0)
    assert b2.edge(False, 5.0) == [Event("press", pytest.approx(0.03)), Event("hold", 2.0)]


def test_idle_button_has_no_deadline_and_ignores_a_release():
    b = PushButton(DEB, HOLD)
    assert b.next_deadline() is None
    assert b.edge(False, 1.0) == []
    assert b.next_deadline() is None


def test_two_presses_are_two_cycles():
    b = PushButton(DEB, HOLD)
    events = drive(b, [(True, 0.0), (False, 0.2), (True, 0.5), (False, 0.7)], until=2.0)
    assert kinds(events) == ["down", "press", "up", "down", "press", "up"]


@pytest.mark.parametrize("control", [PushButton(DEB, HOLD), ToggleSwitch(DEB, closed_at_start=True)])
def test_time_going_backwards_is_refused(control):
    control.edge(False, 5.0)
    with pytest.raises(ValueError, match="monotonic"):
        control.edge(True, 4.0)
    with pytest.raises(ValueError, match="monotonic"):
        control.tick(float("nan"))


@pytest.mark.parametrize("debounce, hold", [(0.0, 2.0), (-1, 2.0), (0.5, 0.5), (0.03, float("inf"))])
def test_nonsense_timings_are_refused(debounce, hold):
    with pytest.raises(ValueError):
        PushButton(debounce, hold)


# --- push button: random bounce trains -----------------------------------------------------

# gaps between bounces, as fractions of the debounce time: always shorter than it
bounce_gaps = st.lists(st.floats(min_value=0.02, max_value=0.95), min_size=0, max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=1e6), bounce_gaps)
def test_a_bounce_train_is_one_down_and_at_most_one_press(start, fractions):
    times = [start]
    for f in fractions:
        times.append(times[-1] + f * DEB)
    edges = [(i % 2 == 0, t) for i, t in enumerate(times)]  # pressed, released, pressed, ...
    b = PushButton(DEB, HOLD)
    events = drive(b, edges, until=times[-1] + 1.0)
    ended_pressed = edges[-1][0]
    assert events[0] == Event("down", start)
    expected = ["down", "press"] if ended_pressed else ["down", "up"]
    assert kinds(events) == expected
    assert events[1].at == pytest.approx(times[-1] + DEB)


# edges with any spacing, some repeated levels (a pin may report the same level twice)
edge_trains = st.lists(
    st.tuples(st.booleans(), st.floats(min_value=0.001, max_value=3.0)), min_size=1, max_size=40
).map(lambda raw: [(level, sum(g for _, g in raw[: i + 1])) for i, (level, _) in enumerate(raw)])


@settings(max_examples=200, deadline=None)
@given(edge_trains)
def test_events_do_not_depend_on_when_the_caller_ticks(edges):
    end = edges[-1][1] + 5.0
    prompt = drive(PushButton(DEB, HOLD), edges, until=end)
    lazy_button = PushButton(DEB, HOLD)
    lazy = [e for level, at in edges for e in lazy_button.edge(level, at)] + lazy_button.tick(end)
    assert [(e.kind, round(e.at, 9)) for e in prompt] == [(e.kind, round(e.at, 9)) for e in lazy]


@settings(max_examples=200, deadline=None)
@given(edge_trains)
def test_every_cycle_is_down_then_maybe_press_then_maybe_hold_then_up(edges):
    events = drive(PushButton(DEB, HOLD), edges, until=edges[-1][1] + 5.0)
    times = [e.at for e in events]
    assert times == sorted(times)
    text = " ".join(kinds(events))
    cycles = [c.strip() for c in text.split("up") if c.strip()]
    for cycle in cycles:
        assert cycle in ("down", "down press", "down press hold"), text
    # the train ends with five quiet seconds, so the last cycle has ended iff released
    assert bool(text) == any(level for level, _ in edges)
    if text:
        assert text.endswith("up") == (not edges[-1][0])
    for event in events:
        if event.kind == "hold":
            press = max(e.at for e in events if e.kind == "press" and e.at <= event.at)
            assert event.at >= press - DEB + HOLD - 1e-9


# --- toggle switch -------------------------------------------------------------------------


def test_switch_cuts_on_the_first_edge_towards_open():
    sw = ToggleSwitch(DEB, closed_at_start=True)
    assert sw.position == "auto" and sw.next_deadline() is None
    assert sw.edge(False, 1.0) == [Event("cut", 1.0)]
    assert sw.position == "cut"


def test_switch_bouncing_into_cut_cuts_once_and_stays_cut():
    sw = ToggleSwitch(DEB, closed_at_start=True)
    events = drive(sw, [(False, 1.0), (True, 1.005), (False, 1.012), (True, 1.02), (False, 1.03)], until=5.0)
    assert events == [Event("cut", 1.0)]
    assert sw.position == "cut"


def test_switch_returns_to_auto_only_once_closed_is_stable():
    sw = ToggleSwitch(DEB, closed_at_start=False)
    assert sw.position == "cut"
    assert sw.edge(True, 1.0) == []
    assert sw.tick(1.029) == [] and sw.position == "cut"
    assert sw.edge(False, 1.0295) == [] and sw.next_deadline() is None
    sw.edge(True, 1.04)
    assert sw.tick(1.07) == [Event("auto", pytest.approx(1.07))]
    assert sw.position == "auto"


def test_a_glitch_on_the_auto_position_cuts_then_recovers():
    sw = ToggleSwitch(DEB, closed_at_start=True)
    events = drive(sw, [(False, 1.0), (True, 1.001)], until=2.0)
    assert events == [Event("cut", 1.0), Event("auto", pytest.approx(1.031))]


def test_a_broken_wire_at_start_is_cut():
    sw = ToggleSwitch(closed_at_start=False)
    assert sw.position == "cut" and sw.next_deadline() is None
    assert sw.tick(100.0) == []
