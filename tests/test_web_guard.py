"""The panel's locks: every route guarded, CSRF, security headers, throttling, and a plain 503
page when the daemon is down. Against a real daemon on simulated pins."""

import re

import pytest

from web_support import PASSWORD, admin_folder, csrf_token, daemon_folder, login, make_app  # noqa: F401

SAMPLE_ARGS = {"number": 1, "kind": "window", "action": "press", "token_id": 1, "filename": "style.css"}
OPEN = {"static", "auth.login", "auth.setup"}


def _routes():
    app = make_app("/nonexistent-mickill-folder")
    routes = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(SAMPLE_ARGS[m.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(pytest.param(rule.endpoint, method, path, id=f"{method} {rule.rule}"))
    return routes


ROUTES = _routes()


@pytest.mark.parametrize("endpoint, method, path", ROUTES)
def test_every_route_is_guarded(admin_folder, endpoint, method, path):
    client = make_app(admin_folder, csrf=True).test_client()
    with client.open(path, method=method) as response:
        check_guarded(endpoint, response)


def check_guarded(endpoint, response):
    if endpoint.startswith("api."):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif endpoint in OPEN:
        # Open pages answer, but never let anyone in: a POST without a CSRF token is refused,
        # and setup is gone (404) once an admin exists.
        assert response.status_code in (200, 400, 404)
        assert "Set-Cookie" not in response.headers or "admin" not in response.headers["Set-Cookie"]
    else:
        assert response.status_code == 302
        assert response.location.endswith("/login")


def test_every_route_is_in_the_table():
    # A new route must be added to SAMPLE_ARGS' knowledge, or the guard test would skip it.
    assert {param.values[0] for param in ROUTES} >= {"dashboard.index", "api.status", "simulator.act"}


def test_headers_on_every_page(admin_folder):
    client = make_app(admin_folder).test_client()
    login(client)
    for path in ("/", "/login", "/schedule", "/status.json"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_strict(admin_folder):
    client = make_app(admin_folder).test_client()
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_pages_have_no_inline_script(admin_folder):
    client = make_app(admin_folder).test_client()
    login(client)
    for path in ("/", "/schedule", "/ledger", "/settings", "/simulator"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " on" + "click=" not in page and "style=" not in page


def test_forms_without_a_csrf_token_change_nothing(admin_folder):
    client = make_app(admin_folder, csrf=True).test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"password": PASSWORD, "csrf_token": token}).status_code == 302
    before = client.get("/schedule/export").get_data(as_text=True)
    forged = client.post("/schedule/window/new", data={"name": "Forged", "days": ["mon"], "start": "01:00",
                                                       "end": "02:00", "state": "live", "enabled": "y"})
    assert forged.status_code == 400 and "Form expired" in forged.get_data(as_text=True)
    assert client.post("/mute").status_code == 400
    assert client.get("/schedule/export").get_data(as_text=True) == before
    good = csrf_token(client, "/schedule")
    saved = client.post("/schedule/window/new", data={"name": "Real", "days": ["mon"], "start": "01:00",
                                                      "end": "02:00", "state": "live", "enabled": "y",
                                                      "csrf_token": good})
    assert saved.status_code == 302
    assert "Real" in client.get("/schedule/export").get_data(as_text=True)


def test_login_is_throttled_per_address(admin_folder):
    app = make_app(admin_folder)
    client = app.test_client()
    for _ in range(5):
        assert login(client, "wrong password").status_code == 401
    blocked = login(client, PASSWORD)  # even the right password waits out the backoff
    assert blocked.status_code == 429 and "wait" in blocked.get_data(as_text=True)
    other = app.test_client()
    elsewhere = other.post("/login", data={"password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 302


def test_logout_ends_the_session(admin_folder):
    client = make_app(admin_folder).test_client()
    login(client)
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").location.endswith("/login")


def test_daemon_down_is_a_plain_503(tmp_path):
    client = make_app(tmp_path).test_client()
    for path in ("/", "/login", "/setup", "/schedule", "/status.json"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 503, path
        assert "not running" in page and "Traceback" not in page
    page = client.get("/").get_data(as_text=True)
    assert "mic is cut" in page or "microphone is cut" in page
    api = client.get("/api/v1/status", headers={"Authorization": "Bearer x"})
    assert api.status_code == 503 and api.is_json


def test_unknown_page_is_a_styled_404(admin_folder):
    client = make_app(admin_folder).test_client()
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "style.css" in response.get_data(as_text=True)


def test_panel_follows_the_daemon_down_and_back(tmp_path):
    from web_support import start_daemon, stop

    client = make_app(tmp_path).test_client()
    process = start_daemon(tmp_path)
    assert client.get("/").location.endswith("/setup")  # the kept connection is now open
    stop(process)
    assert client.get("/").status_code == 503
    process = start_daemon(tmp_path)
    try:
        assert client.get("/").location.endswith("/setup")
    finally:
        stop(process)
