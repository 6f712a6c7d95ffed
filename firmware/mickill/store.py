"""The daemon's SQLite file (DATA/mickill.db): schedule, override, settings, the privacy ledger
and events, with a versioned schema that later code extends by appending a migration."""

import contextlib
import json
import os
import sqlite3
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import MickillError

STATES = ("muted", "live")

# 'mkil': marks the file as mickill's, so another program's SQLite file is never migrated.
APPLICATION_ID = 0x6D6B696C

# MIGRATIONS[n] takes the schema from version n to n + 1; add a version by appending a script.
# Never edit a script once released: files in the field already ran it.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE schedule (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        saved_at TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE TABLE schedule_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        saved_at TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE TABLE override (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value TEXT NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('muted', 'live')),
        source TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX ledger_at ON ledger (at);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX events_at ON events (at);
    CREATE INDEX events_kind_at ON events (kind, at);
    """,
]

# Earlier schedules kept so the owner can go back to one.
SCHEDULE_HISTORY_KEEP = 20
BUSY_TIMEOUT_MS = 5000


class StoreError(MickillError):
    """The database file cannot be used as it is; the message names the file and what to do."""


@dataclass(frozen=True)
class LedgerRow:
    id: int
    at: datetime
    state: str
    source: str
    reason: str


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    kind: str
    detail: dict


def to_text(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds: fixed width, so text order is time order."""
    check_aware(moment)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def check_aware(moment) -> None:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {moment!r}")


def check_range(start: datetime, end: datetime) -> None:
    check_aware(start)
    check_aware(end)
    if end < start:
        raise ValueError(f"range ends ({end}) before it starts ({start})")


def _check_word(name: str, value) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _to_json(name: str, value) -> str:
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be JSON-able: {error}") from None


