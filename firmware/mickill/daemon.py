"""The daemon's event loop: the one thread that owns the relay's state.

Button edges, timers, socket requests and clock changes all arrive here as events. Each turn of
the loop asks the pure policy what the mic should be and drives the relay to match, recording
every change in the ledger. Nothing here blocks: the longest wait is the selector's timeout.
"""

import json
import logging
import os
import queue
import selectors
import sys
import time
from dataclasses import replace
from datetime import timedelta, timezone

from . import host, policy, schedule
from .button import PushButton, ToggleSwitch
from .clock import ClockTrust, JumpDetector, WallClock
from .control import ControlServer
from .errors import Refused
from .paths import socket_path
from .systemd import Notifier

log = logging.getLogger("mickill")

TICK_S = 0.5                 # longest sleep: wall-clock jumps and clock trust are seen within it
SWEEP_EVERY_S = 5.0
GIL_SWITCH_S = 0.0002
DEFAULT_SETTINGS = {"default_unmute_s": 900, "hold_s": 2.0, "clock_policy": None}


class Daemon:
    """Owns the relay. `hardware` is a mickill.hardware.Hardware, `world` the simulated pins
    (None on real hardware), `store` a mickill.store.Store."""

    def __init__(self, *, config, data_dir, hardware, store, simulated: bool, world=None,
                 factory_reason: str = "", clock: WallClock | None = None, notifier=None):
        self.config = config
        self.data_dir = data_dir
        self.hardware = hardware
        self.store = store
        self.simulated = simulated
        self.world = world
        self.factory_reason = factory_reason
        self.clock = clock or WallClock()
        self.notifier = notifier or Notifier()
        self.selector = selectors.DefaultSelector()
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wake_pipe)
        self._stopping = False

        self.settings = {**DEFAULT_SETTINGS, **store.settings()}
        self.trust = ClockTrust(self._clock_policy(), config.clock.sync_file, config.clock.kernel)
        self.jumps = JumpDetector(self.clock)
        self.schedule = self._load_schedule()
        debounce_s = config.control.debounce_ms / 1000
        if config.control.kind == "switch":
            self.switch = ToggleSwitch(debounce_s=debounce_s, closed_at_start=hardware.control_is_active())
            self.button = None
        else:
            self.switch = None
            self.button = PushButton(debounce_s=debounce_s, hold_s=float(self.settings["hold_s"]))
        self._press_consumed = False   # this press already muted or cleared a fault
        self.fault: str | None = None
        self._mismatch_since: float | None = None
        self._clock_trusted = self.trust.trusted()
        self._fast_cut_pending = False
        self._timers: list[tuple[float, object]] = []   # (monotonic deadline, callback)
        self._last_watchdog = 0.0
        self._last_sweep = time.monotonic()
        self._last_broadcast: dict | None = None
        self.override = policy.restore_after_restart(self._stored_override(), self.clock.now())
        self._save_override(self.override)
        self.decision: policy.Decision | None = None
        self.evaluation: schedule.Evaluation | None = None
        self.recorded_state = self._last_recorded_state()
        self.server: ControlServer | None = None
        self.operations = None
        self._accounts_worker = None

    # -- start and stop -------------------------------------------------------------------

    def _clock_policy(self) -> str:
        return self.clock_policy_for(self.settings.get("clock_policy"))

    def clock_policy_for(self, setting: str | None) -> str:
        """The policy in force for a `clock_policy` setting (None: the config file's)."""
        chosen = setting or self.config.clock.policy
        return chosen or ("trust" if self.simulated else "wait-sync")

    @property
    def clock_trusted(self) -> bool:
        return self._clock_trusted

    def _load_schedule(self) -> schedule.Schedule:
        text = self.store.schedule_text()
        if text:
            try:
                return schedule.loads(text)
            except Exception as exc:  # a schedule saved by an older version that no longer parses
                log.error("the saved schedule cannot be read (%s); using an empty one", exc)
        try:
            return schedule.empty(host.local_timezone())
        except Exception:  # a TZ variable that names no IANA zone
            return schedule.empty("UTC")

    def _stored_override(self):
        saved = self.store.override()
        if not saved:
            return None
        try:
            return policy.Override.from_json(json.dumps(saved))
        except (ValueError, KeyError, TypeError):
            return None

    def _save_override(self, override):
        self.store.save_override(json.loads(override.to_json()) if override else None)

    def _last_recorded_state(self) -> str:
        last = self.store.last_change_before(self.clock.now())
        if last is not None and last.state == "live":
            # The previous run ended without a clean stop while live. The relay has been cut
            # since this process started; say so honestly rather than leave the mic "live".
            self.store.record_change(self.clock.now(), "muted", "system",
                                     "restarted after an unclean stop")
        return "muted"

    def start(self):
        """Open the control socket and apply the current state; call once before run()."""
        from . import accounts
        from .operations import Operations

        accounts.ensure_schema(self.store)   # the panel's tables, before any request can use them
        # A GPIO callback thread must get the interpreter within a fraction of a millisecond,
        # even while this loop is busy answering clients (the default hand-over is 5 ms).
        sys.setswitchinterval(GIL_SWITCH_S)
        self.operations = Operations(self, panel_uid=host.uid_of(self.config.web.user))
        self.server = ControlServer(socket_path(self.data_dir), self.operations.handle, self.selector)
        self.hardware.on_control_edge(self._on_control_edge)
        if self.config.sense.pin is not None:
            self.hardware.on_sense_edge(lambda live, at: self.post(("sense", live, at)))
        self.store.record_event(self.clock.now(), "start", {
            "simulated": self.simulated, "pins": self.factory_reason, "clock_policy": self.trust.policy})
        self.reevaluate()
        self.notifier.ready(f"mic {self.decision.state}")

    def stop(self):
        self._stopping = True
        self._wake()

    def accounts_worker(self):
        """The thread that handles the panel's accounts, started on first use."""
        if self._accounts_worker is None:
            from .accounts_worker import AccountsWorker
            from .paths import database_path

            self._accounts_worker = AccountsWorker(database_path(self.data_dir), self.clock)
        return self._accounts_worker

    def close(self):
        """Cut the mic first, then close the ledger and the socket."""
        self.hardware.set_relay(False)
        now = self.clock.now()
        self.notifier.stopping()
        if self.recorded_state == "live":
            self.store.record_change(now, "muted", "system", "mickill stopped")
            self.recorded_state = "muted"
        self.store.record_event(now, "stop", {})
        if self._accounts_worker is not None:
            self._accounts_worker.close()
        if self.server is not None:
            self.server.close()
        self.selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- events from other threads --------------------------------------------------------

    def post(self, event: tuple):
        """Hand an event to the loop thread (callable from any thread)."""
        self.events.put(event)
        self._wake()

    def _wake(self):
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the loop is awake anyway

    def _drain_wake_pipe(self, _mask):
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _on_control_edge(self, active: bool, at: float):
        """Runs on the GPIO library's thread. Cutting never waits for the loop or a debounce."""
        cuts = (active and self.button is not None) or (not active and self.switch is not None)
        if cuts and self.hardware.relay_live:
            self._fast_cut_pending = True
            self.hardware.set_relay(False)
        self.post(("control", active, at))

    # -- the loop -------------------------------------------------------------------------

    def run(self):
        while not self._stopping:
            for key, mask in self.selector.select(self._timeout()):
                key.data(mask)
            self.process_events()
            self.tick()

    def _timeout(self) -> float:
        mono = time.monotonic()
        deadlines = [mono + TICK_S]
        if self.button is not None and self.button.next_deadline() is not None:
            deadlines.append(self.button.next_deadline())
        if self.switch is not None and self.switch.next_deadline() is not None:
            deadlines.append(self.switch.next_deadline())
        if self._mismatch_since is not None:
            deadlines.append(self._mismatch_since + self.config.sense.fault_ms / 1000)
        deadlines.extend(deadline for deadline, _ in self._timers)
        next_change = self._next_wall_change()
        if next_change is not None:
            deadlines.append(mono + (next_change - self.clock.now()).total_seconds())
        return max(0.0, min(deadlines) - mono)

    def _next_wall_change(self):
        # In UTC: aware datetimes of one zone compare by wall time, wrong in a repeated hour.
        candidates = []
        if self.evaluation is not None and self.evaluation.until is not None:
            candidates.append(self.evaluation.until)
        if self.override is not None and self.override.until is not None:
            candidates.append(self.override.until)
        return min(c.astimezone(timezone.utc) for c in candidates) if candidates else None

    def process_events(self):
        """Handle every queued event (also called by request handlers that must see them)."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            kind = event[0]
            if kind == "control":
                machine = self.button if self.button is not None else self.switch
                for happening in machine.edge(event[1], event[2]):
                    self._on_control_event(happening.kind)
                # Only now may the loop energize again: the edge that cut has been judged.
                self._fast_cut_pending = False
                self.reevaluate()
            elif kind == "sense":
                self._check_sense(time.monotonic())
            elif kind == "call":
                event[1]()

    def tick(self):
        mono = time.monotonic()
        machine = self.button if self.button is not None else self.switch
        for happening in machine.tick(mono):
            self._on_control_event(happening.kind)
        due = [timer for timer in self._timers if timer[0] <= mono]
        for timer in due:
            self._timers.remove(timer)
            timer[1]()
        jump = self.jumps.check()
        if jump is not None:
            log.warning("the wall clock jumped by %+.1f s; re-evaluating", jump)
            self.store.record_event(self.clock.now(), "clock.jump", {"seconds": round(jump, 3)})
            if self.override is not None and self.override.kind == "unmute":
                # An unmute is a length of time: keep what is left of it, whichever way the
                # clock moved, so a step back cannot stretch it past its limit.
                moved = timedelta(seconds=jump)
                self.override = replace(self.override, since=self.override.since + moved,
                                        until=self.override.until + moved)
                self._save_override(self.override)
        trusted = self.trust.trusted()
        if trusted != self._clock_trusted:
            self._clock_trusted = trusted
            log.warning("clock %s", "trusted: applying the schedule" if trusted else "no longer trusted")
            self.store.record_event(self.clock.now(), "clock.trust", {"trusted": trusted})
        self.reevaluate()
        self._check_sense(time.monotonic())
        if self.notifier.watchdog_interval_s and mono - self._last_watchdog >= self.notifier.watchdog_interval_s:
            self.notifier.watchdog()
            self._last_watchdog = mono
        if mono - self._last_sweep >= SWEEP_EVERY_S and self.server is not None:
            self.server.sweep_idle(mono)
            self._last_sweep = mono

    def add_timer(self, delay_s: float, callback):
        self._timers.append((time.monotonic() + delay_s, callback))

    # -- the decision ---------------------------------------------------------------------

    def situation(self, now=None) -> policy.Situation:
        now = now or self.clock.now()
        self.evaluation = schedule.evaluate(self.schedule, now)
        return self._situation_at(now, self.evaluation)

    def _situation_at(self, now, evaluation: schedule.Evaluation) -> policy.Situation:
        verdict = policy.ScheduleVerdict(evaluation.state, evaluation.locked, evaluation.reason, evaluation.until)
        switch = self.switch.position if self.switch is not None else None
        return policy.Situation(verdict, self.override, self._clock_trusted, switch, self.fault, now)

    def next_change(self) -> schedule.Change | None:
        """The mic's own next change: where an override or a hold ends before the schedule
        changes, that end, if the mic really changes then."""
        upcoming = self.evaluation.next if self.evaluation else None
        ends = self.decision.until if self.decision else None
        if ends is not None and (upcoming is None or
                                 ends.astimezone(timezone.utc) < upcoming.at.astimezone(timezone.utc)):
            later = self._situation_at(ends, schedule.evaluate(self.schedule, ends))
            after = policy.decide(later)
            if (after.state, after.locked) != (self.decision.state, self.decision.locked):
                return schedule.Change(ends.astimezone(self.schedule.zone), after.state, after.locked)
        return upcoming

    def reevaluate(self):
        now = self.clock.now()
        situation = self.situation(now)
        current = policy.current_override(situation)
        if current != self.override:
            self.override = current
            self._save_override(current)
            situation = replace(situation, override=current)
        decision = policy.decide(situation)
        self.decision = decision
        self._apply(decision, now)
        self._update_led()
        self._broadcast_if_changed()

    def _apply(self, decision: policy.Decision, now):
        live = decision.state == "live"
        if live and self._fast_cut_pending:
            return  # a button edge cut the mic and its event is still queued: let it decide
        if live:
            self._record(decision, now)   # written before the mic opens: no live time unrecorded
        if self.hardware.relay_live != live:
            self.hardware.set_relay(live)
            self._check_sense(time.monotonic())
        if not live:
            self._record(decision, now)   # written after the cut: a cut never waits for a disk

    def _record(self, decision: policy.Decision, now):
        if decision.state != self.recorded_state:
            self.store.record_change(now, decision.state, decision.source, decision.reason)
            self.recorded_state = decision.state
            log.info("mic %s (%s: %s)", "LIVE" if decision.state == "live" else "CUT",
                     decision.source, decision.reason)

    def _update_led(self):
        if self.fault:
            mode = "fast-blink"
        elif not self._clock_trusted and self.decision.state == "muted":
            mode = "slow-blink"
        else:
            mode = "on" if self.decision.state == "muted" else "off"
        if self.hardware.led_mode != mode:
            self.hardware.set_led(mode)

    def _broadcast_if_changed(self):
        # Building a status on every turn of the loop is waste when nobody watches; a watcher
        # gets the current one when it starts watching.
        if self.server is None or not any(c.watching for c in self.server.connections.values()):
            self._last_broadcast = None
            return
        status = self.status()
        if status != self._last_broadcast:
            self._last_broadcast = status
            self.server.broadcast(status)

    # -- requests (from the socket, the button or the audio gate) --------------------------

    def mute(self, source: str, duration_s: float | None):
        self.override = policy.mute(self.situation(), source, duration_s)
        self._save_override(self.override)
        self.reevaluate()

    def unmute(self, source: str, duration_s: float | None):
        situation = self.situation()
        self.override = policy.unmute(situation, source, duration_s, float(self.settings["default_unmute_s"]))
        self._save_override(self.override)
        self.reevaluate()

    def set_schedule(self, new: schedule.Schedule):
        self.store.save_schedule(schedule.dumps(new), self.clock.now())
        self.schedule = new
        self.reevaluate()

    def change_settings(self, values: dict):
        self.store.save_settings(values)
        self.settings.update(values)
        if self.button is not None:
            self.button.hold_s = float(self.settings["hold_s"])
        self.trust.policy = self._clock_policy()
        self._clock_trusted = self.trust.trusted()
        self.reevaluate()

    def clear_fault(self, source: str):
        if self.fault:
            self.store.record_event(self.clock.now(), "fault.cleared", {"source": source, "fault": self.fault})
            log.warning("fault cleared by %s", source)
            self.fault = None
            self._mismatch_since = None
            self.reevaluate()

    # -- the physical control -------------------------------------------------------------

    def _on_control_event(self, kind: str):
        if self.switch is not None:
            log.info("switch flipped to %s", kind)
            self.store.record_event(self.clock.now(), "switch", {"position": kind})
            self.reevaluate()
            return
        self.reevaluate()
        if kind == "down":
            if self.fault:
                # The press acknowledges the fault and keeps the mic cut: a press never opens it
                # on its first edge. Another press opens it as usual.
                self._press_consumed = True
                self.mute("button", None)
                self.clear_fault("button")
            elif self.decision.state == "live":
                self._press_consumed = True
                self.mute("button", None)
        elif kind == "press" and not self._press_consumed and self.decision.state == "muted":
            if not self.decision.locked:
                self._button_unmute()
        elif kind == "hold" and not self._press_consumed and self.decision.state == "muted":
            self._button_unmute()
        elif kind == "up":
            self._press_consumed = False

    def _button_unmute(self):
        self._press_consumed = True
        try:
            self.unmute("button", None)
        except Refused as refusal:
            log.info("button unmute refused: %s", refusal)
            self.store.record_event(self.clock.now(), "refused",
                                    {"op": "unmute", "source": "button", "error": refusal.code})

    # -- the sense input ------------------------------------------------------------------

    def _check_sense(self, mono: float):
        sense = self.hardware.sense_live()
        if sense is None or self.fault:
            return
        if sense == self.hardware.relay_live:
            self._mismatch_since = None
        elif self._mismatch_since is None:
            self._mismatch_since = mono
        elif mono - self._mismatch_since >= self.config.sense.fault_ms / 1000:
            commanded = "closed (live)" if self.hardware.relay_live else "open (cut)"
            seen = "closed" if sense else "open"
            self.fault = f"relay commanded {commanded} but its contacts read {seen}"
            log.error("FAULT: %s; the relay stays commanded cut", self.fault)
            self.store.record_event(self.clock.now(), "fault", {"fault": self.fault})
            self.reevaluate()

    # -- what clients see -----------------------------------------------------------------

    def status(self) -> dict:
        decision = self.decision
        zone = self.schedule.zone
        fmt = (lambda moment: schedule.format_instant(moment, zone) if moment else None)
        upcoming = self.next_change()
        override = None
        if self.override is not None:
            override = {"kind": self.override.kind, "source": self.override.source,
                        "until": fmt(self.override.until)}
        return {
            "ok": True,
            "state": decision.state,
            "locked": decision.locked,
            "reason": decision.reason,
            "source": decision.source,
            "until": fmt(decision.until),
            "next_change": ({"at": fmt(upcoming.at), "state": upcoming.state, "locked": upcoming.locked}
                            if upcoming else None),
            "clock": {"trusted": self._clock_trusted, "policy": self.trust.policy},
            "fault": self.fault,
            "simulated": self.simulated,
            "pins": self.factory_reason,
            "control": self.config.control.kind,
            "switch": self.switch.position if self.switch is not None else None,
            "relay": "closed" if self.hardware.relay_live else "cut",
            "sense": self.hardware.sense_live(),
            "led": self.hardware.led_mode,
            "wiring": self.config.relay.wiring,
            "timezone": self.schedule.timezone,
            "override": override,
        }
