"""The gpiozero layer on MockFactory: the relay's safe start, LED modes, close, factory choice."""

import logging
import time
from dataclasses import replace

import pytest
from gpiozero.pins.mock import MockFactory

from mickill.config import Config, LedConfig, RelayConfig, parse
from mickill.errors import MickillError
from mickill.hardware import Hardware, HardwareError, choose_pin_factory, is_raspberry_pi


def states(pin):
    return [s.state for s in pin.states]


@pytest.fixture
def hardware(mock_factory):
    made = []

    def build(config=None):
        hw = Hardware(config or Config(), mock_factory)
        made.append(hw)
        return hw

    yield build
    for hw in made:
        hw.close()


def test_relay_starts_de_energized_when_active_high(hardware, mock_factory):
    hw = hardware()
    pin = mock_factory.pin(17)
    assert pin.function == "output" and pin.state is False
    # Never driven high, not even for a moment.
    assert states(pin) == [False] and len(pin.states) == 1
    assert hw.relay_live is False


def test_relay_starts_de_energized_when_active_low(hardware, mock_factory):
    hw = hardware(Config(relay=RelayConfig(active_high=False)))
    pin = mock_factory.pin(17)
    # The mock pin begins low; the relay drives it high (released) once and only once.
    assert pin.state is True
    assert states(pin) == [False, True] and len(pin.states) == 2
    assert hw.relay_live is False


@pytest.mark.parametrize("active_high", [True, False])
def test_set_relay_energizes_and_releases(hardware, mock_factory, active_high):
    hw = hardware(Config(relay=RelayConfig(active_high=active_high)))
    pin = mock_factory.pin(17)
    pin.clear_states()
    hw.set_relay(True)
    assert hw.relay_live is True and pin.state is active_high
    hw.set_relay(True)  # no second edge for the same command
    hw.set_relay(False)
    assert hw.relay_live is False and pin.state is (not active_high)
    expected = [not active_high, active_high, not active_high]
    assert states(pin) == expected and len(pin.states) == len(expected)


def test_a_pin_that_cannot_be_used_leaves_the_relay_cut_and_names_the_key(mock_factory):
    # GPIO 2 has a fixed pull-up (I2C): a pulled-down control on it must fail after the relay exists.
    config = parse({"relay": {"active_high": False}, "control": {"pin": 2, "pull_up": False}})
    with pytest.raises(HardwareError, match=r"control\.pin = 2") as raised:
        Hardware(config, mock_factory)
    assert isinstance(raised.value, MickillError)
    relay = mock_factory.pin(17)
    assert relay.state is True and states(relay) == [False, True]  # released, the safe level
    # Everything was closed again: the pins can be claimed afresh.
    Hardware(Config(relay=RelayConfig(active_high=False)), mock_factory).close()


@pytest.mark.parametrize("pull_up, pull, pressed", [(True, "up", "drive_low"), (False, "down", "drive_high")])
def test_control_input_reads_the_raw_contact(hardware, mock_factory, pull_up, pull, pressed):
    hw = hardware(parse({"control": {"pull_up": pull_up}}))
    pin = mock_factory.pin(27)
    assert pin.pull == pull and hw.control_is_active() is False
    getattr(pin, pressed)()
    assert hw.control_is_active() is True


def test_sense_is_none_without_an_input(hardware):
    assert hardware().sense_live() is None


@pytest.mark.parametrize("active_high", [True, False])
def test_sense_reads_contacts_closed_as_live(hardware, mock_factory, active_high):
    hw = hardware(parse({"sense": {"pin": 23, "active_high": active_high}}))
    pin = mock_factory.pin(23)
    # A disconnected sense wire reads as "contacts open", never as live.
    assert pin.pull == ("down" if active_high else "up") and hw.sense_live() is False
    (pin.drive_high if active_high else pin.drive_low)()
    assert hw.sense_live() is True


def test_led_on_and_off(hardware, mock_factory):
    hw = hardware()
    pin = mock_factory.pin(22)
    assert hw.led_mode == "off" and pin.state is False
    hw.set_led("on")
    assert hw.led_mode == "on" and pin.state is True
    hw.set_led("off")
    assert hw.led_mode == "off" and pin.state is False
    assert states(pin) == [False, True, False]


def test_led_active_low_inverts(hardware, mock_factory):
    hw = hardware(Config(led=LedConfig(active_high=False)))
    pin = mock_factory.pin(22)
    assert pin.state is True
    hw.set_led("on")
    assert pin.state is False


