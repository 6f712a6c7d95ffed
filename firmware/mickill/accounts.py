"""The panel's accounts in the daemon's SQLite: the one admin, one-time setup codes, login
sessions and API tokens, and the `auth.*` / `token.*` control operations over them."""

import hashlib
import hmac
import secrets
import sqlite3
from datetime import datetime, timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from .store import Store, from_text, to_text

MIN_PASSWORD = 10
MAX_PASSWORD = 1024           # scrypt of a megabyte would stall the daemon's loop
MAX_TOKEN_NAME = 64
SETUP_CODE_LIFETIME = timedelta(hours=1)
TOKEN_PREFIX = "mk_"
# A session lasts a fixed 12 h from login, however busy: a stolen cookie cannot be kept alive.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_SEEN_EVERY = timedelta(minutes=1)  # last_seen is coarse: no disk write on every page
MAX_SESSIONS = 50                          # logins beyond this end the oldest sessions
MAX_SESSION_ID = 128
# Who may manage accounts: a logged-in user at the panel or the owner at the device.
MANAGERS = frozenset({"web", "cli"})
VERIFIERS = frozenset({"web", "cli", "api"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts_admin (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    password_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    changed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts_setup_code (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    code_sha256 TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
);
CREATE TABLE IF NOT EXISTS accounts_session (
    id_sha256 TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    expires TEXT NOT NULL
);
"""


def _db(store: Store) -> sqlite3.Connection:
    return store.connection


def ensure_schema(store: Store) -> None:
    """Create the accounts tables if missing; safe to call at every start. Not a store migration:
    databases already in use made these tables this way, and the worker opens its own Store."""
    db = _db(store)
    with store.transaction():
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _error(code: str, message: str, **extra) -> dict:
    return {"ok": False, "error": code, "message": message, **extra}


def admin_exists(store: Store) -> bool:
    return _db(store).execute("SELECT 1 FROM accounts_admin WHERE id = 1").fetchone() is not None


def new_setup_code(store: Store, now: datetime) -> str:
    """A fresh one-time code, valid for an hour; it replaces any earlier one."""
    code = "-".join(secrets.token_hex(2) for _ in range(3))  # e.g. 3f9a-0c21-b7e4: easy to type
    with store.transaction():
        _db(store).execute(
            "INSERT INTO accounts_setup_code (id, code_sha256, created, expires) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET code_sha256 = excluded.code_sha256, "
            "created = excluded.created, expires = excluded.expires",
            (_sha256(code), to_text(now), to_text(now + SETUP_CODE_LIFETIME)),
        )
    return code


def startup_code(store: Store, now: datetime) -> str | None:
    """The code the daemon prints in its log at start, or None once an admin exists."""
    return None if admin_exists(store) else new_setup_code(store, now)


def _password_problem(password) -> str | None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return f"the password must be at least {MIN_PASSWORD} characters long: choose a longer one"
    if len(password) > MAX_PASSWORD:
        return f"the password must be at most {MAX_PASSWORD} characters long"
    return None


def _hash(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _check_admin_password(store: Store, password) -> bool:
    row = _db(store).execute("SELECT password_hash FROM accounts_admin WHERE id = 1").fetchone()
    if row is None or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return False
    return check_password_hash(row[0], password)


def new_session(store: Store, now: datetime) -> dict:
    """A fresh random session id for the panel's cookie; only its sha256 is stored. Ends expired
    sessions, and the oldest ones beyond MAX_SESSIONS."""
    session_id = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    db = _db(store)
    with store.transaction():
        db.execute("DELETE FROM accounts_session WHERE expires <= ?", (to_text(now),))
        db.execute("INSERT INTO accounts_session (id_sha256, created, last_seen, expires) VALUES (?, ?, ?, ?)",
                   (_sha256(session_id), to_text(now), to_text(now), to_text(expires)))
        db.execute("DELETE FROM accounts_session WHERE id_sha256 NOT IN "
                   "(SELECT id_sha256 FROM accounts_session ORDER BY created DESC LIMIT ?)", (MAX_SESSIONS,))
    return {"session": session_id, "expires": to_text(expires)}


def _session_hash(request) -> str | None:
    session_id = request.get("session")
    if not isinstance(session_id, str) or not session_id or len(session_id) > MAX_SESSION_ID:
        return None
    return _sha256(session_id)


# -- operations ---------------------------------------------------------------------------

def _state(store, request, now):
    return {"ok": True, "admin_exists": admin_exists(store)}


def _setup_code(store, request, now):
    if request.get("source") != "cli":
        return _error("forbidden_source", "a setup code is only given at the device: run 'mickill setup-code' there")
    if admin_exists(store):
        return _error("admin_exists", "the panel already has an admin: log in, or change the password from the panel")
    return {"ok": True, "code": new_setup_code(store, now), "expires": to_text(now + SETUP_CODE_LIFETIME)}


def _setup(store, request, now):
    if admin_exists(store):
        return _error("admin_exists", "the panel already has an admin: log in instead")
    code = request.get("code")
    if not isinstance(code, str):
        return _error("bad_request", "auth.setup needs 'code' (text)", field="code")
    row = _db(store).execute("SELECT code_sha256, expires FROM accounts_setup_code WHERE id = 1").fetchone()
    given = _sha256(code.strip().lower())
    # Compare even when there is no code, so timing does not say whether one exists.
    matches = hmac.compare_digest(given, row[0] if row else "0" * 64)
    if not row or not matches or from_text(row[1]) <= now:
        return _error("bad_code", "the setup code is wrong or expired: run 'mickill setup-code' on the device for a fresh one", field="code")
    problem = _password_problem(request.get("password"))
    if problem:
        return _error("invalid", problem, entry="admin", field="password")
    with store.transaction():
        _db(store).execute("DELETE FROM accounts_setup_code")
        _db(store).execute(
            "INSERT INTO accounts_admin (id, password_hash, created, changed) VALUES (1, ?, ?, ?)",
            (_hash(request["password"]), to_text(now), to_text(now)),
        )
    return {"ok": True, **new_session(store, now)}


def _login(store, request, now):
    if not admin_exists(store):
        return _error("no_admin", "no admin yet: open the panel and enter the code from 'mickill setup-code'")
    if _check_admin_password(store, request.get("password")):
        return {"ok": True, **new_session(store, now)}
    return _error("bad_credentials", "wrong password: try again")


def _session(store, request, now):
    digest = _session_hash(request)
    row = None if digest is None else _db(store).execute(
        "SELECT last_seen, expires FROM accounts_session WHERE id_sha256 = ?", (digest,)).fetchone()
    if row is None or from_text(row[1]) <= now:
        return _error("bad_session", "the login has ended or is unknown: log in again")
    if now - from_text(row[0]) >= SESSION_SEEN_EVERY:
        with store.transaction():
            _db(store).execute("UPDATE accounts_session SET last_seen = ? WHERE id_sha256 = ?", (to_text(now), digest))
    return {"ok": True, "expires": row[1]}


def _logout(store, request, now):
    digest = _session_hash(request)
    if digest is not None:
        with store.transaction():
            _db(store).execute("DELETE FROM accounts_session WHERE id_sha256 = ?", (digest,))
    return {"ok": True}


def _change_password(store, request, now):
    if not _check_admin_password(store, request.get("old_password")):
        return _error("bad_credentials", "the current password is wrong: type it again", field="old_password")
    problem = _password_problem(request.get("new_password"))
    if problem:
        return _error("invalid", problem, entry="admin", field="new_password")
    with store.transaction():
        _db(store).execute(
            "UPDATE accounts_admin SET password_hash = ?, changed = ? WHERE id = 1",
            (_hash(request["new_password"]), to_text(now)),
        )
        # Whoever knew the old password may hold a session: end them all, and give the one
        # who changed it a fresh session, so even a copy of their own cookie stops working.
        _db(store).execute("DELETE FROM accounts_session")
        fresh = new_session(store, now)
    return {"ok": True, **fresh}


def _token_create(store, request, now):
    name = request.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TOKEN_NAME:
        return _error("invalid", f"a token's name is 1 to {MAX_TOKEN_NAME} characters: name what will use it",
                      entry="token", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction():
        cursor = _db(store).execute(
            "INSERT INTO accounts_token (name, token_sha256, created) VALUES (?, ?, ?)",
            (name.strip(), _sha256(token), to_text(now)),
        )
    return {"ok": True, "id": cursor.lastrowid, "name": name.strip(), "token": token}


def _token_list(store, request, now):
    rows = _db(store).execute(
        "SELECT id, name, created, last_used, revoked FROM accounts_token ORDER BY id")
    tokens = [{"id": id, "name": name, "created": created, "last_used": last_used, "revoked": revoked}
              for id, name, created, last_used, revoked in rows]
    return {"ok": True, "tokens": tokens}


def _token_revoke(store, request, now):
    token_id = request.get("id")
    if not isinstance(token_id, int) or isinstance(token_id, bool):
        return _error("bad_request", "token.revoke needs 'id' (an integer from token.list)", field="id")
    with store.transaction():
        cursor = _db(store).execute(
            "UPDATE accounts_token SET revoked = coalesce(revoked, ?) WHERE id = ?", (to_text(now), token_id))
    if cursor.rowcount == 0:
        return _error("not_found", f"no token with id {token_id}: see the list of tokens")
    return {"ok": True}


def _token_verify(store, request, now):
    token = request.get("token")
    if not isinstance(token, str) or len(token) > 256:
        return _error("bad_token", "the API token is missing or malformed")
    # Looked up by hash: the database never holds a token, and the lookup leaks nothing usable.
    row = _db(store).execute(
        "SELECT id, name FROM accounts_token WHERE token_sha256 = ? AND revoked IS NULL",
        (_sha256(token),),
    ).fetchone()
    if row is None:
        return _error("bad_token", "the API token is unknown or revoked: create a new one in the panel's settings")
    _db(store).execute("UPDATE accounts_token SET last_used = ? WHERE id = ?", (to_text(now), row[0]))
    return {"ok": True, "id": row[0], "name": row[1]}


OPS = {
    "auth.state": (_state, VERIFIERS),
    "auth.setup_code": (_setup_code, MANAGERS),
    "auth.setup": (_setup, MANAGERS),
    "auth.login": (_login, MANAGERS),
    "auth.session": (_session, MANAGERS),
    "auth.logout": (_logout, MANAGERS),
    "auth.change_password": (_change_password, MANAGERS),
    "token.create": (_token_create, MANAGERS),
    "token.list": (_token_list, MANAGERS),
    "token.revoke": (_token_revoke, MANAGERS),
    "token.verify": (_token_verify, VERIFIERS),
}


def handle(store: Store, request: dict, now: datetime) -> dict:
    """Answer one `auth.*` or `token.*` request in the control protocol's shape."""
    op = request.get("op")
    if op not in OPS:
        return _error("unknown_op", f"unknown operation {op!r}: see the control socket protocol")
    function, sources = OPS[op]
    if request.get("source") not in sources:
        return _error("forbidden_source", f"{op} may not be asked by source {request.get('source')!r}")
    return function(store, request, now)
