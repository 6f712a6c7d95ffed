"""The control socket against bad, slow and hostile clients: errors, never a stalled daemon."""

import json
import os
import socket
import stat
import time

import pytest

from mickill.control import MAX_LINE


def connect(daemon) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(str(daemon.socket))
    return sock


def exchange(sock: socket.socket, payload: bytes) -> dict:
    sock.sendall(payload)
    buffer = b""
    while not buffer.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return json.loads(buffer)


def answers_quickly(daemon, limit_s: float = 0.5) -> float:
    began = time.monotonic()
    assert daemon.status()["ok"] is True
    elapsed = time.monotonic() - began
    assert elapsed < limit_s
    return elapsed


@pytest.fixture
def daemon(start_daemon):
    return start_daemon()


def test_socket_mode_is_0660(daemon):
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o660


@pytest.mark.parametrize("payload, code", [
    (b"{not json\n", "bad_request"),
    (b"[1, 2, 3]\n", "bad_request"),
    (b"\xff\xfe\x00garbage\n", "bad_request"),
    (b'{"source": "cli"}\n', "bad_request"),
    (b'{"op": "status"}\n', "bad_request"),
    (b'{"op": "status", "source": "neighbour"}\n', "bad_request"),
    (b'{"op": "unmute", "source": "button"}\n', "forbidden_source"),
    (b'{"op": "unmute", "source": "schedule"}\n', "forbidden_source"),
    (b'{"op": "self-destruct", "source": "cli"}\n', "unknown_op"),
    (b'{"op": "mute", "source": "cli", "for": "ever"}\n', "bad_request"),
    (b'{"op": "mute", "source": "cli", "for": -5}\n', "bad_request"),
    (b'{"op": "plan", "source": "cli", "from": "yesterday", "to": "today"}\n', "bad_request"),
    (b'{"op": "schedule.set", "source": "cli", "toml": "timezone = \\"Mars/Olympus\\""}\n', "invalid"),
    (b'{"op": "settings.set", "source": "cli", "settings": {"hold_s": 99}}\n', "invalid"),
    (b'{"op": "sim.hold", "source": "cli"}\n', "bad_request"),
])
def test_bad_requests_get_an_error_and_the_connection_stays_usable(daemon, payload, code):
    before = daemon.request("schedule.get")["toml"]
    with connect(daemon) as sock:
        answer = exchange(sock, payload)
        assert answer["ok"] is False and answer["error"] == code and answer["message"]
        again = exchange(sock, b'{"op": "status", "source": "cli", "id": 7}\n')
        assert again["ok"] is True and again["id"] == 7
    assert daemon.request("schedule.get")["toml"] == before
    assert daemon.status()["state"] == "live"


def test_invalid_schedule_names_entry_and_field(daemon):
    with connect(daemon) as sock:
        bad = 'timezone = "UTC"\n[[window]]\nname = "Night"\ndays = ["mon"]\nstart = "22:00"\nend = "7"\nstate = "muted"\n'
        answer = exchange(sock, json.dumps({"op": "schedule.set", "source": "cli", "toml": bad}).encode() + b"\n")
    assert answer["error"] == "invalid" and answer["field"] == "end" and "Night" in answer["entry"]


def test_a_line_over_64_kib_is_refused_and_the_connection_closed(daemon):
    with connect(daemon) as sock:
        sock.sendall(b'{"op": "status", "source": "cli", "pad": "' + b"x" * (MAX_LINE + 10))
        answer = json.loads(sock.recv(65536).split(b"\n")[0])
        assert answer["error"] == "too_large"
        time.sleep(0.05)
        assert sock.recv(65536) == b""          # closed by the daemon
    answers_quickly(daemon)


def test_half_sent_and_silent_clients_do_not_stall_the_loop(daemon):
    stalled = [connect(daemon) for _ in range(20)]
    for sock in stalled:
        sock.sendall(b'{"op": "status", "sou')  # never finished
    try:
        for _ in range(5):
            answers_quickly(daemon, limit_s=0.2)
        # The button still cuts at once while they hang there.
        assert daemon.request("sim.press")["relay"] == "cut"
    finally:
        for sock in stalled:
            sock.close()


def test_a_client_that_never_reads_is_dropped_not_waited_for(daemon):
    greedy = connect(daemon)
    greedy.setblocking(False)
    request = b'{"op": "schedule.get", "source": "cli"}\n' * 200
    sent = 0
    try:
        for _ in range(200):
            try:
                sent += greedy.send(request)
            except BlockingIOError:
                break
            except (BrokenPipeError, ConnectionResetError):
                break                                 # the daemon already dropped it
        answers_quickly(daemon)
    finally:
        greedy.close()
    assert sent > 0


def test_many_requests_on_one_connection_in_one_write(daemon):
    with connect(daemon) as sock:
        sock.sendall(b"".join(json.dumps({"op": "status", "source": "cli", "id": i}).encode() + b"\n"
                              for i in range(50)))
        buffer = b""
        while buffer.count(b"\n") < 50:
            buffer += sock.recv(65536)
    ids = [json.loads(line)["id"] for line in buffer.splitlines()]
    assert ids == list(range(50))


def test_a_client_that_hangs_up_mid_request_changes_nothing(daemon):
    for _ in range(10):
        sock = connect(daemon)
        sock.sendall(b'{"op": "mute", "source": "cli"')   # no newline: never a request
        sock.close()
    assert daemon.status()["state"] == "live"


def test_a_second_daemon_on_the_same_folder_refuses_to_start(daemon):
    from daemon_harness import cli

    daemon.request("schedule.set", toml='timezone = "UTC"\ndefault = "muted"\n')
    daemon.request("unmute", **{"for": 600})
    ledger_before = daemon.request("ledger")["changes"]
    second = cli("run", "--simulate", "--no-web", "--data", str(daemon.data), "--config", str(daemon.config),
                 data=daemon.data)
    assert second.returncode == 2 and "already running" in second.stderr
    # The running daemon's ledger and temporary unmute are untouched by the attempt.
    assert daemon.request("ledger")["changes"] == ledger_before
    assert daemon.status()["state"] == "live"
    answers_quickly(daemon)
