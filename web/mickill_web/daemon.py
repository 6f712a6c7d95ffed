"""The panel's one way to the daemon: a control-socket client per request, with the source it
speaks for ("web" for the pages, "api" for bearer-token calls)."""

from flask import current_app, g

from mickill.control import Client
from mickill.paths import socket_path


def client(source: str = "web") -> Client:
    """A connected-on-demand client, reused for the rest of this request and closed after it."""
    clients = g.setdefault("mickill_clients", {})
    if source not in clients:
        path = socket_path(current_app.config["MICKILL_DATA"])
        clients[source] = Client(path, source, timeout=current_app.config["DAEMON_TIMEOUT"])
    return clients[source]


def ask(op: str, source: str = "web", **fields) -> dict:
    """One request; raises Refused, RequestError or DaemonUnavailable as the Client does."""
    return client(source).request(op, **fields)


def raw(op: str, source: str = "web", **fields) -> dict:
    """One request whose answer is returned as it is, even when it says no."""
    return client(source).raw({"op": op, "source": source, **fields})


def close_clients(_exc=None) -> None:
    for each in g.pop("mickill_clients", {}).values():
        each.close()


def init_app(app) -> None:
    app.teardown_appcontext(close_clients)
