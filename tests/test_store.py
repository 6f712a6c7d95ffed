"""The SQLite store on real files: schema, durability settings, atomicity, ranges, bad files."""

import sqlite3
import stat
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mickill import store as store_module
from mickill.errors import MickillError
from mickill.store import EventRow, LedgerRow, Store, StoreError

UTC = timezone.utc
T0 = datetime(2026, 11, 26, 6, 51, 16, 123456, tzinfo=UTC)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "mickill.db"


@pytest.fixture
def store(path):
    with Store(path) as opened:
        yield opened


def peek(path, sql):
    """The first column of each row `sql` gives on a separate connection."""
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: changes land at once
    try:
        return [row[0] for row in db.execute(sql)]
    finally:
        db.close()


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_file_and_schema(path):
    with Store(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS)
        assert store.integrity_check() == "ok"
    tables = set(peek(path, "SELECT name FROM sqlite_schema WHERE type='table'"))
    assert {"schedule", "override", "settings", "ledger", "events"} <= tables


def test_empty_store_answers_with_nothing(store):
    assert store.schedule_text() is None
    assert store.schedule_saved_at() is None
    assert store.override() is None
    assert store.settings() == {}
    assert store.last_change_before(T0) is None
    assert store.changes(T0 - timedelta(days=1), T0) == []


def test_file_and_its_log_are_private(path):
    with Store(path) as store:
        store.record_change(T0, "live", "web", "unmuted")
        assert mode(path) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and mode(wal) == 0o600


def test_existing_file_is_made_private(path):
    Store(path).close()
    path.chmod(0o644)
    Store(path).close()
    assert mode(path) == 0o600


def test_wal_and_synchronous_full_are_in_force(store, path):
    db = store._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    # WAL is a property of the file: another connection sees it too.
    assert peek(path, "PRAGMA journal_mode") == ["wal"]


def test_reopen_keeps_everything(path):
    with Store(path) as store:
        store.save_schedule('timezone = "Europe/London"\n', T0)
        store.save_override({"kind": "mute", "source": "button", "until": None})
        store.save_settings({"default_unmute_s": 900, "hold_s": 2.0})
        change = store.record_change(T0, "live", "web", "unmuted for 15m")
        event = store.record_event(T0, "fault", {"what": "relay sense", "pin": 27})
    with Store(path) as store:
        assert store.schedule_text() == 'timezone = "Europe/London"\n'
        assert store.schedule_saved_at() == T0
        assert store.override() == {"kind": "mute", "source": "button", "until": None}
        assert store.settings() == {"default_unmute_s": 900, "hold_s": 2.0}
        assert store.changes(T0, T0 + timedelta(seconds=1)) == [
            LedgerRow(change, T0, "live", "web", "unmuted for 15m")
        ]
        assert store.events(T0, T0 + timedelta(seconds=1)) == [
            EventRow(event, T0, "fault", {"what": "relay sense", "pin": 27})
        ]


def test_times_come_back_aware_and_equal_whatever_zone_went_in(store):
    local = datetime(2027, 3, 28, 7, 0, 0, 5, tzinfo=ZoneInfo("Europe/London"))
    store.record_change(local, "muted", "schedule", "window 'Night'")
    (row,) = store.changes(local, local + timedelta(microseconds=1))
    assert row.at == local and row.at.utcoffset() == timedelta(0)
    text = store._db.execute("SELECT at FROM ledger").fetchone()[0]
    assert text == "2027-03-28T06:00:00.000005+00:00"


def test_override_is_replaced_and_cleared(store):
    store.save_override({"kind": "mute", "source": "web"})
    unmute = {"kind": "unmute", "source": "button", "until": "2026-11-26T07:00:00+00:00"}
    store.save_override(unmute)
    assert store.override() == unmute
    store.save_override(None)
    assert store.override() is None


def test_settings_merge(store):
    store.save_settings({"default_unmute_s": 900, "clock_policy": "trust"})
    store.save_settings({"default_unmute_s": 600, "hold_s": 3.5})
    assert store.settings() == {"default_unmute_s": 600, "clock_policy": "trust", "hold_s": 3.5}


