"""What keeps a hostile neighbour out: security headers, login throttling per client address,
and the session-signing key."""

import os
import secrets
import threading
import time
from pathlib import Path

from flask import request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
FREE_FAILURES = 5          # failures allowed before the backoff starts
MAX_BACKOFF_S = 15 * 60
FORGET_AFTER_S = 24 * 3600  # an address quiet this long starts afresh


class Throttle:
    """Exponential backoff per client address: after FREE_FAILURES failures, each further
    failure doubles the wait (1 s, 2 s, 4 s, ... up to 15 minutes). Time is passed in."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, float, float]] = {}  # address -> (failures, blocked_until, last)

    def wait(self, address: str, now: float) -> float:
        """Seconds `address` must still wait before it may try again (0 when it may)."""
        with self._lock:
            failures, blocked_until, last = self._seen.get(address, (0, 0.0, now))
            if now - last > FORGET_AFTER_S:
                self._seen.pop(address, None)
                return 0.0
            return max(0.0, blocked_until - now)

    def failed(self, address: str, now: float) -> None:
        with self._lock:
            failures = self._seen.get(address, (0, 0.0, now))[0] + 1
            blocked_until = 0.0
            if failures >= FREE_FAILURES:
                blocked_until = now + min(MAX_BACKOFF_S, 2.0 ** (failures - FREE_FAILURES))
            self._seen[address] = (failures, blocked_until, now)
            if len(self._seen) > 10000:  # a flood of addresses may not grow memory without end
                oldest = min(self._seen, key=lambda key: self._seen[key][2])
                del self._seen[oldest]

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._seen.pop(address, None)


def client_address() -> str:
    return request.remote_addr or "unknown"


def monotonic() -> float:
    return time.monotonic()


def add_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint != "static":
        # Pages and JSON show the mic's state or secrets: never keep them in a cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def secret_key(env=os.environ) -> bytes:
    """The key that signs session cookies. Kept (0600) in the panel's own state folder when
    systemd gives it one ($STATE_DIRECTORY); otherwise made fresh at each start, so logins
    end when the panel restarts: the web user may not write to the daemon's data folder."""
    folder = env.get("STATE_DIRECTORY", "").split(":")[0]
    if not folder:
        return secrets.token_bytes(32)
    path = Path(folder) / "secret_key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def init_app(app) -> None:
    app.extensions["mickill_throttle"] = Throttle()
    app.after_request(add_headers)
