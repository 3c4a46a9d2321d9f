"""Opening progress.db safely: refuse foreign, damaged or newer files, then set the pragmas and migrate.

Nothing is written to a file until it is known to be llmq's own database (or a new, empty one).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llmq.store.errors import StoreError
from llmq.store.migrations import check_not_newer, migrate, user_version
from llmq.store.schema import APPLICATION_ID

DB_NAME = "progress.db"
SQLITE_HEADER = b"SQLite format 3\x00"
# Long enough that a second llmq waits out any single transaction of the first one.
BUSY_TIMEOUT_MS = 30_000


def _move_aside_hint(path: Path) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (
        f"llmq will not overwrite it. Move it aside (with its -wal and -shm files, if any), e.g.\n"
        f"    mv '{path}' '{path}.moved-{stamp}'\n"
        f"then run llmq again to start a new progress database there; or set LLMQ_HOME to another folder."
    )


def _refuse(path: Path, what: str) -> StoreError:
    return StoreError(what, where=str(path), todo=_move_aside_hint(path))


def _check_header(path: Path) -> None:
    """A non-empty file that is not SQLite at all is refused before SQLite ever opens it."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as err:
        raise StoreError(
            f"Cannot read the progress database: {err.strerror}.",
            where=str(path),
            todo="check the file's permissions, or set LLMQ_HOME to a folder you can write.",
        ) from err
    if head and head != SQLITE_HEADER:
        raise _refuse(path, "The file at progress.db is not an llmq progress database (it is not an SQLite file).")


def _check_identity(conn: sqlite3.Connection, path: Path) -> None:
    """Only an empty database or one marked with llmq's application_id may be used."""
    try:
        # One read transaction, so the three reads see the same state: read one by one, they can
        # straddle another llmq's first migration (no application_id yet, then its tables) and
        # mistake a database being created for a foreign one.
        conn.execute("BEGIN")
        try:
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
            tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            version = user_version(conn)
        finally:
            conn.execute("COMMIT")
    except sqlite3.OperationalError as err:  # e.g. "unable to open database file": not the file's fault
        raise StoreError(
            f"Cannot open the progress database ({err}).",
            where=str(path),
            todo="check that the folder exists and you may write to it, or set LLMQ_HOME.",
        ) from err
    except sqlite3.DatabaseError as err:
        raise _refuse(path, f"The progress database is damaged and cannot be read ({err}).") from err
    if app_id != APPLICATION_ID and (tables or version or app_id):
        raise _refuse(path, "The file at progress.db is an SQLite database, but not one llmq wrote.")
    check_not_newer(version, str(path))


@contextmanager
def _opening_lock(folder: Path) -> Iterator[None]:
    """Let one llmq at a time check, convert to WAL and migrate the database.

    SQLite's busy timeout does not cover all of that: two processes both switching a brand-new
    file to WAL can get "database is locked" at once (SQLite refuses to wait where waiting could
    deadlock). An advisory lock on the folder itself (no extra file) queues them instead.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: go without, the busy timeout covers the common cases
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # an unreadable folder: let SQLite's own open report the problem
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if missing) the progress database at `path`, checked, configured and migrated."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(
            f"Cannot create the folder for the progress database ({err.strerror}).",
            where=str(path.parent),
            todo="check its permissions, or set LLMQ_HOME.",
        ) from err
    with _opening_lock(path.parent):
        return _connect_checked(path)


def _connect_checked(path: Path) -> sqlite3.Connection:
    _check_header(path)
    try:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves (see `write`).
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as err:
        raise StoreError(
            f"Cannot open the progress database ({err}).",
            where=str(path),
            todo="check that the folder exists and is writable, or set LLMQ_HOME.",
        ) from err
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_identity(conn, path)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"SQLite could not put the progress database in WAL mode (got {mode}).",
                where=str(path),
                todo="keep LLMQ_HOME on a local disk, not a network share.",
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, str(path))
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as err:
        conn.close()
        raise _refuse(path, f"The progress database is damaged and cannot be used ({err}).") from err
    return conn


@contextmanager
def write(conn: sqlite3.Connection, where: str) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE takes the write lock up front, so two processes queue
    on the busy timeout instead of failing with "database is locked" when a reader upgrades."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        raise as_store_error(err, where) from err
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(err, sqlite3.DatabaseError):
            raise as_store_error(err, where) from err
        raise


def as_store_error(err: sqlite3.DatabaseError, where: str) -> StoreError:
    text = str(err)
    if "locked" in text or "busy" in text:
        return StoreError(
            "Another program kept the progress database locked for more than "
            f"{BUSY_TIMEOUT_MS // 1000} s; nothing was saved by this action.",
            where=where,
            todo="close other llmq windows or programs using the file, then try again.",
        )
    if "full" in text:
        return StoreError(
            "The disk is full; nothing was saved by this action.", where=where, todo="free some space, then try again."
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            "The progress database is read-only; nothing was saved.",
            where=where,
            todo="check the file's permissions, or set LLMQ_HOME to a folder you can write.",
        )
    return StoreError(
        f"The progress database failed: {text}. Nothing was saved by this action.",
        where=where,
        todo="run `sqlite3 progress.db 'PRAGMA integrity_check'`; if it reports "
        "damage, move the file aside and restore a backup.",
    )
