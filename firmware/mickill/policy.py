"""The one pure decision: (schedule verdict, override, clock trust, switch, fault, now) -> state.

Also the rules for making, expiring and restoring overrides. No clock reads and no I/O here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .durations import format_duration
from .errors import MickillError, Refused

# Authority of each source that may ask for a change; higher lifts lower.
RANKS = {"button": 3, "cli": 2, "web": 2, "api": 2, "mqtt": 1, "audio": 1}
# What a control-socket client may claim. `mickill doctor` and other diagnostics speak as
# "cli": there is no separate "doctor" source, so no new rank to reason about.
CLIENT_SOURCES = frozenset({"cli", "web", "api", "mqtt", "audio"})
# Sources that may mute or unmute: the clients plus the physical button (reached only
# through the daemon's own pin handling, never the socket).
REQUEST_SOURCES = CLIENT_SOURCES | {"button"}
MAX_UNMUTE_S = 12 * 3600

_STATES = ("muted", "live")
_KINDS = ("mute", "unmute")
_SWITCH = ("cut", "auto", None)


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


class StoredOverrideError(MickillError, ValueError):
    """A stored override record cannot be read; also a ValueError, so a loader may drop it."""


@dataclass(frozen=True)
class ScheduleVerdict:
    """What the schedule says at one instant; the daemon builds it from the schedule's evaluation.

    `until` is the schedule's next change of (state, locked), or None if it never changes.
    """

    state: str
    locked: bool
    reason: str
    until: datetime | None

    def __post_init__(self) -> None:
        if self.state not in _STATES:
            raise ValueError(f"schedule state must be 'muted' or 'live', got {self.state!r}")
        if self.locked and self.state != "muted":
            raise ValueError("only a muted schedule state can be locked")
        _require_aware("ScheduleVerdict.until", self.until)


@dataclass(frozen=True)
class Override:
    """The manual mute or unmute in force; at most one exists.

    `until` is None only for a mute with no end (made when the schedule had no next change).
    """

    kind: str
    source: str
    since: datetime
    until: datetime | None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"override kind must be 'mute' or 'unmute', got {self.kind!r}")
        if self.source not in REQUEST_SOURCES:
            raise ValueError(f"override source {self.source!r} is not one of {sorted(REQUEST_SOURCES)}")
        _require_aware("Override.since", self.since)
        _require_aware("Override.until", self.until)
        if self.kind == "unmute" and self.until is None:
            raise ValueError("an unmute must have an end")

    def expired(self, now: datetime) -> bool:
        return self.until is not None and now >= self.until

    def to_json(self) -> str:
        """JSON text with instants as ISO 8601 in UTC, for the store."""
        return json.dumps(
            {
                "kind": self.kind,
                "source": self.source,
                "since": _utc_iso(self.since),
                "until": None if self.until is None else _utc_iso(self.until),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Override:
        """The override stored by `to_json`; a damaged record raises StoredOverrideError."""
        try:
            data = json.loads(text)
            until = data["until"]
            return cls(
                kind=data["kind"],
                source=data["source"],
                since=datetime.fromisoformat(data["since"]),
                until=None if until is None else datetime.fromisoformat(until),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise StoredOverrideError(
                f"the stored override {text!r} cannot be read ({exc}); "
                "mute or unmute again to replace it"
            ) from exc


def _utc_iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat()


@dataclass(frozen=True)
class Situation:
    """Everything the decision depends on, at `now`.

    `switch` is "cut" or "auto" for a latching switch, None when the control is a push button;
    `fault` is a latched hardware fault in words, or None.
    """

    schedule: ScheduleVerdict
    override: Override | None
    clock_trusted: bool
    switch: str | None
    fault: str | None
    now: datetime

    def __post_init__(self) -> None:
        if self.switch not in _SWITCH:
            raise ValueError(f"switch must be 'cut', 'auto' or None, got {self.switch!r}")
        _require_aware("Situation.now", self.now)


@dataclass(frozen=True)
class Decision:
    """The mic's commanded state and why.

    `locked` is True when no socket client can unmute now. `until` is when this decision is
    next expected to change by the passing of time (None: not by time alone); the daemon
    also re-evaluates at the schedule's own `until`, which may end an unmute early.
    """

    state: str
    locked: bool
    reason: str
    source: str
    until: datetime | None


def _hard_mute(s: Situation) -> bool:
    return s.switch == "cut" or s.fault is not None


def current_override(s: Situation) -> Override | None:
    """The override still in force at `s.now`; the daemon stores the result.

    Drops an expired override; any unmute while the switch is cut or a fault is latched (when
    they clear, the schedule rules again: fail closed); and a non-button unmute once a locked
    window is open or the clock stops being trusted.
    """
    ov = s.override
    if ov is None or ov.expired(s.now):
        return None
    if ov.kind == "unmute":
        if _hard_mute(s):
            return None
        if ov.source != "button" and (s.schedule.locked or not s.clock_trusted):
            return None
    return ov


def decide(s: Situation) -> Decision:
    """The mic's state at `s.now`; precedence runs from the switch down to the schedule."""
    ov = current_override(s)
    if s.switch == "cut":
        return Decision("muted", True, "switch in cut position", "switch", None)
    if s.fault is not None:
        return Decision("muted", True, f"fault: {s.fault}", "system", None)
    if ov is not None and ov.kind == "unmute" and ov.source == "button":
        return Decision("live", False, "unmuted at the button", "button", ov.until)
    if not s.clock_trusted:
        return Decision("muted", True, "waiting for a trusted clock", "system", None)
    if ov is not None and ov.kind == "mute":
        return Decision("muted", s.schedule.locked, f"muted by {ov.source}", ov.source, ov.until)
    if ov is not None:  # an unmute from a client; current_override ended it if a lock opened
        return Decision("live", False, f"unmuted by {ov.source}", ov.source, ov.until)
    v = s.schedule
    return Decision(v.state, v.locked, v.reason, "schedule", v.until)


