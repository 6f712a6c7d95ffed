"""The gpiozero devices (relay, control input, LED, sense input) and the choice of pin factory.

The only module that imports gpiozero. The relay is created first and de-energized (mic cut)."""

import logging
import os
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path

from gpiozero import LED, DigitalInputDevice, OutputDevice
from gpiozero.exc import GPIOZeroError
from gpiozero.pins.mock import MockFactory

from .config import Config
from .errors import MickillError

log = logging.getLogger(__name__)

MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))
# The real pin libraries, in the order gpiozero itself prefers them.
PI_FACTORIES = (
    ("lgpio", "gpiozero.pins.lgpio", "LGPIOFactory"),
    ("rpigpio", "gpiozero.pins.rpigpio", "RPiGPIOFactory"),
)
LED_MODES = ("on", "off", "slow-blink", "fast-blink")
# (on, off) seconds: slow is 1 Hz, fast is 5 Hz.
_BLINK = {"slow-blink": (0.5, 0.5), "fast-blink": (0.1, 0.1)}


class HardwareError(MickillError):
    """GPIO could not be set up; the message says what to install or rewire."""


def is_raspberry_pi(model_files=MODEL_FILES) -> bool:
    """True when the device tree names this board a Raspberry Pi."""
    for path in model_files:
        try:
            if "Raspberry Pi" in Path(path).read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def _factory_from_env(name: str):
    """Build the factory GPIOZERO_PIN_FACTORY names, looked up as gpiozero does (verbatim name,
    then lower case), so any factory gpiozero accepts is accepted here."""
    group = entry_points(group="gpiozero_pin_factories")
    for wanted in (name, name.lower()):
        for entry in group:
            if entry.name == wanted:
                try:
                    return entry.load()()
                except Exception as error:
                    raise HardwareError(
                        f"GPIOZERO_PIN_FACTORY={name}: the pin factory could not start ({error}); "
                        "install its library or unset GPIOZERO_PIN_FACTORY") from error
    known = ", ".join(sorted({entry.name for entry in group}))
    raise HardwareError(
        f"GPIOZERO_PIN_FACTORY={name} names no pin factory; use one of {known}, or unset it")


def _pi_factory():
    reasons = []
    for name, module_name, class_name in PI_FACTORIES:
        try:
            module = __import__(module_name, fromlist=[class_name])
            return getattr(module, class_name)(), name
        except Exception as error:
            reasons.append(f"{name}: {error}")
    raise HardwareError(
        "this is a Raspberry Pi but no GPIO library could be loaded (" + "; ".join(reasons) + "). "
        "Install one: `sudo apt install python3-lgpio`, or `pip install lgpio` (or RPi.GPIO) in "
        "mickill's venv. mickill never falls back to simulated pins on a Pi; to simulate on "
        "purpose, set GPIOZERO_PIN_FACTORY=mock.")


def choose_pin_factory(simulate: bool | None, env=os.environ, on_pi: bool | None = None):
    """Return (factory, simulated, why).

    simulate=True forces the mock; False demands real pins; None decides: GPIOZERO_PIN_FACTORY
    if set, else real pins on a Pi and the mock elsewhere. On a Pi a missing pin library is an
    error, never a silent simulation."""
    if simulate:
        factory, why = MockFactory(), "simulation requested"
    elif env.get("GPIOZERO_PIN_FACTORY"):
        name = env["GPIOZERO_PIN_FACTORY"]
        factory, why = _factory_from_env(name), f"GPIOZERO_PIN_FACTORY={name}"
        if simulate is False and isinstance(factory, MockFactory):
            raise HardwareError(
                f"real pins were demanded but GPIOZERO_PIN_FACTORY={name} is simulated; "
                "unset GPIOZERO_PIN_FACTORY or allow simulation")
    else:
        if on_pi is None:
            on_pi = is_raspberry_pi()
        if on_pi:
            factory, name = _pi_factory()
            why = f"Raspberry Pi, {name}"
        elif simulate is False:
            raise HardwareError(
                "real pins were demanded but this is not a Raspberry Pi (no device-tree model "
                "names one); allow simulation, or set GPIOZERO_PIN_FACTORY to a factory for this board")
        else:
            factory, why = MockFactory(), "not a Raspberry Pi"
    simulated = isinstance(factory, MockFactory)
    if simulated:
        log.warning("SIMULATED GPIO (%s): no relay is switched", why)
    return factory, simulated, why