def test_settings_with_one_bad_value_change_nothing(store):
    store.save_settings({"hold_s": 2.0})
    with pytest.raises(ValueError, match="setting 'when'"):
        store.save_settings({"hold_s": 9.0, "when": object()})
    assert store.settings() == {"hold_s": 2.0}


def test_save_schedule_replaces_and_keeps_history(store):
    for n in range(store_module.SCHEDULE_HISTORY_KEEP + 5):
        store.save_schedule(f"# version {n}\n", T0 + timedelta(minutes=n))
    last = store_module.SCHEDULE_HISTORY_KEEP + 4
    assert store.schedule_text() == f"# version {last}\n"
    history = store.schedule_history()
    assert len(history) == store_module.SCHEDULE_HISTORY_KEEP
    assert history[0] == (T0 + timedelta(minutes=last), f"# version {last}\n")
    assert history[-1][1] == f"# version {last - store_module.SCHEDULE_HISTORY_KEEP + 1}\n"


def test_save_schedule_is_atomic_when_a_write_inside_fails(store, path):
    store.save_schedule("# old\n", T0)
    # Another connection makes the second write of save_schedule fail.
    peek(
        path,
        "CREATE TRIGGER refuse BEFORE INSERT ON schedule_history "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END",
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk trouble"):
        store.save_schedule("# new\n", T0 + timedelta(hours=1))
    assert store.schedule_text() == "# old\n"
    assert store.schedule_saved_at() == T0
    peek(path, "DROP TRIGGER refuse")
    store.save_schedule("# new\n", T0 + timedelta(hours=1))
    assert store.schedule_text() == "# new\n"


def test_transaction_rolls_back_every_change_on_failure(store, path):
    store.save_schedule("# old\n", T0)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.save_schedule("# new\n", T0 + timedelta(hours=1))
            store.save_override({"kind": "mute"})
            store.record_change(T0, "muted", "web", "schedule changed")
            raise RuntimeError("power cut")
    with Store(path) as fresh:
        assert fresh.schedule_text() == "# old\n"
        assert fresh.override() is None
        assert fresh.last_change_before(T0 + timedelta(days=1)) is None


def test_transaction_commits_together(store, path):
    with store.transaction():
        store.save_schedule("# new\n", T0)
        store.record_change(T0, "muted", "schedule", "window 'Night'")
        # Not yet visible to a reader on another connection.
        assert peek(path, "SELECT count(*) FROM ledger") == [0]
    assert peek(path, "SELECT count(*) FROM ledger") == [1]


def test_inner_failure_caught_by_the_caller_undoes_only_the_inner_block(store):
    with store.transaction():
        store.record_change(T0, "muted", "web", "outer")
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.record_change(T0, "live", "web", "inner")
                raise RuntimeError
    assert [row.reason for row in store.changes(T0, T0 + timedelta(seconds=1))] == ["outer"]


def test_changes_are_half_open_and_oldest_first(store):
    ids = [
        store.record_change(T0 + timedelta(hours=h), state, "schedule", f"at {h}")
        for h, state in [(2, "live"), (0, "muted"), (1, "live"), (3, "muted")]
    ]
    rows = store.changes(T0, T0 + timedelta(hours=3))
    assert [row.id for row in rows] == [ids[1], ids[2], ids[0]]
    one = store.changes(T0 + timedelta(hours=1), T0 + timedelta(hours=1, microseconds=1))
    assert [row.id for row in one] == [ids[2]]
    assert store.changes(T0 + timedelta(hours=1), T0 + timedelta(hours=1)) == []


def test_last_change_before_is_strictly_before(store):
    first = store.record_change(T0, "muted", "system", "start")
    second = store.record_change(T0 + timedelta(hours=1), "live", "web", "unmute")
    assert store.last_change_before(T0) is None
    assert store.last_change_before(T0 + timedelta(microseconds=1)).id == first
    assert store.last_change_before(T0 + timedelta(hours=1)).id == first
    assert store.last_change_before(T0 + timedelta(days=9)).id == second


def test_events_filtered_by_kind_range_and_limit(store):
    for n in range(6):
        kind = "fault" if n % 2 else "refusal"
        store.record_event(T0 + timedelta(minutes=n), kind, {"n": n})
    day = (T0, T0 + timedelta(days=1))
    assert [event.detail["n"] for event in store.events(*day)] == [0, 1, 2, 3, 4, 5]
    assert [event.detail["n"] for event in store.events(*day, kind="fault")] == [1, 3, 5]
    assert [event.detail["n"] for event in store.events(*day, kind="nothing")] == []
    # Over the limit: the most recent ones, still oldest first.
    assert [event.detail["n"] for event in store.events(*day, limit=2)] == [4, 5]
    start, end = T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)
    assert [event.detail["n"] for event in store.events(start, end)] == [1, 2]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.record_change(T0, "open", "web", "x"),
        lambda s: s.record_change(T0.replace(tzinfo=None), "live", "web", "x"),
        lambda s: s.record_change(T0, "live", "", "x"),
        lambda s: s.record_event(T0, "fault", {"at": T0}),
        lambda s: s.record_event(T0, "", {}),
        lambda s: s.events(T0, T0 - timedelta(seconds=1)),
        lambda s: s.events(T0, T0, limit=0),
        lambda s: s.changes(T0.replace(tzinfo=None), T0),
        lambda s: s.save_schedule(b"bytes", T0),
        lambda s: s.save_override(["mute"]),
        lambda s: s.save_settings({"hold_s": float("nan")}),
    ],
)
def test_programming_errors_are_value_errors(store, call):
    with pytest.raises(ValueError):
        call(store)


