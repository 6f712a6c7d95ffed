"""accounts: the admin, setup codes, login sessions and API tokens, against a real SQLite file."""

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from mickill import accounts
from mickill.store import Store

NOW = datetime(2027, 3, 28, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "mickill.db") as store:
        accounts.ensure_schema(store)
        yield store


def ask(store, op, now=NOW, source="web", **fields):
    return accounts.handle(store, {"op": op, "source": source, **fields}, now)


def make_admin(store):
    code = ask(store, "auth.setup_code", source="cli")["code"]
    assert ask(store, "auth.setup", code=code, password=PASSWORD)["ok"] is True


def test_schema_is_idempotent_and_survives_reopening(tmp_path, store):
    accounts.ensure_schema(store)
    make_admin(store)
    store.close()
    with Store(tmp_path / "mickill.db") as again:
        accounts.ensure_schema(again)
        assert ask(again, "auth.state")["admin_exists"] is True


def test_setup_code_only_for_the_cli(store):
    for source in ("web", "api"):
        assert ask(store, "auth.setup_code", source=source)["error"] == "forbidden_source"


def test_setup_code_is_single_use_and_setup_closes_after(store):
    assert ask(store, "auth.state")["admin_exists"] is False
    code = ask(store, "auth.setup_code", source="cli")["code"]
    assert ask(store, "auth.setup", code=code, password=PASSWORD)["ok"] is True
    again = ask(store, "auth.setup", code=code, password=PASSWORD + "x")
    assert again["error"] == "admin_exists"
    assert ask(store, "auth.setup_code", source="cli")["error"] == "admin_exists"
    assert accounts.startup_code(store, NOW) is None
    assert ask(store, "auth.login", password=PASSWORD)["ok"] is True
    assert ask(store, "auth.login", password=PASSWORD + "x")["error"] == "bad_credentials"


def test_wrong_expired_and_replaced_codes_are_refused(store):
    first = accounts.startup_code(store, NOW)
    assert ask(store, "auth.setup", code="0000-0000-0000", password=PASSWORD)["error"] == "bad_code"
    second = ask(store, "auth.setup_code", source="cli")["code"]
    assert second != first
    assert ask(store, "auth.setup", code=first, password=PASSWORD)["error"] == "bad_code"
    late = NOW + accounts.SETUP_CODE_LIFETIME
    assert ask(store, "auth.setup", now=late, code=second, password=PASSWORD)["error"] == "bad_code"
    assert ask(store, "auth.state")["admin_exists"] is False


def test_short_password_keeps_the_code(store):
    code = ask(store, "auth.setup_code", source="cli")["code"]
    short = ask(store, "auth.setup", code=code, password="123456789")
    assert (short["error"], short["field"]) == ("invalid", "password")
    # A typo in the password does not burn the code; its case and spaces do not matter.
    assert ask(store, "auth.setup", code=f" {code.upper()} ", password=PASSWORD)["ok"] is True


def test_passwords_are_stored_as_scrypt_hashes(tmp_path, store):
    make_admin(store)
    db = sqlite3.connect(tmp_path / "mickill.db")
    (stored,) = db.execute("SELECT password_hash FROM accounts_admin").fetchone()
    db.close()
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_change_password(store):
    make_admin(store)
    wrong = ask(store, "auth.change_password", old_password="nope", new_password="another long one")
    assert wrong["error"] == "bad_credentials"
    short = ask(store, "auth.change_password", old_password=PASSWORD, new_password="short")
    assert short["field"] == "new_password"
    ok = ask(store, "auth.change_password", old_password=PASSWORD, new_password="another long one")
    assert ok["ok"] is True
    assert ask(store, "auth.login", password=PASSWORD)["error"] == "bad_credentials"
    assert ask(store, "auth.login", password="another long one")["ok"] is True


def session_ok(store, session, now=NOW) -> bool:
    return ask(store, "auth.session", now=now, session=session)["ok"]


def test_login_gives_a_session_that_logout_ends(tmp_path, store):
    make_admin(store)
    first = ask(store, "auth.login", password=PASSWORD)
    second = ask(store, "auth.login", password=PASSWORD)
    assert first["session"] != second["session"]
    assert first["expires"] == (NOW + accounts.SESSION_LIFETIME).isoformat(timespec="microseconds")
    assert session_ok(store, first["session"]) and session_ok(store, second["session"])
    assert ask(store, "auth.logout", session=first["session"]) == {"ok": True}
    assert not session_ok(store, first["session"])
    assert session_ok(store, second["session"])  # logging out one browser leaves the others
    db = sqlite3.connect(tmp_path / "mickill.db")
    assert second["session"] not in repr(db.execute("SELECT * FROM accounts_session").fetchall())
    db.close()