class Hardware:
    """The devices of one config on one pin factory. The relay starts de-energized (mic cut)."""

    def __init__(self, config: Config, factory):
        self._lock = threading.Lock()
        self._closed = False
        self._live = False
        self._led_mode = "off"
        self._relay_listeners = []
        self.relay = self.control = self.led = self.sense = None
        # The relay first, de-energized, so nothing below can leave the mic live.
        self.relay = self._make(
            "relay.pin", OutputDevice, config.relay.pin,
            active_high=config.relay.active_high, initial_value=False, pin_factory=factory)
        try:
            self.control = self._make(
                "control.pin", DigitalInputDevice, config.control.pin,
                pull_up=config.control.pull_up, bounce_time=None, pin_factory=factory)
            if config.led.pin is not None:
                self.led = self._make(
                    "led.pin", LED, config.led.pin,
                    active_high=config.led.active_high, initial_value=False, pin_factory=factory)
            if config.sense.pin is not None:
                # Pulled towards "contacts open", so a broken sense wire reads as cut, not live.
                self.sense = self._make(
                    "sense.pin", DigitalInputDevice, config.sense.pin,
                    pull_up=not config.sense.active_high, bounce_time=None, pin_factory=factory)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _make(key, kind, pin, **options):
        try:
            return kind(pin, **options)
        except GPIOZeroError as error:
            raise HardwareError(
                f"{key} = {pin}: cannot use this pin as {kind.__name__} ({error}); "
                f"choose another pin for {key} in the config file") from error

    def set_relay(self, live: bool) -> None:
        """Energize (live=True, mic live) or release (mic cut) the relay."""
        with self._lock:
            if self._closed:
                if live:
                    raise HardwareError("the relay is closed; restart mickill to switch it again")
                return
            self.relay.value = bool(live)
            self._live = bool(live)
            listeners = list(self._relay_listeners)
        for listener in listeners:
            listener(bool(live))

    @property
    def relay_live(self) -> bool:
        """The relay as commanded: True when energized (mic live)."""
        return self._live

    def add_relay_listener(self, callback) -> None:
        """callback(live) after every relay command, on the commanding thread (the simulated
        world uses this to move its sense contact)."""
        self._relay_listeners.append(callback)

    def set_led(self, mode: str) -> None:
        """"on", "off", "slow-blink" (1 Hz) or "fast-blink" (5 Hz); remembered without an LED."""
        if mode not in LED_MODES:
            raise HardwareError(f"LED mode {mode!r} is unknown; use one of {', '.join(LED_MODES)}")
        with self._lock:
            if self._closed or mode == self._led_mode:
                return
            self._led_mode = mode
            if self.led is None:
                return
            if mode == "on":
                self.led.on()
            elif mode == "off":
                self.led.off()
            else:
                on_time, off_time = _BLINK[mode]
                self.led.blink(on_time=on_time, off_time=off_time, background=True)

    @property
    def led_mode(self) -> str:
        return self._led_mode

    def control_is_active(self) -> bool:
        """The raw control input: button pressed, or switch closed (auto)."""
        return bool(self.control.is_active)

    def sense_live(self) -> bool | None:
        """Whether the relay's contacts read closed (mic live); None without a sense input."""
        return None if self.sense is None else bool(self.sense.is_active)

    def on_control_edge(self, callback) -> None:
        """callback(active, at_monotonic) on every raw edge, both ways, undebounced, on whatever
        thread the pin library uses."""
        self._watch(self.control, callback)

    def on_sense_edge(self, callback) -> None:
        """callback(live, at_monotonic) on every raw edge of the sense input (if there is one)."""
        if self.sense is not None:
            self._watch(self.sense, callback)

    @staticmethod
    def _watch(device, callback):
        # The pin libraries' tick bases differ (lgpio: its own ns clock, RPi.GPIO: none), so the
        # instant is read here, on one clock the daemon shares.
        device.when_activated = lambda: callback(True, time.monotonic())
        device.when_deactivated = lambda: callback(False, time.monotonic())

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the relay (mic cut) first, then close every device. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self.relay is not None:
                    self.relay.off()
                    self._live = False
            finally:
                for device in (self.led, self.control, self.sense, self.relay):
                    if device is not None:
                        device.close()
