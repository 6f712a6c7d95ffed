"""The control socket: JSON lines over a Unix socket, a non-blocking server and a small client.

The server never blocks: it is driven by the daemon's selector, reads whatever has arrived,
answers complete lines, and drops clients that send too much, stop reading, or idle too long.
"""

import errno
import json
import os
import selectors
import socket
import stat
import struct
import time
from pathlib import Path

from .errors import DaemonUnavailable, MickillError, Refused, RequestError

MAX_LINE = 64 * 1024          # longest request line accepted
MAX_PENDING_OUT = 1 << 20     # a client that stops reading is dropped past this much unsent output
MAX_CLIENTS = 64
IDLE_TIMEOUT_S = 60.0         # a silent connection (not watching) is closed after this
# Errors that are the policy saying no, as opposed to a malformed request.
POLICY_CODES = frozenset({"locked", "outranked", "switch", "clock", "fault", "not_simulated"})


def error(code: str, message: str, **extra) -> dict:
    return {"ok": False, "error": code, "message": message, **extra}


class Connection:
    """One client: its socket, what it has sent so far, and what is still to be sent to it."""

    def __init__(self, sock: socket.socket, now: float):
        self.sock = sock
        self.uid = _peer_uid(sock)  # who is on the other end, as the kernel says
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.last_seen = now
        self.watching = False
        self.closing = False      # close once the outbox is flushed
        self.waiting = 0          # requests whose answers will come later (sim.hold)


