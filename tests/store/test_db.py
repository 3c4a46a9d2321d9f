"""progress.db: where it lives, its pragmas and tables, and that the review log is append-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from llmq.srs import Rating
from llmq.store import DB_NAME, SCHEMA_VERSION, Store
from tests.store.helpers import open_study


def test_the_database_lives_in_llmq_home(_private_home: Path) -> None:
    with Store.open() as store:
        assert store.path == _private_home / DB_NAME
    assert (_private_home / DB_NAME).is_file()


def test_wal_full_sync_foreign_keys_busy_timeout_and_version() -> None:
    with Store.open() as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_every_table_is_strict() -> None:
    with Store.open() as store:
        tables = store._conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        assert {name for name, _ in tables} >= {"cards", "review_log", "submissions", "settings", "configs"}
        for name, sql in tables:
            assert sql.rstrip().endswith("STRICT"), name
        with pytest.raises(sqlite3.IntegrityError):
            store._conn.execute("INSERT INTO cards (qid, position) VALUES ('x', 'not a number')")


def test_the_review_log_cannot_be_edited_or_deleted() -> None:
    store, study, _ = open_study()
    study.answer(study.next(), Rating.Good)
    conn = store._conn
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM review_log")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE review_log SET rating = 4")
    assert conn.execute("SELECT count(*), min(rating) FROM review_log").fetchone() == (1, 3)


def test_a_log_row_references_a_real_card() -> None:
    with Store.open() as store, pytest.raises(sqlite3.IntegrityError):
        store._conn.execute(
            "INSERT INTO review_log (card, kind, rating, at_ms, state_before, state_after, before, after, "
            "config, session) VALUES (999, 'review', 3, 0, 0, 1, '{}', '{}', 999, 's')"
        )
