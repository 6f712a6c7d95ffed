"""First run of the panel: no default password, a one-time setup code, and no setup page
once an admin exists. Each test here starts from a daemon without an admin."""

import subprocess
import sys

import pytest

from web_support import PASSWORD, errors_in, login, make_app, setup_code, start_daemon, stop


@pytest.fixture
def fresh_folder(tmp_path):
    process = start_daemon(tmp_path)
    yield tmp_path
    stop(process)


def setup(client, code, password=PASSWORD, confirm=None):
    return client.post("/setup", data={"code": code, "password": password,
                                       "confirm": password if confirm is None else confirm})


def test_first_run_leads_everywhere_to_setup_and_closes_after(fresh_folder):
    client = make_app(fresh_folder).test_client()
    for path in ("/", "/login", "/schedule", "/settings"):
        assert client.get(path).location.endswith("/setup"), path
    assert login(client).location.endswith("/setup")  # no default password to try
    code = setup_code(fresh_folder)
    done = setup(client, code)
    assert done.status_code == 302 and done.location.endswith("/")
    assert client.get("/").status_code == 200  # logged in by the setup itself
    stranger = make_app(fresh_folder).test_client()
    assert stranger.get("/setup").status_code == 404
    assert setup(stranger, code).status_code == 404  # the code, even once known, is spent
    assert stranger.get("/").location.endswith("/login")


def test_a_code_is_good_for_one_admin_only(fresh_folder):
    code = setup_code(fresh_folder)
    first, second = make_app(fresh_folder).test_client(), make_app(fresh_folder).test_client()
    assert setup(first, code).status_code == 302
    assert setup(second, code, password="another password entirely").status_code == 404
    assert login(second, "another password entirely").status_code == 401
    assert login(second).status_code == 302


@pytest.mark.parametrize("code, password, confirm, expected", [
    ("WRONG", PASSWORD, None, "wrong or expired"),
    (None, "short", None, "at least 10"),
    (None, PASSWORD, "different password", "differ"),
    ("", PASSWORD, None, "mickill setup-code"),
])
def test_setup_form_explains_bad_input(fresh_folder, code, password, confirm, expected):
    client = make_app(fresh_folder).test_client()
    response = setup(client, setup_code(fresh_folder) if code is None else code, password, confirm)
    assert response.status_code == 200
    assert any(expected in error for error in errors_in(response.get_data(as_text=True)))
    assert client.get("/").location.endswith("/setup")


def test_guessing_setup_codes_is_throttled(fresh_folder):
    client = make_app(fresh_folder).test_client()
    for guess in range(5):
        assert setup(client, f"0000-0000-000{guess}").status_code == 200
    assert setup(client, setup_code(fresh_folder)).status_code == 429


def test_setup_code_command(fresh_folder):
    command = [sys.executable, "-m", "mickill.cli.main", "setup-code", "--data", str(fresh_folder)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0 and "valid once" in first.stderr
    code = first.stdout.strip()
    assert setup(make_app(fresh_folder).test_client(), code).status_code == 302
    again = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert again.returncode == 2 and "already has an admin" in again.stderr


def test_setup_code_command_without_daemon(tmp_path):
    command = [sys.executable, "-m", "mickill.cli.main", "setup-code", "--data", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 3 and "not running" in result.stderr
