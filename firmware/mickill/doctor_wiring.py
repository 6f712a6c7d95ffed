"""The doctor's wiring checks on live pins: click the relay (and read its contacts back) and
watch the button or switch for a press, measuring its bounce."""

import threading
import time
from dataclasses import dataclass

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
PULSE_S = 0.3          # how long the relay is energized: long enough to hear, short enough to be harmless
FOLLOW_S = 0.1         # the sense contact must follow the coil within this, both ways
BOUNCE_WINDOW_S = 0.05  # edges this soon after the first one are counted as bounce
POLL_S = 0.001


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what was checked, how it went, what to do about it."""

    name: str
    status: str   # PASS, WARN or FAIL
    detail: str
    advice: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail, "advice": self.advice}


def _wait_for(condition, limit_s: float, clock, sleep) -> float | None:
    """Seconds until condition() held, polling; None if it did not within limit_s."""
    start = clock()
    while True:
        if condition():
            return clock() - start
        if clock() - start > limit_s:
            return None
        sleep(POLL_S)


def check_relay(hardware, *, pulse_s: float = PULSE_S, follow_s: float = FOLLOW_S,
                clock=time.monotonic, sleep=time.sleep) -> Check:
    """Energize the relay for pulse_s and release it; with a sense input, require the contacts
    to close and open again within follow_s of each command. The relay always ends released."""
    has_sense = hardware.sense is not None
    if has_sense and hardware.sense_live():
        return Check("relay", FAIL,
                     "the sense input reads the contacts closed while the relay is released",
                     "the contacts may be welded, or the sense wire is on NC or the wrong polarity: "
                     "check the wiring and [sense] active_high")
    try:
        started = clock()
        hardware.set_relay(True)
        closed_after = _wait_for(lambda: hardware.sense_live() is True, follow_s, clock, sleep) if has_sense else None
        sleep(max(0.0, pulse_s - (clock() - started)))
    finally:
        hardware.set_relay(False)
    if not has_sense:
        return Check("relay", PASS,
                     f"energized for {pulse_s * 1000:.0f} ms and released: you should have heard two clicks "
                     "(no sense input, so the contacts were not read back)")
    opened_after = _wait_for(lambda: hardware.sense_live() is False, follow_s, clock, sleep)
    if closed_after is None or opened_after is None:
        which = "close when energized" if closed_after is None else "open again when released"
        return Check("relay", FAIL,
                     f"the relay did not switch: its contacts did not {which} within {follow_s * 1000:.0f} ms",
                     "the relay did not switch: check its supply and the driver (5 V to VCC, IN on the relay "
                     "pin), then the sense wiring")
    return Check("relay", PASS,
                 f"contacts closed after {closed_after * 1000:.1f} ms and opened after "
                 f"{opened_after * 1000:.1f} ms (limit {follow_s * 1000:.0f} ms)")


def summarise_bounce(edges: list[tuple[bool, float]], window_s: float = BOUNCE_WINDOW_S) -> tuple[int, float]:
    """(edges within window_s of the first, ms from the first edge to the last of those)."""
    if not edges:
        return 0, 0.0
    first = edges[0][1]
    inside = [at for _, at in edges if at - first <= window_s]
    return len(inside), (inside[-1] - first) * 1000


def check_control(hardware, kind: str, pin: int, debounce_ms: int, timeout_s: float,
                  *, clock=time.monotonic, announce=None) -> Check:
    """Wait up to timeout_s for the first edge of the button or switch, then report the bounce
    seen in the following BOUNCE_WINDOW_S."""
    name = "button" if kind == "button" else "switch"
    edges: list[tuple[bool, float]] = []
    lock = threading.Lock()
    first_edge = threading.Event()

    def edge(active: bool, at: float):
        with lock:
            edges.append((active, at))
        first_edge.set()

    hardware.on_control_edge(edge)
    if announce:
        announce(f"{'press the button' if kind == 'button' else 'flip the switch'} now "
                 f"(waiting up to {timeout_s:g} s)")
    if not first_edge.wait(timeout_s):
        return Check(name, FAIL, f"no {'press' if kind == 'button' else 'flip'} seen on BCM {pin} in {timeout_s:g} s",
                     f"check that the {name} is wired between BCM {pin} and a ground pin and that "
                     "[control] pin in the config names that GPIO")
    with lock:
        first_at = edges[0][1]
    time.sleep(max(0.0, first_at + BOUNCE_WINDOW_S - clock()))
    with lock:
        seen = list(edges)
    count, settle_ms = summarise_bounce(seen)
    what = ("pressed" if seen[0][0] else "released") if kind == "button" else \
           ("closed (auto)" if seen[0][0] else "opened (cut)")
    detail = (f"{what}: {count} edge{'s' if count != 1 else ''} in the first "
              f"{BOUNCE_WINDOW_S * 1000:.0f} ms, bouncing for {settle_ms:.1f} ms "
              f"(debounce_ms = {debounce_ms})")
    if settle_ms > debounce_ms:
        return Check(name, WARN, detail,
                     f"the contacts bounce longer than the debounce time: set [control] debounce_ms "
                     f"to {int(settle_ms) + 10} or more, or use a better {name}")
    return Check(name, PASS, detail)