def test_garbage_file_is_a_clear_error_and_left_alone(path):
    garbage = b"this is my shopping list, not a database\n" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="is not a mickill database") as caught:
        Store(path)
    assert isinstance(caught.value, MickillError)
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)
    assert path.read_bytes() == garbage


def test_other_programs_database_is_refused(path):
    peek(path, "CREATE TABLE recipes (name TEXT)")
    with pytest.raises(StoreError, match="another program"):
        Store(path)


def test_newer_schema_is_refused_with_what_to_do(path):
    Store(path).close()
    newer = len(store_module.MIGRATIONS) + 3
    peek(path, f"PRAGMA user_version = {newer}")
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = str(caught.value)
    assert str(path) in message and f"schema version {newer}" in message
    assert "newer mickill" in message


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="check that its folder exists"):
        Store(tmp_path / "no" / "such" / "mickill.db")


def test_adding_a_migration_is_one_append(path, monkeypatch):
    with Store(path) as store:
        store.record_change(T0, "live", "web", "kept")
    tokens = "CREATE TABLE tokens (id INTEGER PRIMARY KEY, hash TEXT)"
    migrations = [*store_module.MIGRATIONS, tokens]
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)
    with Store(path) as store:
        assert store.schema_version == len(migrations)
        store._db.execute("INSERT INTO tokens (hash) VALUES ('x')")
        assert store.last_change_before(T0 + timedelta(seconds=1)).reason == "kept"


def test_failing_migration_leaves_the_file_at_its_old_version(path, monkeypatch):
    Store(path).close()
    broken = [*store_module.MIGRATIONS, "CREATE TABLE users (id INTEGER); CREATE TABLE users (x);"]
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match="schema version 2"):
        Store(path)
    monkeypatch.undo()
    with Store(path) as store:
        assert store.schema_version == 1
        tables = store._db.execute("SELECT name FROM sqlite_schema WHERE name = 'users'").fetchall()
        assert tables == []


def test_connection_is_shared_and_joins_transactions(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.connection.execute("CREATE TABLE notes (text TEXT)")
            raise RuntimeError
    assert store.connection.execute("SELECT name FROM sqlite_schema WHERE name = 'notes'").fetchall() == []
