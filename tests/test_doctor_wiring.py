"""The doctor's relay and button checks on gpiozero's mock pins, driven from other threads as a
Pi's pin library would: contacts that follow, never follow or stick; presses that bounce or
never come."""

import threading
import time

import pytest

from mickill import config as hardware_config
from mickill import doctor
from mickill.doctor_wiring import FAIL, PASS, WARN, check_control, check_relay, summarise_bounce
from mickill.hardware import Hardware
from mickill.simpins import SimulatedWorld


@pytest.fixture
def wired(mock_factory, config_file):
    """wired(extra_toml="") -> Hardware on mock pins with a sense input on BCM 23."""
    made = []

    def build(extra: str = "", sense: bool = True):
        text = ("[sense]\npin = 23\n" if sense else "") + extra
        devices = Hardware(hardware_config.load(config_file(text)), mock_factory)
        made.append(devices)
        return devices

    yield build
    for devices in made:
        devices.close()


def contacts(hardware, factory, *, close=True, open_again=True, delay=0.01):
    """Move the sense contact after the coil, on a timer thread; either way may be broken."""

    def moved(live):
        if (live and close) or (not live and open_again):
            pin = factory.pin(23)
            threading.Timer(delay, pin.drive_high if live else pin.drive_low).start()

    hardware.add_relay_listener(moved)


def relay_levels(factory):
    return [state.state for state in factory.pin(17).states]


def test_the_relay_passes_when_its_contacts_follow(wired, mock_factory):
    devices = wired()
    world = SimulatedWorld(devices, mock_factory, hardware_config.Config(sense=hardware_config.SenseConfig(pin=23)))
    try:
        check = check_relay(devices)
    finally:
        world.close()
    assert check.status == PASS and "contacts closed after" in check.detail
    assert relay_levels(mock_factory) == [False, True, False]
    assert not devices.relay_live


def test_the_relay_is_energized_for_the_pulse(wired, mock_factory):
    devices = wired(sense=False)
    check = check_relay(devices, pulse_s=0.3)
    assert check.status == PASS and "two clicks" in check.detail
    states = mock_factory.pin(17).states
    assert [s.state for s in states] == [False, True, False]
    assert 0.29 <= states[2].timestamp - states[1].timestamp < 0.5


def test_a_relay_that_never_switches_fails(wired, mock_factory):
    devices = wired()   # nothing moves the sense contact: a dead coil supply or driver
    check = check_relay(devices, pulse_s=0.05)
    assert check.status == FAIL and "did not close" in check.detail
    assert check.advice.startswith("the relay did not switch: check its supply and the driver")
    assert relay_levels(mock_factory)[-1] is False and not devices.relay_live


def test_welded_contacts_fail_on_the_way_back(wired, mock_factory):
    devices = wired()
    contacts(devices, mock_factory, open_again=False)
    check = check_relay(devices, pulse_s=0.05)
    assert check.status == FAIL and "did not open again" in check.detail
    # A second run sees the contacts still closed with the relay released, before clicking.
    again = check_relay(devices, pulse_s=0.05)
    assert again.status == FAIL and "welded" in again.advice
    assert relay_levels(mock_factory) == [False, True, False]


def test_contacts_slower_than_the_limit_fail(wired, mock_factory):
    devices = wired()
    contacts(devices, mock_factory, delay=0.2)
    check = check_relay(devices, pulse_s=0.3, follow_s=0.1)
    assert check.status == FAIL and "within 100 ms" in check.detail


def press_with_bounce(factory, pin=27, *, wait=0.05, gap=0.001, edges=5):
    """A finger on a pulled-up button: the contact chatters `edges` times, then stays closed."""

    def finger():
        time.sleep(wait)
        mock = factory.pin(pin)
        for n in range(edges):
            (mock.drive_low if n % 2 == 0 else mock.drive_high)()
            time.sleep(gap)

    thread = threading.Thread(target=finger)
    thread.start()
    return thread


def test_a_press_passes_and_its_bounce_is_reported(wired, mock_factory):
    devices = wired(sense=False)
    finger = press_with_bounce(mock_factory)
    check = check_control(devices, "button", 27, debounce_ms=30, timeout_s=5)
    finger.join()
    assert check.status == PASS and check.detail.startswith("pressed: 5 edges in the first 50 ms")
    bouncing = float(check.detail.split("bouncing for ")[1].split(" ms")[0])
    assert 3.0 <= bouncing < 30


def test_a_bounce_longer_than_the_debounce_is_a_warning(wired, mock_factory):
    devices = wired(sense=False)
    finger = press_with_bounce(mock_factory, gap=0.004, edges=5)
    check = check_control(devices, "button", 27, debounce_ms=5, timeout_s=5)
    finger.join()
    assert check.status == WARN and "debounce_ms" in check.advice


def test_no_press_fails_after_the_timeout(wired):
    devices = wired(sense=False)
    started = time.monotonic()
    check = check_control(devices, "button", 27, debounce_ms=30, timeout_s=0.2)
    assert 0.2 <= time.monotonic() - started < 1.0
    assert check.status == FAIL and "no press seen on BCM 27 in 0.2 s" in check.detail
    assert "ground" in check.advice


def test_a_switch_flip_is_named_as_such(wired, mock_factory):
    devices = wired('[control]\nkind = "switch"\n', sense=False)
    finger = press_with_bounce(mock_factory, edges=1)
    check = check_control(devices, "switch", 27, debounce_ms=30, timeout_s=5)
    finger.join()
    assert check.name == "switch" and check.status == PASS
    assert check.detail.startswith("closed (auto): 1 edge in the first 50 ms, bouncing for 0.0 ms")


def test_summarise_bounce_counts_only_the_window():
    edges = [(True, 10.0), (False, 10.002), (True, 10.004), (False, 10.2)]
    count, settle = summarise_bounce(edges, window_s=0.05)
    assert count == 3 and settle == pytest.approx(4.0)
    assert summarise_bounce([]) == (0, 0.0)


def test_the_runner_clicks_and_waits_on_mock_pins(mock_factory, config_file, tmp_path):
    path = config_file("[sense]\npin = 23\n[web]\nbind = \"127.0.0.1:9\"\n")
    options = doctor.Options(config_path=path, data_dir=tmp_path, click=True, button=True,
                             button_timeout=5, model_files=(tmp_path / "none",))
    said = []

    def prepare(devices, factory, config):
        contacts(devices, factory)
        return lambda: said.append("cleaned up")

    finger = press_with_bounce(mock_factory, wait=0.6)   # after the relay's 0.3 s click
    checks = {c.name: c for c in doctor.run_checks(options, factory=mock_factory, prepare=prepare,
                                                   announce=said.append)}
    finger.join()
    assert checks["relay"].status == PASS and checks["button"].status == PASS
    assert checks["daemon"].status == WARN       # stopped on purpose for the wiring checks
    assert said[0].startswith("press the button now") and said[-1] == "cleaned up"
    assert not doctor.failed(list(checks.values()))
    assert mock_factory.pin(17).state is False