@pytest.mark.parametrize("mode, half_period, watch", [("fast-blink", 0.1, 0.45), ("slow-blink", 0.5, 0.7)])
def test_led_blinks_at_its_rate_in_the_background(hardware, mock_factory, mode, half_period, watch):
    hw = hardware()
    pin = mock_factory.pin(22)
    pin.clear_states()
    hw.set_led(mode)  # returns at once: the blinking is gpiozero's thread
    assert hw.led_mode == mode
    time.sleep(watch)
    seen = list(pin.states[1:])
    hw.set_led("off")
    assert len(seen) >= int(watch / half_period) + 1
    assert [s.state for s in seen] == [True, False] * (len(seen) // 2) + [True] * (len(seen) % 2)
    for change in seen[1:]:  # each change's time since the one before
        assert change.timestamp == pytest.approx(half_period, abs=0.05)
    settled = len(pin.states)
    time.sleep(0.15)
    assert len(pin.states) == settled and pin.state is False  # "off" stopped the blinking


def test_led_mode_is_remembered_without_an_led(hardware):
    hw = hardware(Config(led=LedConfig(pin=None)))
    hw.set_led("fast-blink")
    assert hw.led_mode == "fast-blink" and hw.led is None


def test_an_unknown_led_mode_is_refused(hardware):
    with pytest.raises(HardwareError, match="'blink'.*slow-blink"):
        hardware().set_led("blink")


def test_close_cuts_the_relay_first_and_is_safe_twice(mock_factory):
    hw = Hardware(parse({"sense": {"pin": 23}}), mock_factory)
    hw.set_relay(True)
    hw.set_led("fast-blink")
    relay = mock_factory.pin(17)
    hw.close()
    assert relay.state is False and hw.relay_live is False and hw.closed
    assert states(relay)[-2:] == [True, False]
    assert all(d.closed for d in (hw.relay, hw.control, hw.led, hw.sense))
    hw.close()
    hw.set_relay(False)  # cutting a closed relay is harmless
    with pytest.raises(HardwareError, match="restart"):
        hw.set_relay(True)
    assert relay.state is False


def test_close_releases_the_pins_for_a_new_hardware(mock_factory):
    Hardware(Config(), mock_factory).close()
    again = Hardware(Config(), mock_factory)
    again.close()


# -- choosing the pin factory ----------------------------------------------------------------


def test_simulate_true_gives_the_mock(caplog):
    with caplog.at_level(logging.WARNING, logger="mickill.hardware"):
        factory, simulated, why = choose_pin_factory(True, env={}, on_pi=True)
    assert isinstance(factory, MockFactory) and simulated and why == "simulation requested"
    assert "SIMULATED GPIO" in caplog.text


def test_off_a_pi_with_nothing_set_gives_the_mock():
    factory, simulated, why = choose_pin_factory(None, env={}, on_pi=False)
    assert isinstance(factory, MockFactory) and simulated and why == "not a Raspberry Pi"


@pytest.mark.parametrize("name", ["mock", "MOCK"])
def test_the_environment_variable_is_honoured(name):
    # on_pi=True: the variable wins even where real pins would otherwise be tried.
    factory, simulated, why = choose_pin_factory(None, env={"GPIOZERO_PIN_FACTORY": name}, on_pi=True)
    assert isinstance(factory, MockFactory) and simulated and why == f"GPIOZERO_PIN_FACTORY={name}"


def test_the_environment_variable_naming_no_factory_is_an_error():
    with pytest.raises(HardwareError, match="GPIOZERO_PIN_FACTORY=bogus names no pin factory.*mock"):
        choose_pin_factory(None, env={"GPIOZERO_PIN_FACTORY": "bogus"}, on_pi=False)


def test_the_environment_variable_naming_an_unusable_factory_is_an_error():
    with pytest.raises(HardwareError, match="GPIOZERO_PIN_FACTORY=pigpio.*could not start"):
        choose_pin_factory(None, env={"GPIOZERO_PIN_FACTORY": "pigpio"}, on_pi=False)


def test_on_a_pi_without_a_pin_library_it_never_falls_back_to_the_mock():
    if is_raspberry_pi():
        pytest.skip("this machine is a Pi and may have a working pin library")
    with pytest.raises(HardwareError) as raised:
        choose_pin_factory(None, env={}, on_pi=True)
    message = str(raised.value)
    assert "no GPIO library" in message and "python3-lgpio" in message and "lgpio:" in message


def test_real_pins_demanded_off_a_pi_is_an_error():
    with pytest.raises(HardwareError, match="not a Raspberry Pi"):
        choose_pin_factory(False, env={}, on_pi=False)
    with pytest.raises(HardwareError, match="GPIOZERO_PIN_FACTORY=mock is simulated"):
        choose_pin_factory(False, env={"GPIOZERO_PIN_FACTORY": "mock"}, on_pi=False)


def test_is_raspberry_pi_reads_the_device_tree_model(tmp_path):
    pi, other, missing = tmp_path / "pi", tmp_path / "other", tmp_path / "missing"
    pi.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    other.write_bytes(b"Pine64 RockPro64\x00")
    assert is_raspberry_pi([missing, pi]) is True
    assert is_raspberry_pi([other, missing]) is False
    assert is_raspberry_pi([]) is False