class ControlServer:
    """Accepts clients on `path` and passes each request to `handler(connection, request)`.

    The handler returns the response object, or None when it will answer later through
    `reply(connection, response)`. Everything runs on the daemon's thread via `selector`.
    """

    def __init__(self, path: Path, handler, selector: selectors.BaseSelector, mode: int = 0o660):
        self.path = Path(path)
        self.handler = handler
        self.selector = selector
        self.connections: dict[int, Connection] = {}
        self._remove_stale_socket()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o777 & ~mode)  # the socket is born with its final mode: no window
        try:
            self.listener.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, mode)
        self.listener.listen(64)
        self.listener.setblocking(False)
        selector.register(self.listener, selectors.EVENT_READ, self._accept)

    def _remove_stale_socket(self):
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise MickillError(f"{self.path} exists and is not a socket: move it away and start again")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink()  # left behind by a daemon that died: nobody is listening
        else:
            raise MickillError(f"another mickill daemon is already running on {self.path}")
        finally:
            probe.close()

    def close(self):
        for conn in list(self.connections.values()):
            self._drop(conn)
        self.selector.unregister(self.listener)
        self.listener.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    # -- events from the selector -------------------------------------------------------

    def _accept(self, _mask):
        while True:  # take every waiting client, so a burst cannot fill the backlog
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # out of file descriptors: the others are served, this one retries
            if len(self.connections) >= MAX_CLIENTS:
                sock.close()
                continue
            sock.setblocking(False)
            conn = Connection(sock, time.monotonic())
            self.connections[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_READ, lambda mask, c=conn: self._service(c, mask))

    def _service(self, conn: Connection, mask: int):
        if mask & selectors.EVENT_READ:
            self._read(conn)
        if mask & selectors.EVENT_WRITE and conn.sock.fileno() >= 0:
            self._flush(conn)

    def _read(self, conn: Connection):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:  # the client closed its end; answer what is complete, then go
            conn.closing = True
            self._update_interest(conn)
            return
        conn.last_seen = time.monotonic()
        conn.inbox += data
        while not conn.closing:
            newline = conn.inbox.find(b"\n")
            if newline < 0:
                if len(conn.inbox) > MAX_LINE:
                    self._send(conn, error("too_large", f"request longer than {MAX_LINE} bytes"))
                    conn.closing = True
                break
            line = bytes(conn.inbox[:newline])
            del conn.inbox[: newline + 1]
            if len(line) > MAX_LINE:
                self._send(conn, error("too_large", f"request longer than {MAX_LINE} bytes"))
                conn.closing = True
                break
            if line.strip():
                self._answer(conn, line)
        self._update_interest(conn)

    def _answer(self, conn: Connection, line: bytes):
        try:
            request = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._send(conn, error("bad_request", f"not a JSON object: {exc}"))
            return
        if not isinstance(request, dict):
            self._send(conn, error("bad_request", "a request must be a JSON object"))
            return
        response = self.handler(conn, request)
        if response is None:
            conn.waiting += 1
        else:
            self._send(conn, _with_id(response, request))

    def reply(self, conn: Connection, response: dict, request: dict | None = None):
        """Send a late answer (for a handler that returned None)."""
        if conn.sock.fileno() < 0:
            return
        conn.waiting = max(0, conn.waiting - 1)
        self._send(conn, _with_id(response, request or {}))
        self._update_interest(conn)

    def broadcast(self, message: dict):
        """Send `message` to every client that asked to watch."""
        for conn in list(self.connections.values()):
            if conn.watching:
                self._send(conn, message)
                self._update_interest(conn)

    def _send(self, conn: Connection, message: dict):
        conn.outbox += json.dumps(message, separators=(",", ":")).encode() + b"\n"
        if len(conn.outbox) > MAX_PENDING_OUT:
            self._drop(conn)  # it does not read what it asked for: it may not stall us
            return
        self._flush(conn)

    def _flush(self, conn: Connection):
        if conn.sock.fileno() < 0:
            return
        try:
            while conn.outbox:
                sent = conn.sock.send(conn.outbox)
                del conn.outbox[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop(conn)
            return
        self._update_interest(conn)

    def _update_interest(self, conn: Connection):
        if conn.sock.fileno() < 0:
            return
        if conn.closing and not conn.outbox and not conn.waiting:
            self._drop(conn)
            return
        events = selectors.EVENT_READ if not conn.closing else 0
        if conn.outbox:
            events |= selectors.EVENT_WRITE
        if not events:
            events = selectors.EVENT_READ  # still waiting for a late answer; notice a hang-up
        try:
            self.selector.modify(conn.sock, events, self.selector.get_key(conn.sock).data)
        except (KeyError, ValueError):
            pass

    def _drop(self, conn: Connection):
        if conn.sock.fileno() >= 0:
            self.connections.pop(conn.sock.fileno(), None)
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.sock.close()

    def sweep_idle(self, now: float):
        """Close connections that have said nothing for too long (half-open or forgotten)."""
        for conn in list(self.connections.values()):
            if not conn.watching and not conn.waiting and now - conn.last_seen > IDLE_TIMEOUT_S:
                self._drop(conn)


def _peer_uid(sock: socket.socket) -> int | None:
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    return struct.unpack("3i", creds)[1]


def _with_id(response: dict, request: dict) -> dict:
    if "id" in request and "id" not in response:
        return {**response, "id": request["id"]}
    return response


class Client:
    """A client of the daemon: `Client(data_dir, source="cli").request("status")`."""

    def __init__(self, socket_path: Path, source: str, timeout: float = 10.0):
        self.path = Path(socket_path)
        self.source = source
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise DaemonUnavailable(
                    f"no permission to reach the daemon at {self.path}: "
                    "run as a member of the mickill group, or with sudo") from None
            raise DaemonUnavailable(
                f"the mickill daemon is not running (no answer on {self.path}); "
                "start it with 'mickill run', or give the right --data folder") from None
        self._sock = sock

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._buffer.clear()

    def request(self, op: str, **fields) -> dict:
        """Send one request and return the daemon's answer; raise on a refusal or an error."""
        response = self.raw({"op": op, "source": self.source, **fields})
        if response.get("ok"):
            return response
        code = response.get("error", "internal")
        message = response.get("message", "the daemon gave no reason")
        if code in POLICY_CODES:
            raise Refused(code, message)
        raise RequestError(code, message, response.get("entry"), response.get("field"))

    def raw(self, message: dict) -> dict:
        """Send `message` as it is and return the answer object, whatever it says."""
        self.connect()
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
            return self._read_line()
        except (OSError, ValueError) as exc:
            self.close()
            raise DaemonUnavailable(f"lost the connection to the daemon at {self.path}: {exc}") from None

    def watch(self):
        """Yield the status object now and again after every change, until the daemon stops."""
        first = self.request("watch")
        yield first
        while True:
            try:
                self._sock.settimeout(None)
                yield self._read_line()
            except (OSError, ValueError):
                self.close()
                return

    def _read_line(self) -> dict:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return json.loads(line)
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ValueError("the daemon closed the connection")
            self._buffer += chunk
