"""Every row of progress.db as plain values, and a new database rebuilt from them (`llmq export
--format json` and `llmq restore`); the review history as the FSRS CSV reads it; and the empty
SQLite file that an Anki package's collection is written into (`llmq export --format apkg`).

Only the SQL lives here; llmq.export.backup writes and reads the file. Rows keep their ids, so a
review-log row still points at its card and its scheduler configuration after a round trip, and
undone rows keep their `undone_ms`. The rebuilt database is created by the normal migrations, so
the review log's append-only triggers hold in it as in any other.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# In the order they are written back: a review-log row needs its card and its configuration first.
BACKUP_TABLES: tuple[str, ...] = ("configs", "cards", "review_log", "settings", "submissions", "interviews")


@dataclass(frozen=True)
class TableRows:
    """One table's columns (by name) and its rows, in rowid order."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class BackupRowsRefused(Exception):
    """The rows cannot go into the database; `table` names where, the message says why."""

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(reason)
        self.table = table
        self.reason = reason


def table_columns(conn: sqlite3.Connection, table: str) -> tuple[str, ...]:
    return tuple(str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})"))


def dump(conn: sqlite3.Connection) -> dict[str, TableRows]:
    """Every backed-up table (the caller holds one read transaction, so they agree)."""
    out: dict[str, TableRows] = {}
    for table in BACKUP_TABLES:
        columns = table_columns(conn, table)
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
        out[table] = TableRows(columns, rows)
    return out


def load(conn: sqlite3.Connection, tables: dict[str, TableRows]) -> None:
    """Insert the rows into a freshly migrated, empty database; the caller holds the transaction.

    A table missing from `tables` stays empty; a column this schema lacks, a value of the wrong
    type or a row that breaks a constraint raises BackupRowsRefused naming the table.
    """
    for table in BACKUP_TABLES:
        given = tables.get(table)
        if given is None:
            continue
        known = set(table_columns(conn, table))
        unknown = [c for c in given.columns if c not in known]
        if unknown:
            raise BackupRowsRefused(table, f"unknown column(s) {', '.join(unknown)}")
        marks = ", ".join("?" * len(given.columns))
        try:
            conn.executemany(f"INSERT INTO {table} ({', '.join(given.columns)}) VALUES ({marks})", given.rows)
        except sqlite3.Error as err:
            raise BackupRowsRefused(table, str(err)) from err
    broken = conn.execute("PRAGMA foreign_key_check").fetchone()
    if broken is not None:
        raise BackupRowsRefused(str(broken[0]), f"row {broken[1]} refers to a missing row of {broken[2]}")


def holds_progress(conn: sqlite3.Connection) -> bool:
    """Whether the database holds anything a person made: answers, actions, submissions, settings,
    mock interview rounds (cards that were only synced from the bank are not progress)."""
    return bool(
        conn.execute(
            "SELECT EXISTS (SELECT 1 FROM review_log) OR EXISTS (SELECT 1 FROM submissions) "
            "OR EXISTS (SELECT 1 FROM settings) OR EXISTS (SELECT 1 FROM interviews) "
            "OR EXISTS (SELECT 1 FROM cards WHERE state != 0 OR reps != 0 "
            "OR suspended != 0 OR buried_until_ms != 0 OR tags != '')"
        ).fetchone()[0]
    )


@dataclass(frozen=True)
class ReviewRow:
    """One answer that stands (not undone) since its card's last reset: the optimizer's input."""

    card: int  # cards.key: stable for the life of the database, and kept by a backup
    qid: str
    at_ms: int
    rating: int
    state_before: int  # 0 new, 1 learning, 2 review, 3 relearning
    duration_ms: int


def review_history(conn: sqlite3.Connection) -> list[ReviewRow]:
    """Every standing review, in the order answered. Reviews before a card's last standing reset
    are left out: the reset made it a new card, as Anki's "Forget" does for FSRS."""
    rows = conn.execute(
        "WITH resets AS (SELECT card, max(id) AS last FROM review_log "
        "  WHERE kind = 'reset' AND undone_ms IS NULL GROUP BY card) "
        "SELECT r.card, c.qid, r.at_ms, r.rating, r.state_before, r.duration_ms FROM review_log r "
        "JOIN cards c ON c.key = r.card LEFT JOIN resets z ON z.card = r.card "
        "WHERE r.kind = 'review' AND r.undone_ms IS NULL AND r.id > coalesce(z.last, 0) ORDER BY r.id"
    )
    return [ReviewRow(*row) for row in rows]


@contextmanager
def new_sqlite_file(path: Path) -> Iterator[sqlite3.Cursor]:
    """A cursor on a new SQLite file at `path`, committed and closed when the block ends. For a
    library that writes its own format (genanki writes Anki's collection): the SQL is its own."""
    conn = sqlite3.connect(path)
    try:
        yield conn.cursor()
        conn.commit()
    finally:
        conn.close()
