"""The panel's one way to the daemon: control-socket clients kept open per worker thread (a
fresh connection per request costs more than the request), speaking as "web" for the pages
and "api" for bearer-token calls."""

import threading

from flask import current_app

from mickill.control import Client
from mickill.errors import DaemonUnavailable
from mickill.paths import socket_path

_local = threading.local()


def client(source: str = "web") -> Client:
    """This thread's client for `source`, connected on first use and kept for later requests."""
    clients = _local.__dict__.setdefault("clients", {})
    key = (current_app.config["MICKILL_DATA"], source)
    if key not in clients:
        clients[key] = Client(socket_path(key[0]), source, timeout=current_app.config["DAEMON_TIMEOUT"])
    return clients[key]


def _with_retry(send, source: str):
    each = client(source)
    kept = each._sock is not None
    try:
        return send(each)
    except DaemonUnavailable:
        each.close()
        if not kept:
            raise
        # The daemon closes connections that idle too long: one fresh try tells that from a stop.
        return send(each)


def ask(op: str, source: str = "web", **fields) -> dict:
    """One request; raises Refused, RequestError or DaemonUnavailable as the Client does."""
    return _with_retry(lambda each: each.request(op, **fields), source)


def raw(op: str, source: str = "web", **fields) -> dict:
    """One request whose answer is returned as it is, even when it says no."""
    return _with_retry(lambda each: each.raw({"op": op, "source": source, **fields}), source)


def init_app(app) -> None:
    """Nothing to hook: connections live with their threads and close when the process ends."""
