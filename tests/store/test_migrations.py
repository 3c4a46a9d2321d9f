"""Migrations: a database at every earlier schema version opens at the current one, keeping its data."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from llmq.store import DB_NAME, SCHEMA_VERSION, Store, migrations
from llmq.store.migrations import migrate

# Data written with each old schema, and a query that must give the same rows after migrating.
# A new migration adds its old version here, so its test runs on a database with history in it.
SAMPLES: dict[int, tuple[list[str], str]] = {
    0: ([], "SELECT count(*) FROM cards"),
    1: (
        [
            "INSERT INTO cards (key, qid, topic, kind, position, state, stability, difficulty, due_ms, "
            "last_review_ms, reps) VALUES (1, 'attention.gqa', 'attention', 'code', 0, 2, 4.5, 5.0, 9000, 1000, 1)",
            "INSERT INTO configs (id, json) VALUES (1, '{}')",
            "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, before, "
            "after, config, session) VALUES (1, 'review', 3, 1000, 1500, 0, 2, '{}', '{}', 1, 's')",
            "INSERT INTO submissions (exercise, at_ms, code, verdict, status) "
            "VALUES ('attention.gqa', 1200, 'def f(): ...', '{\"status\": \"pass\"}', 'pass')",
            "INSERT INTO settings (key, value) VALUES ('desired_retention', '0.85')",
        ],
        "SELECT c.qid, c.state, c.stability, r.rating, r.at_ms, r.duration_ms, s.code, s.status, t.value "
        "FROM cards c JOIN review_log r ON r.card = c.key JOIN submissions s ON s.exercise = c.qid, settings t",
    ),
    2: (
        [
            "INSERT INTO cards (key, qid, topic, kind, position, state) VALUES (1, 'attention.gqa', 'attention', 'code', 0, 1)",
            "INSERT INTO configs (id, json) VALUES (1, '{}')",
            "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, before, "
            "after, config, session) VALUES (1, 'review', 2, 1000, 900, 0, 1, '{}', '{}', 1, 's')",
            "INSERT INTO submissions (exercise, at_ms, code, verdict, status) "
            "VALUES ('attention.gqa', 800, 'def f(): ...', '{\"status\": \"fail\"}', 'fail')",
        ],
        "SELECT c.qid, r.rating, r.duration_ms, s.status FROM cards c JOIN review_log r ON r.card = c.key "
        "JOIN submissions s ON s.exercise = c.qid",
    ),
    3: (  # v4 copies the review log into a table that takes "due" events: every row, undone ones too
        [
            "INSERT INTO cards (key, qid, topic, kind, position, state) VALUES (1, 'norm.rmsnorm_eps', 'norm', 'flashcard', 0, 2)",
            "INSERT INTO configs (id, json) VALUES (1, '{}')",
            "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, before, "
            "after, config, session) VALUES (1, 'review', 3, 1000, 900, 0, 1, '{}', '{}', 1, 's')",
            "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, before, "
            "after, config, session, undone_ms) VALUES (1, 'bury', NULL, 2000, 0, 1, 1, '{}', '{}', 1, 's', 2500)",
            "INSERT INTO interviews (exercise, started_ms, limit_s, heartbeat_ms) VALUES ('norm.rms_norm', 5, 60, 5)",
        ],
        "SELECT r.id, c.qid, r.kind, r.rating, r.at_ms, r.undone_ms, i.exercise FROM review_log r "
        "JOIN cards c ON c.key = r.card, interviews i ORDER BY r.id",
    ),
}


def _database_at(path: Path, version: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, str(path), target=version)
    for statement in SAMPLES[version][0]:
        conn.execute(statement)
    return conn


def test_every_earlier_version_has_a_sample() -> None:
    assert set(SAMPLES) == set(range(SCHEMA_VERSION))


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_migrates_from_every_earlier_version(_private_home: Path, version: int) -> None:
    path = _private_home / DB_NAME
    conn = _database_at(path, version)
    statements, check = SAMPLES[version]
    expected = conn.execute(check).fetchall() if statements else None
    assert expected != [], "the sample query must see the sample data"
    conn.close()
    with Store.open() as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        if expected is not None:
            assert store._conn.execute(check).fetchall() == expected
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_no_file_at_all_becomes_the_current_version(_private_home: Path) -> None:
    assert not (_private_home / DB_NAME).exists()
    with Store.open() as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_failing_migration_leaves_the_database_as_it_was(_private_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _private_home / DB_NAME
    _database_at(path, 0).close()

    def broken(conn: sqlite3.Connection) -> None:
        migrations.MIGRATIONS[0](conn)
        raise RuntimeError("disk pulled out mid-migration")

    conn = sqlite3.connect(path, isolation_level=None)
    monkeypatch.setattr(migrations, "MIGRATIONS", (broken, *migrations.MIGRATIONS[1:]))
    with pytest.raises(RuntimeError):
        migrate(conn, str(path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    conn.close()


def _open_and_close(home: str) -> None:
    import os

    os.environ["LLMQ_HOME"] = home
    Store.open().close()


def test_processes_creating_the_database_at_once(tmp_path: Path) -> None:
    # The race is narrow (one process reads the new file between another's commit and its own
    # checks), so several rounds of four processes each, every round on a fresh folder.
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(6):
        home = tmp_path / f"home{round_}"
        procs = [ctx.Process(target=_open_and_close, args=(str(home),)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0], f"round {round_}"
        conn = sqlite3.connect(home / DB_NAME)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()


def test_v4_log_takes_due_events_and_stays_append_only(_private_home: Path) -> None:
    """After the copy, "due" rows are accepted, ids go on from the old ones, and the log's
    triggers hold as before."""
    path = _private_home / DB_NAME
    _database_at(path, 3).close()
    with Store.open() as store:
        conn = store._conn
        conn.execute(
            "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, before, "
            "after, config, session) VALUES (1, 'due', NULL, 3000, 0, 2, 2, '{}', '{}', 1, 't')"
        )
        assert [r[0] for r in conn.execute("SELECT id FROM review_log ORDER BY id")] == [1, 2, 3]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM review_log WHERE id = 3")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE review_log SET at_ms = 1 WHERE id = 3")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO review_log (card, kind, rating, at_ms, duration_ms, state_before, state_after, before, "
                "after, config, session) VALUES (1, 'nonsense', NULL, 3000, 0, 2, 2, '{}', '{}', 1, 't')"
            )
