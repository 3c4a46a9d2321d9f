"""Migrations: a database at every earlier schema version opens at the current one, keeping its data."""
from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from llmq.store import DB_NAME, SCHEMA_VERSION, Store
from llmq.store import migrations
from llmq.store.migrations import migrate

# Data written with each old schema, and a query that must give the same rows after migrating.
# A new migration adds its old version here, so its test runs on a database with history in it.
SAMPLES: dict[int, tuple[list[str], str]] = {
    0: ([], "SELECT count(*) FROM cards"),
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
    expected = conn.execute(check).fetchall() if version else None
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


def test_a_failing_migration_leaves_the_database_as_it_was(_private_home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = _private_home / DB_NAME
    _database_at(path, 0).close()

    def broken(conn: sqlite3.Connection) -> None:
        migrations.MIGRATIONS[0](conn)
        raise RuntimeError("disk pulled out mid-migration")

    conn = sqlite3.connect(path, isolation_level=None)
    monkeypatch.setattr(migrations, "MIGRATIONS", (broken,))
    with pytest.raises(RuntimeError):
        migrate(conn, str(path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    conn.close()


def _open_and_close(home: str) -> None:
    import os
    os.environ["LLMQ_HOME"] = home
    Store.open().close()


def test_two_processes_creating_the_database_at_once(_private_home: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_close, args=(str(_private_home),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Store.open() as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
