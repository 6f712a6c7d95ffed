"""The control socket's operations: check each request, then ask the daemon.

Every answer is a dict in the protocol's shape; nothing a client sends can raise out of here.
"""

import logging
import math
from datetime import timedelta

from . import ledger, policy, schedule
from .control import error
from .errors import MickillError, Refused, ScheduleError

log = logging.getLogger("mickill")

FORBIDDEN_SOURCES = frozenset({"button", "switch", "schedule", "system"})
PERSON_SOURCES = frozenset({"cli", "web", "api"})   # a logged-in person, not automation
PANEL_SOURCES = frozenset({"web", "api"})           # all the panel's own user may claim
# Operations that change what mickill does or who may use it: a person's, never automation's.
PERSON_OPS = frozenset({"schedule.set", "settings.set", "fault.clear"})
MAX_RANGE = timedelta(days=400)
SETTINGS_RANGES = {"default_unmute_s": (60, policy.MAX_UNMUTE_S), "hold_s": (0.5, 10.0)}
CLOCK_POLICIES = ("wait-sync", "trust")


class BadRequest(MickillError):
    pass


def _seconds(request: dict, key: str, required: bool = False) -> float | None:
    value = request.get(key)
    if value is None:
        if required:
            raise BadRequest(f"'{key}' is required (seconds)")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise BadRequest(f"'{key}' must be a positive number of seconds, not {value!r}")
    return float(value)


