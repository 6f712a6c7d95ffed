"""Panel logins are kept by the daemon and end for real: a copied cookie stops working after
logout, after a password change, after 12 hours, and on another device. Real daemons."""

import pytest

from web_support import (PASSWORD, admin_folder, ask, csrf_token, daemon_folder, login,  # noqa: F401
                         make_admin, make_app, start_daemon, stop)

COOKIE = "mickill_session"


def copy_of(client, app):
    """A second browser holding a copy of `client`'s session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def is_sent_to_login(response) -> bool:
    return response.status_code == 302 and response.location.endswith("/login")


def test_a_copied_cookie_stops_working_after_logout(admin_folder):
    app = make_app(admin_folder, csrf=True)
    owner = app.test_client()
    token = csrf_token(owner, "/login")
    assert owner.post("/login", data={"password": PASSWORD, "csrf_token": token}).status_code == 302
    thief = copy_of(owner, app)
    assert thief.get("/").status_code == 200  # a copy works while the login lasts
    stolen_token = csrf_token(thief, "/")
    ask(admin_folder, "mute")
    assert owner.post("/logout", data={"csrf_token": csrf_token(owner, "/")}).status_code == 302
    assert is_sent_to_login(thief.get("/"))
    assert is_sent_to_login(thief.post("/unmute", data={"csrf_token": stolen_token, "duration": "900"}))
    assert ask(admin_folder, "status")["state"] == "muted"
    assert is_sent_to_login(owner.get("/"))


def test_a_password_change_ends_every_session_but_renews_the_changers(admin_folder):
    app = make_app(admin_folder)
    owner, other = app.test_client(), app.test_client()
    login(owner)
    login(other)
    old_copy = copy_of(owner, app)
    changed = owner.post("/settings/password", data={"old_password": PASSWORD, "new_password": "a new long password"})
    try:
        assert changed.status_code == 302
        assert is_sent_to_login(other.get("/"))
        assert is_sent_to_login(old_copy.get("/"))
        assert owner.get("/").status_code == 200  # the one who changed it stays in, on a new session
    finally:
        back = owner.post("/settings/password", data={"old_password": "a new long password", "new_password": PASSWORD})
        assert back.status_code == 302


def test_an_expired_session_is_refused(tmp_path):
    daemon = start_daemon(tmp_path)
    try:
        make_admin(tmp_path)
        client = make_app(tmp_path).test_client()
        login(client)
        ask(tmp_path, "sim.clock", offset=11.9 * 3600)
        assert client.get("/").status_code == 200
        ask(tmp_path, "sim.clock", offset=12 * 3600 + 1)
        assert is_sent_to_login(client.get("/"))
        ask(tmp_path, "sim.clock", offset=0)
        assert is_sent_to_login(client.get("/"))  # ended for good, not just while the clock was ahead
    finally:
        stop(daemon)


def test_a_session_from_another_device_is_refused(admin_folder, tmp_path):
    daemon = start_daemon(tmp_path)
    try:
        make_admin(tmp_path)
        here = make_app(admin_folder)  # both panels sign cookies with the same key
        there = make_app(tmp_path)
        client = here.test_client()
        login(client)
        assert client.get("/").status_code == 200
        assert is_sent_to_login(copy_of(client, there).get("/"))
    finally:
        stop(daemon)


def test_the_cookie_holds_only_a_session_id(admin_folder):
    app = make_app(admin_folder)
    client = app.test_client()
    login(client)
    session = app.session_interface.get_signing_serializer(app).loads(client.get_cookie(COOKIE).value)
    assert set(session) <= {"sid", "_permanent", "csrf_token"} and len(session["sid"]) >= 32


@pytest.mark.parametrize("forged", [{"admin": True}, {"sid": "made-up"}, {"sid": 42}])
def test_a_forged_session_gets_nowhere(admin_folder, forged):
    # Even someone holding the signing key cannot make a login the daemon does not know.
    app = make_app(admin_folder)
    client = app.test_client()
    client.set_cookie(COOKIE, app.session_interface.get_signing_serializer(app).dumps(forged))
    assert is_sent_to_login(client.get("/"))
