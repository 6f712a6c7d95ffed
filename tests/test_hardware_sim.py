"""Simulated mode's world: edges arrive on another thread, as on a Pi; the sense contact follows
the relay a few milliseconds later unless it is stuck."""

import threading
import time

import pytest

from mickill.config import Config, parse
from mickill.hardware import Hardware, HardwareError
from mickill.simpins import SETTLE_S, SimulatedWorld


@pytest.fixture
def world(mock_factory):
    made = []

    def build(config=None):
        config = config or Config()
        hw = Hardware(config, mock_factory)
        sim = SimulatedWorld(hw, mock_factory, config)
        made.append((hw, sim))
        return hw, sim

    yield build
    for hw, sim in made:
        sim.close()
        hw.close()


def wait_for(condition, timeout=1.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


class Recorder:
    """An edge callback that notes the value, the instant and the thread of each call."""

    def __init__(self):
        self.calls = []

    def __call__(self, value, at):
        self.calls.append((value, at, threading.current_thread()))


@pytest.mark.parametrize("pull_up", [True, False])
def test_press_and_release_reach_the_callback_on_another_thread(world, pull_up):
    hw, sim = world(parse({"control": {"pull_up": pull_up}}))
    edges = Recorder()
    hw.on_control_edge(edges)
    before = time.monotonic()
    sim.press()
    # press() returns once the drive has happened: no waiting needed.
    assert hw.control_is_active() is True and len(edges.calls) == 1
    assert sim.pins()["control"] is (not pull_up)  # a pull-up button pulls the pin to ground
    sim.release()
    after = time.monotonic()
    assert hw.control_is_active() is False and sim.pins()["control"] is pull_up
    assert [value for value, _, _ in edges.calls] == [True, False]
    for _, at, thread in edges.calls:
        assert before <= at <= after
        assert thread is not threading.main_thread() and thread.name == "mickill-sim-pins"


def test_a_repeated_press_makes_no_second_edge(world):
    hw, sim = world()
    edges = Recorder()
    hw.on_control_edge(edges)
    sim.press()
    sim.press()
    assert [value for value, _, _ in edges.calls] == [True]


def test_a_callback_may_drive_pins_itself_without_deadlock(world):
    hw, sim = world()
    seen = []

    def bounce_back(active, at):
        seen.append(active)
        if active:
            sim.release()  # runs on the worker thread, inline

    hw.on_control_edge(bounce_back)
    sim.press()
    assert seen == [True, False] and hw.control_is_active() is False


def test_an_error_in_a_callback_reaches_the_caller_and_the_world_goes_on(world):
    hw, sim = world()

    def broken(active, at):
        if active:
            raise RuntimeError("callback broke")

    hw.on_control_edge(broken)
    with pytest.raises(RuntimeError, match="callback broke"):
        sim.press()
    sim.release()
    assert hw.control_is_active() is False


def test_the_switch_closes_for_auto_and_opens_for_cut(world):
    hw, sim = world(parse({"control": {"kind": "switch"}}))
    edges = Recorder()
    hw.on_control_edge(edges)
    sim.set_switch("auto")
    assert hw.control_is_active() is True
    sim.set_switch("cut")
    assert hw.control_is_active() is False
    assert [value for value, _, _ in edges.calls] == [True, False]
    with pytest.raises(HardwareError, match="'middle'.*\"cut\" or \"auto\""):
        sim.set_switch("middle")


def test_a_button_has_no_switch_positions(world):
    _, sim = world()
    with pytest.raises(HardwareError, match="control is a button"):
        sim.set_switch("auto")


@pytest.mark.parametrize("active_high", [True, False])
def test_the_sense_contact_follows_the_relay_a_few_ms_later_on_another_thread(world, active_high):
    hw, sim = world(parse({"sense": {"pin": 23, "active_high": active_high}}))
    edges = Recorder()
    hw.on_sense_edge(edges)
    assert hw.sense_live() is False and sim.pins()["sense"] is (not active_high)
    commanded = time.monotonic()
    hw.set_relay(True)
    assert wait_for(lambda: hw.sense_live() is True)
    assert sim.pins() == {"relay": True, "led": False, "sense": active_high, "control": True}
    hw.set_relay(False)
    assert wait_for(lambda: hw.sense_live() is False)
    assert [value for value, _, _ in edges.calls] == [True, False]
    live_at, live_thread = edges.calls[0][1], edges.calls[0][2]
    assert live_at - commanded >= SETTLE_S * 0.9  # the contacts lag the coil
    assert live_thread is not threading.main_thread()


def test_a_sense_fault_freezes_the_contact_until_cleared(world):
    hw, sim = world(parse({"sense": {"pin": 23}}))
    hw.set_relay(True)
    assert wait_for(lambda: hw.sense_live() is True)
    sim.set_sense_fault(True)
    assert sim.sense_fault
    hw.set_relay(False)
    time.sleep(SETTLE_S * 10)
    assert hw.sense_live() is True  # stuck closed: the mic may be live although commanded cut
    sim.set_sense_fault(False)
    # Clearing the fault puts the contact back where the coil says, before returning.
    assert hw.sense_live() is False and not sim.sense_fault


def test_pins_reports_raw_levels(world, mock_factory):
    hw, sim = world()
    assert sim.pins() == {"relay": False, "led": False, "sense": None, "control": True}
    hw.set_relay(True)
    hw.set_led("on")
    sim.press()
    assert sim.pins() == {"relay": True, "led": True, "sense": None, "control": False}


def test_the_world_needs_the_mock_factory(mock_factory):
    hw = Hardware(Config(), mock_factory)
    try:
        with pytest.raises(HardwareError, match="MockFactory"):
            SimulatedWorld(hw, object(), Config())
    finally:
        hw.close()


def test_a_closed_world_refuses_drives_and_closes_twice(world):
    hw, sim = world(parse({"sense": {"pin": 23}}))
    sim.close()
    sim.close()
    with pytest.raises(HardwareError, match="closed"):
        sim.press()
    hw.set_relay(True)  # the relay still works; its contacts just no longer move
    time.sleep(SETTLE_S * 4)
    assert hw.sense_live() is False