def test_a_session_ends_twelve_hours_after_login_however_busy(store):
    make_admin(store)
    session = ask(store, "auth.login", password=PASSWORD)["session"]
    for hours in range(12):
        assert session_ok(store, session, NOW + timedelta(hours=hours, minutes=59))
    refused = ask(store, "auth.session", now=NOW + accounts.SESSION_LIFETIME, session=session)
    assert refused["error"] == "bad_session" and "log in again" in refused["message"]


def test_last_seen_is_kept_coarsely(tmp_path, store):
    make_admin(store)
    session = ask(store, "auth.login", password=PASSWORD)["session"]
    db = sqlite3.connect(tmp_path / "mickill.db")
    digest = hashlib.sha256(session.encode()).hexdigest()
    seen = lambda: db.execute("SELECT last_seen FROM accounts_session WHERE id_sha256 = ?",  # noqa: E731
                              (digest,)).fetchall()[0][0]
    assert session_ok(store, session, NOW + timedelta(seconds=30))
    assert seen() == NOW.isoformat(timespec="microseconds")
    later = NOW + timedelta(minutes=2)
    assert session_ok(store, session, later)
    assert seen() == later.isoformat(timespec="microseconds")
    db.close()


def test_password_change_ends_every_session_and_renews_the_changers(store):
    make_admin(store)
    sessions = [ask(store, "auth.login", password=PASSWORD)["session"] for _ in range(3)]
    wrong = ask(store, "auth.change_password", old_password="nope", new_password="another long one")
    assert wrong["error"] == "bad_credentials" and all(session_ok(store, s) for s in sessions)
    changed = ask(store, "auth.change_password", session=sessions[0], old_password=PASSWORD,
                  new_password="another long one")
    assert not any(session_ok(store, s) for s in sessions)
    assert changed["session"] not in sessions and session_ok(store, changed["session"])


@pytest.mark.parametrize("session", [None, "", 42, "x" * 129, "not-a-session-of-this-device"])
def test_unknown_or_malformed_sessions_are_refused(store, session):
    make_admin(store)
    ask(store, "auth.login", password=PASSWORD)
    assert ask(store, "auth.session", session=session)["error"] == "bad_session"
    assert ask(store, "auth.logout", session=session) == {"ok": True}


def test_old_sessions_give_way_to_new_logins(store):
    make_admin(store)
    sessions = [ask(store, "auth.login", now=NOW + timedelta(seconds=i), password=PASSWORD)["session"]
                for i in range(accounts.MAX_SESSIONS + 2)]
    assert not session_ok(store, sessions[0]) and not session_ok(store, sessions[1])
    assert all(session_ok(store, s) for s in sessions[2:])


def test_token_lifecycle(tmp_path, store):
    made = ask(store, "token.create", name="home assistant")
    token = made["token"]
    later = NOW + timedelta(minutes=5)
    verified = ask(store, "token.verify", now=later, source="api", token=token)
    assert verified == {"ok": True, "id": made["id"], "name": "home assistant"}
    (listed,) = ask(store, "token.list")["tokens"]
    assert listed["last_used"] == later.isoformat(timespec="microseconds")
    assert listed["revoked"] is None and "token" not in listed
    db = sqlite3.connect(tmp_path / "mickill.db")
    assert token not in repr(db.execute("SELECT * FROM accounts_token").fetchall())
    db.close()
    assert ask(store, "token.revoke", id=made["id"]) == {"ok": True}
    assert ask(store, "token.verify", source="api", token=token)["error"] == "bad_token"
    assert ask(store, "token.revoke", id=999)["error"] == "not_found"


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, None])
def test_token_names_are_checked(store, name):
    assert ask(store, "token.create", name=name)["field"] == "name"


def test_api_source_cannot_manage_accounts(store):
    for op in ("token.create", "token.list", "token.revoke", "auth.change_password", "auth.login",
               "auth.session", "auth.logout"):
        assert ask(store, op, source="api", name="x")["error"] == "forbidden_source"
    assert ask(store, "token.verify", source="mqtt", token="x")["error"] == "forbidden_source"
    assert ask(store, "auth.nonsense")["error"] == "unknown_op"
