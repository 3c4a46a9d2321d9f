"""A file at progress.db that llmq did not write, a damaged one, or one from a newer llmq is refused
with a message saying what, where and how to move it aside, and is never changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from llmq.store import DB_NAME, SCHEMA_VERSION, Store, StoreError
from tests.store.helpers import open_study


def _refused(home: Path) -> tuple[StoreError, bytes]:
    path = home / DB_NAME
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        Store.open()
    assert path.read_bytes() == before, "the file was changed"
    assert not (home / (DB_NAME + "-wal")).exists() or (home / (DB_NAME + "-wal")).stat().st_size == 0
    return info.value, before


def test_a_text_file_is_refused_and_kept(_private_home: Path) -> None:
    (_private_home / DB_NAME).write_text("my shopping list\n")
    err, _ = _refused(_private_home)
    text = str(err)
    assert "not an llmq progress database" in text
    assert str(_private_home / DB_NAME) in text
    assert "mv " in text and "will not overwrite" in text


def test_another_programs_sqlite_database_is_refused(_private_home: Path) -> None:
    conn = sqlite3.connect(_private_home / DB_NAME)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Ada')")
    conn.commit()
    conn.close()
    err, _ = _refused(_private_home)
    assert "not one llmq wrote" in str(err) and "mv " in str(err)


def test_a_damaged_database_is_refused(_private_home: Path) -> None:
    store, study, _ = open_study()
    for _ in range(5):
        study.answer(study.next(), 3)
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    path = _private_home / DB_NAME
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # keep the header, wreck the schema page
    path.write_bytes(bytes(data))
    err, _ = _refused(_private_home)
    assert "damaged" in str(err) and "mv " in str(err)


def test_a_database_from_a_newer_llmq_is_refused(_private_home: Path) -> None:
    Store.open().close()
    conn = sqlite3.connect(_private_home / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    err, _ = _refused(_private_home)
    text = str(err)
    assert "newer llmq" in text and f"schema version {SCHEMA_VERSION + 1}" in text
    assert "upgrade llmq" in text


def test_an_empty_file_becomes_a_new_database(_private_home: Path) -> None:
    (_private_home / DB_NAME).touch()
    with Store.open() as store:
        assert store.settings() == {}


def test_damage_found_after_opening_is_a_store_error_too(_private_home: Path) -> None:
    store, study, _ = open_study()
    for _ in range(3):
        study.answer(study.next(), 3)

    class Broken:
        in_transaction = False

        def execute(self, *args: object) -> None:
            raise sqlite3.DatabaseError("database disk image is malformed")

    store._conn = Broken()  # type: ignore[assignment]
    with pytest.raises(StoreError, match="malformed") as info:
        store.latest_submission("x")
    assert str(_private_home / DB_NAME) in str(info.value)
