"""Clock trust and wall-clock jumps: may the schedule be believed, and did the time just move?

A Pi has no real-time clock, so until NTP has synchronised the schedule is not applied. The
kernel's flag (adjtimex without STA_UNSYNC) is the general signal; systemd-timesyncd also
leaves a file behind.
"""

import ctypes
import ctypes.util
import time
from datetime import datetime, timezone
from pathlib import Path

STA_UNSYNC = 0x0040
TIME_ERROR = 5
JUMP_THRESHOLD_S = 0.5


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h> (Linux), enough of it to read the status."""

    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


_libc = None


def kernel_synchronized() -> bool | None:
    """True when the kernel says an NTP client has synchronised the clock; None if unknown."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = _Timex()  # modes = 0: read only
        state = _libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not timex.status & STA_UNSYNC


class ClockTrust:
    """Answers "may the schedule be believed now?" for one policy.

    policy "trust": always. policy "wait-sync": once the kernel reports synchronisation (if
    `use_kernel`) or the sync flag file exists. `forced` (simulated mode only) overrides both.
    """

    def __init__(self, policy: str, sync_file: str | None, use_kernel: bool):
        self.policy = policy
        self.sync_file = Path(sync_file) if sync_file else None
        self.use_kernel = use_kernel
        self.forced: bool | None = None

    def trusted(self) -> bool:
        if self.forced is not None:
            return self.forced
        if self.policy == "trust":
            return True
        if self.sync_file is not None and self.sync_file.exists():
            return True
        return bool(self.use_kernel and kernel_synchronized())

    def describe(self) -> dict:
        return {"policy": self.policy, "sync_file": str(self.sync_file) if self.sync_file else None,
                "kernel": self.use_kernel, "forced": self.forced}


class WallClock:
    """The daemon's one source of wall time. Simulated mode may shift it by `offset` seconds,
    which is how tests make the wall clock jump without touching the machine's clock."""

    def __init__(self):
        self.offset = 0.0

    def timestamp(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), timezone.utc)


class JumpDetector:
    """Notices when wall time moves differently from monotonic time (NTP step, manual set)."""

    def __init__(self, clock: WallClock, threshold_s: float = JUMP_THRESHOLD_S):
        self.clock = clock
        self.threshold_s = threshold_s
        self._skew = self._current_skew()

    def _current_skew(self) -> float:
        return self.clock.timestamp() - time.monotonic()

    def check(self) -> float | None:
        """The size of the jump since the last check in seconds, or None if there was none."""
        skew = self._current_skew()
        jump = skew - self._skew
        self._skew = skew
        return jump if abs(jump) >= self.threshold_s else None
