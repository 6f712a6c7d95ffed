"""Software debounce for the physical control: a push button and a latching switch (pure).

Raw pin edges go in with a monotonic time; events come out. The caller asks for the next
deadline and calls `tick` at or after it; nothing here reads a clock or sleeps.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """Something the control did: down, press, hold, up (button) or cut, auto (switch)."""

    kind: str
    at: float


class _Debounced(ABC):
    """Shared bookkeeping: the raw level, when it last changed, and time only moving forward."""

    def __init__(self, debounce_s: float, level: bool):
        if not (math.isfinite(debounce_s) and debounce_s > 0):
            raise ValueError(f"debounce_s must be a positive number of seconds, got {debounce_s!r}")
        self.debounce_s = debounce_s
        self._raw = level
        self._changed_at = -math.inf
        self._now = -math.inf

    def _advance_to(self, at: float) -> None:
        if math.isnan(at) or at < self._now:
            raise ValueError(f"time went backwards: {at!r} after {self._now!r}; pass monotonic times")
        self._now = at

    def _stable_at(self) -> float:
        """When the current raw level will have been stable for the debounce time."""
        return self._changed_at + self.debounce_s

    def _due(self, at: float) -> list[Event]:
        """Fire every deadline up to and including `at`, in order."""
        events: list[Event] = []
        while (deadline := self.next_deadline()) is not None and deadline <= at:
            events.extend(self._fire(deadline))
        return events

    def tick(self, at: float) -> list[Event]:
        """The events due by `at`; call it at or after `next_deadline()`."""
        self._advance_to(at)
        return self._due(at)

    @abstractmethod
    def next_deadline(self) -> float | None:
        """When `tick` must next be called, or None while nothing is pending."""

    @abstractmethod
    def _fire(self, deadline: float) -> list[Event]:
        """The events of the deadline that has just passed."""


class PushButton(_Debounced):
    """A momentary button: "down" on the first edge of a press (so a mute is never delayed),
    "press" once it has been held down for the debounce time, "hold" after `hold_s` of stable
    press, and "up" once released for the debounce time. A release shorter than the debounce
    time is a bounce, not a release: it neither ends the press nor cancels a hold.
    """

    def __init__(self, debounce_s: float = 0.03, hold_s: float = 2.0):
        super().__init__(debounce_s, level=False)
        if not (math.isfinite(hold_s) and hold_s > debounce_s):
            raise ValueError(f"hold_s must be longer than debounce_s ({debounce_s}), got {hold_s!r}")
        self.hold_s = hold_s
        self._active = False  # between "down" and "up"
        self._pressed_since: float | None = None  # start of the stable press, once "press" fired
        self._held = False

    @property
    def is_pressed(self) -> bool:
        """Whether a press is in progress (from "down" until "up")."""
        return self._active

    def edge(self, pressed: bool, at: float) -> list[Event]:
        """A raw edge from the pin; returns the events it and any passed deadlines cause."""
        self._advance_to(at)
        events = self._due(at)
        if pressed == self._raw:
            return events  # a repeated level is no change: keep the debounce running
        self._raw, self._changed_at = pressed, at
        if pressed and not self._active:
            self._active = True
            events.append(Event("down", at))
        # A bounce that comes back down after the hold time was due: the hold is now earned.
        events.extend(self._due(at))
        return events

    def next_deadline(self) -> float | None:
        if not self._active:
            return None
        if not self._raw:
            return self._stable_at()  # the release becomes real
        if self._pressed_since is None:
            return self._stable_at()  # the press becomes real
        if not self._held:
            # if a bounce held the deadline back, fire as soon as the contact is closed again
            return max(self._pressed_since + self.hold_s, self._changed_at)
        return None

    def _fire(self, deadline: float) -> list[Event]:
        if not self._raw:
            self._active, self._pressed_since, self._held = False, None, False
            return [Event("up", deadline)]
        if self._pressed_since is None:
            self._pressed_since = self._changed_at
            return [Event("press", deadline)]
        self._held = True
        return [Event("hold", deadline)]


class ToggleSwitch(_Debounced):
    """A latching switch: contacts closed is "auto", open (or a broken wire) is "cut".

    Fail closed: "cut" on the first edge towards open; "auto" only once closed has been
    stable for the debounce time.
    """

    def __init__(self, debounce_s: float = 0.03, *, closed_at_start: bool):
        super().__init__(debounce_s, level=closed_at_start)
        # A level read at start is not an edge, so it needs no debounce.
        self._position = "auto" if closed_at_start else "cut"

    @property
    def position(self) -> str:
        """"cut" or "auto", as debounced."""
        return self._position

    def edge(self, closed: bool, at: float) -> list[Event]:
        """A raw edge from the pin; returns the events it and any passed deadlines cause."""
        self._advance_to(at)
        events = self._due(at)
        if closed == self._raw:
            return events
        self._raw, self._changed_at = closed, at
        if not closed and self._position == "auto":
            self._position = "cut"
            events.append(Event("cut", at))
        return events

    def next_deadline(self) -> float | None:
        if self._raw and self._position == "cut":
            return self._stable_at()
        return None

    def _fire(self, deadline: float) -> list[Event]:
        self._position = "auto"
        return [Event("auto", deadline)]