class Store:
    """One connection, used by the daemon's state thread only."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._depth = 0
        self._db = self._open()
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # -- opening -------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self._create_private()
            db = sqlite3.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f"cannot open the database {self.path}: {error}; check that its folder exists "
                "and belongs to the user the daemon runs as"
            ) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as error:
            db.close()
            raise self._not_ours(f"SQLite says: {error}") from None
        if mode != "wal":
            db.close()
            raise StoreError(
                f"the database {self.path} cannot use a write-ahead log (journal mode {mode!r}); "
                "keep the data folder on a local file system that supports it"
            )
        return db

    def _create_private(self) -> None:
        """Create the file 0600 before SQLite sees it; tighten an existing file to 0600
        (the WAL and shared-memory files SQLite makes copy the database file's mode)."""
        try:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            if stat.S_IMODE(self.path.stat().st_mode) != 0o600:
                os.chmod(self.path, 0o600)

    def _not_ours(self, why: str) -> StoreError:
        return StoreError(
            f"{self.path} is not a mickill database ({why}); move it aside and start mickill "
            "again to create a fresh one, or restore a backup"
        )

    def _migrate(self) -> None:
        version, app_id = self._version()
        if app_id not in (0, APPLICATION_ID):
            raise self._not_ours(f"application id {app_id:#x}")
        if version == 0 and self._db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
            raise self._not_ours("it already holds tables of another program")
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the database {self.path} was written by a newer mickill (schema version "
                f"{version}; this one knows up to {len(MIGRATIONS)}); install that newer "
                "mickill again, or restore a backup made by this version"
            )
        for number in range(version, len(MIGRATIONS)):
            # executescript commits any open transaction, so the script carries its own.
            script = (
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]};\n"
                f"PRAGMA application_id = {APPLICATION_ID};\n"
                f"PRAGMA user_version = {number + 1};\nCOMMIT;"
            )
            try:
                self._db.executescript(script)
            except sqlite3.Error as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(
                    f"cannot bring the database {self.path} to schema version {number + 1}: "
                    f"{error}; restore a backup or move the file aside"
                ) from None

    def _version(self) -> tuple[int, int]:
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise self._not_ours(f"SQLite says: {error}") from None
        return version, app_id

    @property
    def schema_version(self) -> int:
        return self._version()[0]

    @property
    def connection(self) -> sqlite3.Connection:
        """For modules that keep their own tables in this file (added as a migration); the
        daemon's thread only, and writes that belong together go inside transaction()."""
        return self._db

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- transactions --------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self):
        """All writes inside commit together or not at all; nested blocks are savepoints, so an
        inner failure that the caller catches undoes only the inner block."""
        if self._depth == 0:
            begin, commit, undo = "BEGIN IMMEDIATE", "COMMIT", ["ROLLBACK"]
        else:
            name = f"nested_{self._depth}"
            begin, commit = f"SAVEPOINT {name}", f"RELEASE {name}"
            undo = [f"ROLLBACK TO {name}", f"RELEASE {name}"]
        self._db.execute(begin)
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            for statement in undo:
                self._db.execute(statement)
            raise
        self._depth -= 1
        self._db.execute(commit)

    # -- schedule ------------------------------------------------------------------------

    def schedule_text(self) -> str | None:
        row = self._db.execute("SELECT text FROM schedule WHERE id = 1").fetchone()
        return row[0] if row else None

    def schedule_saved_at(self) -> datetime | None:
        row = self._db.execute("SELECT saved_at FROM schedule WHERE id = 1").fetchone()
        return from_text(row[0]) if row else None

    def save_schedule(self, text: str, at: datetime) -> None:
        if not isinstance(text, str):
            raise ValueError(f"schedule text must be a string, got {type(text).__name__}")
        when = to_text(at)
        with self.transaction():
            self._db.execute(
                "INSERT INTO schedule (id, saved_at, text) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at, text = excluded.text",
                (when, text),
            )
            self._db.execute(
                "INSERT INTO schedule_history (saved_at, text) VALUES (?, ?)", (when, text)
            )
            self._db.execute(
                "DELETE FROM schedule_history WHERE id <= "
                "(SELECT max(id) FROM schedule_history) - ?",
                (SCHEDULE_HISTORY_KEEP,),
            )

    def schedule_history(self) -> list[tuple[datetime, str]]:
        """The schedules saved most recently (the current one included), newest first."""
        rows = self._db.execute("SELECT saved_at, text FROM schedule_history ORDER BY id DESC")
        return [(from_text(at), text) for at, text in rows]

    # -- override ------------------------------------------------------------------------

    def override(self) -> dict | None:
        row = self._db.execute("SELECT value FROM override WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else None

    def save_override(self, value: dict | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM override WHERE id = 1")
            return
        if not isinstance(value, dict):
            raise ValueError(f"an override is a dict or None, got {type(value).__name__}")
        self._db.execute(
            "INSERT INTO override (id, value) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
            (_to_json("override", value),),
        )

    # -- settings ------------------------------------------------------------------------

    def settings(self) -> dict:
        rows = self._db.execute("SELECT key, value FROM settings")
        return {key: json.loads(value) for key, value in rows}

    def save_settings(self, values: dict) -> None:
        if not isinstance(values, dict):
            raise ValueError(f"settings are a dict, got {type(values).__name__}")
        rows = []
        for key, value in values.items():
            _check_word("a setting's key", key)
            rows.append((key, _to_json(f"setting {key!r}", value)))
        with self.transaction():
            self._db.executemany(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rows,
            )

    # -- the privacy ledger --------------------------------------------------------------

    def record_change(self, at: datetime, state: str, source: str, reason: str) -> int:
        when = to_text(at)
        if state not in STATES:
            raise ValueError(f"state must be 'muted' or 'live', got {state!r}")
        _check_word("source", source)
        if not isinstance(reason, str):
            raise ValueError(f"reason must be a string, got {reason!r}")
        cursor = self._db.execute(
            "INSERT INTO ledger (at, state, source, reason) VALUES (?, ?, ?, ?)",
            (when, state, source, reason),
        )
        return cursor.lastrowid

    def changes(self, start: datetime, end: datetime) -> list[LedgerRow]:
        """The changes at or after `start` and before `end`, oldest first."""
        check_range(start, end)
        rows = self._db.execute(
            "SELECT id, at, state, source, reason FROM ledger WHERE at >= ? AND at < ? "
            "ORDER BY at, id",
            (to_text(start), to_text(end)),
        )
        return [_ledger_row(row) for row in rows]

    def last_change_before(self, moment: datetime) -> LedgerRow | None:
        """The change in force just before `moment` (one exactly at `moment` is not before it)."""
        row = self._db.execute(
            "SELECT id, at, state, source, reason FROM ledger WHERE at < ? "
            "ORDER BY at DESC, id DESC LIMIT 1",
            (to_text(moment),),
        ).fetchone()
        return _ledger_row(row) if row else None

    # -- events --------------------------------------------------------------------------

    def record_event(self, at: datetime, kind: str, detail: dict) -> int:
        when = to_text(at)
        _check_word("an event's kind", kind)
        if not isinstance(detail, dict):
            raise ValueError(f"an event's detail is a dict, got {type(detail).__name__}")
        cursor = self._db.execute(
            "INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)",
            (when, kind, _to_json("an event's detail", detail)),
        )
        return cursor.lastrowid

    def events(
        self, start: datetime, end: datetime, kind: str | None = None, limit: int = 10000
    ) -> list[EventRow]:
        """Events in [start, end), of one kind if given, oldest first; when more than `limit`
        match, the most recent `limit` of them."""
        check_range(start, end)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        query = "SELECT id, at, kind, detail FROM events WHERE at >= ? AND at < ?"
        params: list = [to_text(start), to_text(end)]
        if kind is not None:
            query += " AND kind = ?"
            params.append(kind)
        query += " ORDER BY at DESC, id DESC LIMIT ?"
        params.append(limit)
        rows = self._db.execute(query, params).fetchall()
        return [
            EventRow(id, from_text(at), kind, json.loads(detail))
            for id, at, kind, detail in reversed(rows)
        ]

    # -- health --------------------------------------------------------------------------

    def integrity_check(self) -> str:
        return "\n".join(row[0] for row in self._db.execute("PRAGMA integrity_check"))


def _ledger_row(row) -> LedgerRow:
    id, at, state, source, reason = row
    return LedgerRow(id, from_text(at), state, source, reason)
