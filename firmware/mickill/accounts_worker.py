"""Runs the panel's account operations off the daemon's loop, on their own database connection.

Password hashing (scrypt) takes 50-100 ms here and far longer on a Pi Zero; done on the loop it
would delay schedule boundaries and socket answers. The worker answers through a callback.
"""

import logging
import queue
import threading

from . import accounts
from .control import error
from .store import Store

log = logging.getLogger("mickill")


class AccountsWorker:
    def __init__(self, database_path, clock):
        self._database_path = database_path
        self._clock = clock
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mickill-accounts", daemon=True)
        self._thread.start()

    def submit(self, request: dict, done) -> None:
        """Handle `request` on the worker thread, then call done(response) there."""
        self._requests.put((request, done))

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=5)

    def _run(self):
        # SQLite connections belong to one thread each; the daemon made the tables at start.
        store = Store(self._database_path)
        try:
            while (item := self._requests.get()) is not None:
                request, done = item
                try:
                    response = accounts.handle(store, request, self._clock.now())
                except Exception:
                    log.exception("account operation %r failed", request.get("op"))
                    response = error("internal", f"'{request.get('op')}' failed inside the daemon; see its log")
                done(response)
        finally:
            store.close()