class Operations:
    def __init__(self, daemon, panel_uid: int | None = None):
        self.daemon = daemon
        self.panel_uid = panel_uid
        self.table = {
            "status": self.status, "watch": self.watch,
            "mute": self.mute, "unmute": self.unmute,
            "schedule.get": self.schedule_get, "schedule.set": self.schedule_set,
            "schedule.validate": self.schedule_validate, "plan": self.plan,
            "ledger": self.ledger, "events": self.events,
            "settings.get": self.settings_get, "settings.set": self.settings_set,
            "fault.clear": self.fault_clear,
            "sim.press": self.sim_press, "sim.release": self.sim_release, "sim.hold": self.sim_hold,
            "sim.switch": self.sim_switch, "sim.sense_fault": self.sim_sense_fault,
            "sim.clock": self.sim_clock, "sim.pins": self.sim_pins,
        }

    def handle(self, conn, request: dict) -> dict | None:
        op = request.get("op")
        source = request.get("source")
        if not isinstance(op, str):
            return error("bad_request", "every request needs an 'op' string")
        if not isinstance(source, str) or not source:
            return error("bad_request", "every request must name its 'source'")
        if source in FORBIDDEN_SOURCES:
            return error("forbidden_source", f"a client may not speak as '{source}'")
        if source not in policy.CLIENT_SOURCES:
            allowed = ", ".join(sorted(policy.CLIENT_SOURCES))
            return error("bad_request", f"unknown source '{source}': use one of {allowed}")
        if self.panel_uid is not None and getattr(conn, "uid", None) == self.panel_uid \
                and source not in PANEL_SOURCES:
            return error("forbidden_source", f"the web panel's user may not speak as '{source}'")
        if op in PERSON_OPS and source not in PERSON_SOURCES:
            return error("forbidden_source", f"'{op}' is for a person (cli, web, api), not '{source}'")
        handler = self.table.get(op)
        if handler is None and op.startswith(("auth.", "token.")):
            handler = self.accounts
        if handler is None:
            return error("unknown_op", f"unknown operation '{op}'")
        try:
            return handler(conn, request)
        except Refused as refusal:
            self.daemon.store.record_event(self.daemon.clock.now(), "refused",
                                           {"op": op, "source": source, "error": refusal.code})
            return error(refusal.code, str(refusal))
        except ScheduleError as exc:
            return error("invalid", str(exc), entry=exc.entry, field=exc.field)
        except MickillError as exc:
            return error("bad_request", str(exc))
        except OverflowError:
            return error("bad_request", "a time or duration in the request is out of range")
        except Exception:  # a bug must not take the relay's owner down with it
            log.exception("request %r failed", op)
            return error("internal", f"'{op}' failed inside the daemon; see its log")

    # -- state ----------------------------------------------------------------------------

    def status(self, conn, request):
        return self.daemon.status()

    def watch(self, conn, request):
        conn.watching = True
        return self.daemon.status()

    def mute(self, conn, request):
        self.daemon.mute(request["source"], _seconds(request, "for"))
        return self.daemon.status()

    def unmute(self, conn, request):
        detection = request.get("detection")
        if detection is not None:
            if not isinstance(detection, dict) or len(str(detection)) > 512:
                raise BadRequest("'detection' must be a small object: {t, kind, score}")
            kept = {key: detection.get(key) for key in ("t", "kind", "score")}
            self.daemon.store.record_event(self.daemon.clock.now(), "audio.detection",
                                           {**kept, "source": request["source"]})
        self.daemon.unmute(request["source"], _seconds(request, "for"))
        return self.daemon.status()

    def fault_clear(self, conn, request):
        self.daemon.clear_fault(request["source"])
        return self.daemon.status()

    # -- the schedule ---------------------------------------------------------------------

    def _document(self, request) -> schedule.Schedule:
        if isinstance(request.get("toml"), str):
            return schedule.loads(request["toml"])
        if isinstance(request.get("schedule"), dict):
            return schedule.parse(request["schedule"])
        raise BadRequest("send the schedule as 'toml' (text) or 'schedule' (an object)")

    def schedule_get(self, conn, request):
        current = self.daemon.schedule
        return {"ok": True, "schedule": schedule.to_document(current), "toml": schedule.dumps(current)}

    def schedule_set(self, conn, request):
        new = self._document(request)
        now = self.daemon.clock.now()
        before = schedule.evaluate(self.daemon.schedule, now)
        if before.state == "muted" and before.locked:
            after = schedule.evaluate(new, now)
            if not (after.state == "muted" and after.locked):
                # Rewriting the schedule would be a way round the lock: only the button opens it.
                ends = (f"until {schedule.format_instant(before.until, self.daemon.schedule.zone)}"
                        if before.until else "with no end")
                raise Refused("locked", f"locked: {before.reason} is open {ends} and this schedule "
                                        "would open it now; only the physical button can do that. "
                                        "Keep that window in the schedule, or save it after the window ends")
        self.daemon.set_schedule(new)
        self.daemon.store.record_event(self.daemon.clock.now(), "schedule.saved", {"source": request["source"]})
        return self.daemon.status()

    def schedule_validate(self, conn, request):
        self._document(request)
        return {"ok": True, "valid": True}

    def _range(self, request, zone, default_days: int | None = None):
        now = self.daemon.clock.now()
        if default_days is not None and request.get("from") is None and request.get("to") is None:
            return now - timedelta(days=default_days), now
        moments = {}
        for key in ("from", "to"):
            if not isinstance(request.get(key), str):
                raise BadRequest(f"'{key}' must be an ISO 8601 time, like 2027-03-28T07:00")
            try:
                moments[key] = schedule.parse_instant(request[key], zone)
            except MickillError as exc:
                raise BadRequest(f"'{key}': {exc}") from None
        start, end = moments["from"], moments["to"]
        if end <= start:
            raise BadRequest("'to' must be after 'from'")
        if end - start > MAX_RANGE:
            raise BadRequest(f"ask for at most {MAX_RANGE.days} days at a time")
        return start, end

    def plan(self, conn, request):
        document = self.daemon.schedule
        if "toml" in request or "schedule" in request:
            document = self._document(request)
        start, end = self._range(request, document.zone)
        changes = schedule.plan(document, start, end)
        return {"ok": True, "timezone": document.timezone, "changes": [
            {"at": schedule.format_instant(c.at, document.zone), "state": c.state, "locked": c.locked}
            for c in changes]}

    # -- the record -----------------------------------------------------------------------

    def ledger(self, conn, request):
        zone = self.daemon.schedule.zone
        start, end = self._range(request, zone, default_days=7)
        end = max(start, min(end, self.daemon.clock.now()))   # nothing is recorded after now
        store = self.daemon.store
        rows = store.changes(start, end)
        before = store.last_change_before(start)
        state_before = before.state if before else None
        days = ledger.live_per_day(rows, state_before, start, end, zone) if end > start else []
        fmt = lambda moment: schedule.format_instant(moment, zone)  # noqa: E731
        return {"ok": True, "timezone": self.daemon.schedule.timezone,
                "from": fmt(start), "to": fmt(end), "state_before": state_before,  # None: nothing recorded yet
                "changes": [{"at": fmt(r.at), "state": r.state, "source": r.source, "reason": r.reason}
                            for r in rows],
                "days": [{"date": d.date.isoformat(), "live_seconds": round(d.live_seconds, 3)}
                         for d in days]}

    def events(self, conn, request):
        zone = self.daemon.schedule.zone
        start, end = self._range(request, zone, default_days=7)
        kind = request.get("kind")
        if kind is not None and not isinstance(kind, str):
            raise BadRequest("'kind' must be a string")
        rows = self.daemon.store.events(start, end, kind)
        return {"ok": True, "events": [
            {"at": schedule.format_instant(r.at, zone), "kind": r.kind, "detail": r.detail} for r in rows]}

    # -- settings -------------------------------------------------------------------------

    def settings_get(self, conn, request):
        # config_clock_policy: what a null clock_policy means here (the config file's choice).
        return {"ok": True, "settings": dict(self.daemon.settings),
                "config_clock_policy": self.daemon.clock_policy_for(None)}

    def settings_set(self, conn, request):
        values = request.get("settings")
        if not isinstance(values, dict) or not values:
            raise BadRequest("'settings' must be an object of settings to change")
        for key, value in values.items():
            if key in SETTINGS_RANGES:
                low, high = SETTINGS_RANGES[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                    return error("invalid", f"setting '{key}' must be a number from {low} to {high}",
                                 entry="settings", field=key)
            elif key == "clock_policy":
                if value is not None and value not in CLOCK_POLICIES:
                    return error("invalid", "setting 'clock_policy' must be 'wait-sync', 'trust' or null",
                                 entry="settings", field=key)
                if not self.daemon.clock_trusted and self.daemon.clock_policy_for(value) == "trust":
                    raise Refused("clock", "the clock is not trusted now; trusting it by a setting would apply "
                                           "the schedule on an unknown time. Wait for synchronisation, or set "
                                           "[clock] policy in the config file and restart")
            else:
                known = ", ".join(sorted([*SETTINGS_RANGES, "clock_policy"]))
                return error("invalid", f"unknown setting '{key}': known settings are {known}",
                             entry="settings", field=key)
        self.daemon.change_settings(values)
        return {"ok": True, "settings": dict(self.daemon.settings)}

    # -- accounts (the panel's users and API tokens) ----------------------------------------

    def accounts(self, conn, request):
        # Hashing is slow: the worker answers later, and the loop sends its answer.
        daemon = self.daemon

        def done(response):
            daemon.post(("call", lambda: daemon.server.reply(conn, response, request)))

        daemon.accounts_worker().submit(request, done)
        return None

    # -- simulated mode -------------------------------------------------------------------

    def _world(self):
        if self.daemon.world is None:
            raise Refused("not_simulated", "this works only in simulated mode (mickill run --simulate)")
        return self.daemon.world

    def _button(self):
        if self.daemon.switch is not None:
            raise BadRequest("the control is a switch: use 'mickill sim switch cut' or 'auto'")
        return self._world()

    def _settled(self):
        # The simulated pins call back on their own thread before press() etc. return; take
        # those events now so that the answer already shows their effect.
        self.daemon.process_events()
        self.daemon.reevaluate()
        return self.daemon.status()

    def sim_press(self, conn, request):
        self._button().press()
        return self._settled()

    def sim_release(self, conn, request):
        self._button().release()
        return self._settled()

    def sim_hold(self, conn, request):
        seconds = _seconds(request, "seconds", required=True)
        if seconds > 60:
            raise BadRequest("hold for at most 60 seconds")
        world = self._button()
        world.press()
        self._settled()

        def release():
            world.release()
            self.daemon.server.reply(conn, self._settled(), request)

        self.daemon.add_timer(seconds, release)
        return None

    def sim_switch(self, conn, request):
        position = request.get("position")
        if position not in ("cut", "auto"):
            raise BadRequest("'position' must be 'cut' or 'auto'")
        if self.daemon.switch is None:
            raise BadRequest("the control is a push button; set [control] kind = \"switch\" to use a switch")
        self._world().set_switch(position)
        if position == "cut":
            return self._settled()         # a flip to cut acts on its first edge
        # A flip to auto counts once the contacts have been still for the debounce time.
        settle_s = self.daemon.config.control.debounce_ms / 1000 + 0.01
        self.daemon.add_timer(settle_s, lambda: self.daemon.server.reply(conn, self._settled(), request))
        return None

    def sim_sense_fault(self, conn, request):
        if not isinstance(request.get("on"), bool):
            raise BadRequest("'on' must be true or false")
        if self.daemon.config.sense.pin is None:
            raise BadRequest("no sense input is configured ([sense] pin)")
        self._world().set_sense_fault(request["on"])
        return self._settled()

    def sim_clock(self, conn, request):
        self._world()
        if "offset" in request:
            offset = request["offset"]
            if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(offset):
                raise BadRequest("'offset' must be a number of seconds")
            self.daemon.clock.offset = float(offset)
        if "synced" in request:
            if request["synced"] is not None and not isinstance(request["synced"], bool):
                raise BadRequest("'synced' must be true, false or null")
            self.daemon.trust.forced = request["synced"]
        # No re-evaluation here on purpose: the loop must notice the jump by itself, as it
        # would notice an NTP step, so that tests prove the real mechanism.
        return self.daemon.status()

    def sim_pins(self, conn, request):
        return {"ok": True, **self._world().pins()}
