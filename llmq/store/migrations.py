"""Schema migrations: bring a progress database from any earlier `PRAGMA user_version` to the current one.

Each migration is a function from version N-1 to N; they run in order, in one transaction, and
the version is written in that same transaction, so a crash leaves the old version whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from llmq.store.errors import StoreError
from llmq.store.schema import APPLICATION_ID, V1, V2, V3, V4


def _to_v1(conn: sqlite3.Connection) -> None:
    for statement in _statements(V1):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _to_v2(conn: sqlite3.Connection) -> None:
    for statement in _statements(V2):
        conn.execute(statement)


def _to_v3(conn: sqlite3.Connection) -> None:
    for statement in _statements(V3):
        conn.execute(statement)


def _to_v4(conn: sqlite3.Connection) -> None:
    for statement in _statements(V4):
        conn.execute(statement)


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


# MIGRATIONS[n] takes a database at version n to version n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_to_v1, _to_v2, _to_v3, _to_v4)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_not_newer(version: int, where: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"This progress database was written by a newer llmq (schema version {version}; "
            f"this llmq understands up to {SCHEMA_VERSION}). It was left untouched.",
            where=where,
            todo="upgrade llmq (pip install -U llmq), or set LLMQ_HOME to another folder "
            "to use this version with separate progress.",
        )


def migrate(conn: sqlite3.Connection, where: str, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to `target`; return the version the database had before."""
    conn.execute("BEGIN IMMEDIATE")  # another process may be migrating too: take the lock, then look
    try:
        start = user_version(conn)
        check_not_newer(start, where)
        for version in range(start, target):
            MIGRATIONS[version](conn)
        if target > start:
            conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return start
