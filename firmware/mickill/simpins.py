"""Simulated mode's physical world on gpiozero's MockFactory: a finger on the button or switch
and relay contacts that follow the coil, all driven from one worker thread as on a real Pi."""

import heapq
import itertools
import logging
import threading
import time

from gpiozero.pins.mock import MockFactory

from .config import Config
from .hardware import Hardware, HardwareError

log = logging.getLogger(__name__)

# How long the simulated contacts take to follow the coil; a small real relay takes 5-10 ms.
SETTLE_S = 0.005
# A drive that has not happened by then means the worker is stuck or gone.
DRIVE_TIMEOUT_S = 5.0
SWITCH_POSITIONS = ("cut", "auto")


class _Job:
    def __init__(self, action, wanted: bool):
        self.action = action
        self.done = threading.Event() if wanted else None
        self.error = None


class SimulatedWorld:
    """Drives the mock pins of `hardware` the way wires and fingers would.

    MockPin runs edge callbacks synchronously in the thread that drives it; on a Pi they arrive
    on the pin library's thread. So every drive happens on this world's own worker thread, and
    the public methods return once their drive has happened."""

    def __init__(self, hardware: Hardware, factory: MockFactory, config: Config):
        if not isinstance(factory, MockFactory):
            raise HardwareError(
                "the simulated world needs gpiozero's MockFactory; it cannot drive real pins")
        self._hardware = hardware
        self._config = config
        self._relay_pin = factory.pin(config.relay.pin)
        self._control_pin = factory.pin(config.control.pin)
        self._led_pin = None if config.led.pin is None else factory.pin(config.led.pin)
        self._sense_pin = None if config.sense.pin is None else factory.pin(config.sense.pin)
        self._sense_fault = False
        self._queue = []  # heap of (due monotonic, sequence, job)
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="mickill-sim-pins", daemon=True)
        self._worker.start()
        hardware.add_relay_listener(self._relay_moved)
        self._submit(self._follow_relay, wait=True)

    # -- the worker ---------------------------------------------------------------------------

    def _run(self):
        while True:
            with self._wake:
                while True:
                    if self._stopping:
                        return
                    if self._queue:
                        delay = self._queue[0][0] - time.monotonic()
                        if delay <= 0:
                            _, _, job = heapq.heappop(self._queue)
                            break
                        self._wake.wait(delay)
                    else:
                        self._wake.wait()
            try:
                job.action()
            except Exception as error:  # handed to the caller; never kills the worker
                job.error = error
                if job.done is None:
                    log.exception("simulated pin drive failed")
            if job.done is not None:
                job.done.set()

    def _submit(self, action, wait: bool, delay: float = 0.0):
        if wait and threading.current_thread() is self._worker:
            # A callback that drives a pin again: already on the right thread, and waiting on
            # the queue from here would wait for ourselves.
            action()
            return
        job = _Job(action, wait)
        with self._wake:
            if self._stopping:
                raise HardwareError("the simulated world is closed; start mickill again to drive its pins")
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._sequence), job))
            self._wake.notify()
        if wait:
            if not job.done.wait(DRIVE_TIMEOUT_S):
                raise HardwareError(f"a simulated pin drive did not happen within {DRIVE_TIMEOUT_S} s")
            if job.error is not None:
                raise job.error

    # -- the physical control -----------------------------------------------------------------

    def _drive_control(self, active: bool):
        # With the pull-up, a closed contact pulls the pin to ground.
        high = (not active) if self._config.control.pull_up else active
        if high:
            self._control_pin.drive_high()
        else:
            self._control_pin.drive_low()

    def press(self):
        """Close the button's contact, as a finger would."""
        self._submit(lambda: self._drive_control(True), wait=True)

    def release(self):
        """Let the button's contact open again."""
        self._submit(lambda: self._drive_control(False), wait=True)

    def set_switch(self, position: str):
        """Flip the latching switch: "cut" opens it, "auto" closes it."""
        if position not in SWITCH_POSITIONS:
            raise HardwareError(f"switch position {position!r} is unknown; use \"cut\" or \"auto\"")
        if self._config.control.kind != "switch":
            raise HardwareError(
                'the control is a button (control.kind = "button"); press and release it instead')
        self._submit(lambda: self._drive_control(position == "auto"), wait=True)

    # -- the relay's contacts -----------------------------------------------------------------

    def _relay_moved(self, live: bool):
        # Called on the commanding thread: the contacts move later, on the worker.
        try:
            self._submit(self._follow_relay, wait=False, delay=SETTLE_S)
        except HardwareError:
            pass  # the world is closed; no contacts left to move

    def _follow_relay(self):
        if self._sense_pin is None or self._sense_fault:
            return
        closed = self._hardware.relay_live
        high = closed if self._config.sense.active_high else not closed
        if high:
            self._sense_pin.drive_high()
        else:
            self._sense_pin.drive_low()

    def set_sense_fault(self, on: bool):
        """While on, the sense contact is stuck at its current reading; off, it follows again."""

        def apply():
            self._sense_fault = bool(on)
            self._follow_relay()

        self._submit(apply, wait=True)

    @property
    def sense_fault(self) -> bool:
        return self._sense_fault

    # -- looking at it ------------------------------------------------------------------------

    def pins(self) -> dict:
        """Raw pin levels, for a simulator view: relay, led, control, and sense (None if absent)."""
        return {
            "relay": bool(self._relay_pin.state),
            "led": bool(self._led_pin.state) if self._led_pin is not None else False,
            "sense": bool(self._sense_pin.state) if self._sense_pin is not None else None,
            "control": bool(self._control_pin.state),
        }

    def close(self):
        """Stop the worker; pending contact moves are dropped. Safe to call twice."""
        with self._wake:
            self._stopping = True
            for _, _, job in self._queue:
                if job.done is not None:
                    job.error = HardwareError("the simulated world closed before this drive happened")
                    job.done.set()
            self._queue.clear()
            self._wake.notify()
        if threading.current_thread() is not self._worker:
            self._worker.join(DRIVE_TIMEOUT_S)
