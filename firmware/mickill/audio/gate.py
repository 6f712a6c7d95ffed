"""The gate: detections become unmute requests from the `audio` source, rate-limited.

Only the detection (time, kind, score) is sent; the daemon decides and records it. A refusal
(locked window, outranked, clock) is logged and the gate carries on.
"""

import logging
import time

from ..errors import DaemonUnavailable, MickillError, Refused
from .detector import Detection

log = logging.getLogger("mickill.audio")
MIN_INTERVAL_S = 10.0     # at most one opening attempt per this many seconds
CANCEL_WITHIN_S = 2.0     # a cancel this soon after our opening closes the mic again


class Gate:
    def __init__(self, client, window_s: int, min_interval_s: float = MIN_INTERVAL_S, clock=time.monotonic):
        self.client = client
        self.window_s = window_s
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._last_attempt: float | None = None
        self._opened_at: float | None = None

    def on_detection(self, detection: Detection) -> str:
        """Act on one detection; returns what happened: opened, closed, refused:CODE,
        rate_limited, ignored, unavailable or error."""
        now = self.clock()
        if detection.kind == "cancel":
            return self._cancel(detection, now)
        if self._last_attempt is not None and now - self._last_attempt < self.min_interval_s:
            log.info("audio: %s ignored, the gate opened less than %gs ago", detection.kind, self.min_interval_s)
            return "rate_limited"
        self._last_attempt = now
        try:
            self.client.request("unmute", **{"for": self.window_s, "detection": detection.as_dict()})
        except Refused as refusal:
            log.info("audio: %s heard, unmute refused (%s): %s", detection.kind, refusal.code, refusal)
            return f"refused:{refusal.code}"
        except DaemonUnavailable as exc:
            log.warning("audio: %s heard, but %s", detection.kind, exc)
            return "unavailable"
        except MickillError as exc:
            log.error("audio: the daemon rejected the unmute request: %s", exc)
            return "error"
        self._opened_at = now
        log.info("audio: %s heard (score %.2f), mic open for %ss", detection.kind, detection.score, self.window_s)
        return "opened"

    def _cancel(self, detection: Detection, now: float) -> str:
        if self._opened_at is None or now - self._opened_at > CANCEL_WITHIN_S:
            return "ignored"
        self._opened_at = None
        try:
            status = self.client.request("status")
            override = status.get("override") or {}
            if status.get("state") != "live" or override.get("source") != "audio":
                return "ignored"   # someone else decided since: not ours to close
            self.client.request("mute", detection=detection.as_dict())
        except MickillError as exc:
            log.warning("audio: clatter after the knock, but could not cut the mic again: %s", exc)
            return "error"
        log.info("audio: more clatter followed the knock: mic cut again")
        return "closed"
