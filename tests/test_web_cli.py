"""`mickill web`: served by waitress on the address asked for, with a clear error when taken."""

import socket
import subprocess
import sys
import urllib.request

from web_support import stop


def test_serves_and_prints_its_address(tmp_path):
    web = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "web", "--data", str(tmp_path),
                            "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = web.stdout.readline().strip()
        assert line.startswith("mickill web panel: http://127.0.0.1:")
        url = line.split(": ", 1)[1]
        try:
            urllib.request.urlopen(url, timeout=10)
        except urllib.error.HTTPError as error:  # no daemon in tmp_path: the plain 503 page
            assert error.code == 503 and error.headers["Server"] == "mickill"
            assert "not running" in error.read().decode()
        else:
            raise AssertionError("expected a 503 without a daemon")
    finally:
        web.stdout.close()
        stop(web)


def test_a_taken_port_is_a_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "mickill.cli.main", "web", "--data", str(tmp_path),
                                 "--bind", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--bind" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_bind_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mickill.cli.main", "web", "--data", str(tmp_path),
                             "--bind", "localhost"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