def _check_source(source: str) -> None:
    # A bad source is the caller's bug: the control layer turns a client's claim of an
    # internal source into forbidden_source before it gets here.
    if source not in REQUEST_SOURCES:
        raise ValueError(f"source {source!r} cannot ask for a change; use one of {sorted(REQUEST_SOURCES)}")


def _seconds(duration_s: float) -> timedelta:
    return timedelta(seconds=duration_s)


def mute(s: Situation, source: str, duration_s: float | None) -> Override:
    """A manual mute from `source`, replacing any override. Never refused.

    Without a duration it lasts until the schedule's next change (indefinitely when there is
    none, or while the clock is untrusted, since the schedule's instants then mean nothing).
    Over a mute from a higher rank, the result keeps that source and the later end, so a lower
    rank can neither mute-then-unmute around it nor shorten it.
    """
    _check_source(source)
    if duration_s is None:
        until = s.schedule.until if s.clock_trusted else None
    else:
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise Refused(
                "bad_request",
                f"mute duration {duration_s!r} is not a positive number of seconds; "
                "give one such as 900, or none to mute until the schedule's next change",
            )
        until = s.now + _seconds(duration_s)
    held = current_override(s)
    if held is not None and held.kind == "mute" and RANKS[held.source] > RANKS[source]:
        later = None if None in (held.until, until) else max(held.until, until)
        return Override("mute", held.source, held.since, later)
    return Override("mute", source, s.now, until)


_OUTRANKED = {
    3: "muted at the button; only the button can lift it",
    2: "muted by {source}; only a logged-in user (cli, web, api) or the button can lift it",
}


def unmute(s: Situation, source: str, duration_s: float | None, default_s: float) -> Override | None:
    """The override after an unmute request from `source`; raises Refused when it may not.

    Returns None when no override is needed: the unmute cleared a manual mute and the
    schedule is live anyway, or the mic was live by the schedule already. When an unmute is
    already in force, a source of equal or higher rank replaces it (a new duration from now);
    a lower one leaves it as it is, so automation cannot shorten or weaken a button's unmute.
    """
    _check_source(source)
    seconds = default_s if duration_s is None else duration_s
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_UNMUTE_S):
        raise Refused(
            "bad_request",
            f"unmute duration {seconds!r} s is out of range: an unmute lasts more than 0 s "
            f"and at most {format_duration(MAX_UNMUTE_S)} ({MAX_UNMUTE_S} s); ask for less",
        )
    if s.switch == "cut":
        raise Refused("switch", "the switch is in its cut position; flip it to auto to allow unmuting")
    if s.fault is not None:
        raise Refused(
            "fault",
            f"cannot unmute while a hardware fault is latched ({s.fault}); "
            "check the relay and its wiring, then press the button to clear the fault",
        )
    button = source == "button"
    if not s.clock_trusted and not button:
        raise Refused(
            "clock",
            "the clock is not trusted yet, so the mic stays cut; wait for time to synchronise "
            "or hold the button",
        )
    if s.schedule.locked and not button:
        raise Refused("locked", "locked: only the physical button can open this window")
    ov = current_override(s)
    if ov is not None and ov.kind == "mute" and RANKS[ov.source] > RANKS[source]:
        raise Refused("outranked", _OUTRANKED[RANKS[ov.source]].format(source=ov.source))
    if ov is not None and ov.kind == "unmute" and RANKS[ov.source] > RANKS[source]:
        return ov
    schedule_live = s.clock_trusted and s.schedule.state == "live"
    if schedule_live and (ov is None or ov.kind == "mute"):
        return None
    return Override("unmute", source, s.now, s.now + _seconds(seconds))


def restore_after_restart(override: Override | None, now: datetime) -> Override | None:
    """The stored override to keep after a restart: mutes that have not ended, never an unmute."""
    _require_aware("now", now)
    if override is None or override.kind == "unmute" or override.expired(now):
        return None
    return override
