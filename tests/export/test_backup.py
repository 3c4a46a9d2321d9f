"""`llmq export FILE.json` and `llmq restore FILE`: a round trip keeps everything; a bad backup or
a home that already holds progress changes nothing."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from llmq.store import DB_NAME

from .helpers import llmq, make_history, stats_json


def _log_rows(home: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / DB_NAME) as conn:
        return conn.execute("SELECT * FROM review_log ORDER BY id").fetchall()


def _backup(capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path) -> Path:
    make_history(home)
    path = tmp_path / "backup.json"
    code, out, err = llmq(capsys, "export", str(path))
    assert code == 0, err
    assert "undone" in out and str(path) in out
    return path


def test_round_trip_keeps_stats_log_submissions_settings_and_files(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _backup(capsys, _private_home, tmp_path)
    before = stats_json(capsys)
    assert before["reviews_total"] == 14 * 6 - 5  # five answers were undone
    log_before = _log_rows(_private_home)
    assert sum(1 for row in log_before if row[-1] is not None) == 5  # undone rows are in the log

    fresh = tmp_path / "fresh_home"
    monkeypatch.setenv("LLMQ_HOME", str(fresh))
    code, out, err = llmq(capsys, "restore", str(path))
    assert code == 0, err
    assert "5 undone" in out and "2 submissions" in out and "2 files" in out
    assert stats_json(capsys) == before
    assert _log_rows(fresh) == log_before
    with sqlite3.connect(fresh / DB_NAME) as conn:
        assert conn.execute("SELECT exercise, code, status FROM submissions ORDER BY id").fetchall()[-1][2] == "pass"
        assert json.loads(conn.execute("SELECT value FROM settings WHERE key = 'new_per_day'").fetchone()[0]) == 40
        states = dict(conn.execute("SELECT qid, suspended FROM cards"))
        assert sum(states.values()) == 1  # the suspended card is still suspended
    assert (fresh / "decks" / "mynotes" / "questions" / "mynotes.yaml").read_text(encoding="utf-8").startswith("topic: mynotes")
    assert (fresh / "solutions" / "attention_gqa.py").read_text(encoding="utf-8") == "# 我的解法\n"
    assert not [p for p in fresh.iterdir() if p.name.startswith(".llmq-restore-")]


def test_the_review_log_stays_append_only_after_a_restore(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _backup(capsys, _private_home, tmp_path)
    fresh = tmp_path / "fresh_home"
    monkeypatch.setenv("LLMQ_HOME", str(fresh))
    assert llmq(capsys, "restore", str(path))[0] == 0
    with sqlite3.connect(fresh / DB_NAME) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM review_log WHERE id = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE review_log SET rating = 4 WHERE id = 1")
        undone = conn.execute("SELECT id FROM review_log WHERE undone_ms IS NOT NULL").fetchone()[0]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE review_log SET undone_ms = 1 WHERE id = ?", (undone,))


def test_restore_refuses_a_home_with_progress_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path
) -> None:
    path = _backup(capsys, _private_home, tmp_path)
    db_before = (_private_home / DB_NAME).read_bytes()
    code, out, err = llmq(capsys, "restore", str(path))
    assert code == 1
    assert "already holds progress" in err and "progress.db" in err and "decks/" in err and "LLMQ_HOME" in err
    assert (_private_home / DB_NAME).read_bytes() == db_before
    assert not [p for p in _private_home.iterdir() if p.name.startswith(".llmq-restore-")]


def _damaged(path: Path, text: str) -> Path:
    bad = path.with_name("damaged.json")
    bad.write_text(text, encoding="utf-8")
    return bad


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda t: t[: len(t) // 2], "truncated"),
        (lambda t: t[: t.index('"review_log"') + 5], "truncated"),  # cut inside a string
        (lambda t: t.replace('"rating"', '"ratinh"', 1), "checksum"),
        (lambda t: "[1, 2, 3]", "not an llmq backup"),
        (lambda t: t.replace('"version":1', '"version":99', 1), "newer llmq"),
        (lambda t: re.sub(r'"schema_version":\d+', '"schema_version":99', t, count=1), "schema 99"),
    ],
    ids=["truncated", "truncated-in-a-string", "changed", "not-a-backup", "newer", "newer-schema"],
)
def test_a_bad_backup_is_named_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    _private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: object,
    said: str,
) -> None:
    path = _backup(capsys, _private_home, tmp_path)
    assert callable(damage)
    bad = _damaged(path, damage(path.read_text(encoding="utf-8")))
    fresh = tmp_path / "fresh_home"
    fresh.mkdir()
    monkeypatch.setenv("LLMQ_HOME", str(fresh))
    code, out, err = llmq(capsys, "restore", str(bad))
    assert code == 1
    assert said in err and "damaged.json" in err and "Nothing was changed" in err
    assert list(fresh.iterdir()) == []


@pytest.mark.parametrize(("rating", "said"), [(9, "CHECK"), ([3], "binding"), ("good", "INTEGER")])
def test_rows_that_break_the_schema_are_refused_before_anything_moves(
    capsys: pytest.CaptureFixture[str],
    _private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rating: object,
    said: str,
) -> None:
    """A backup edited by hand with its checksum recomputed: a rating of 9 breaks a CHECK, a list
    or a word is not a rating."""
    from llmq.export.backup import _checksum

    path = _backup(capsys, _private_home, tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    log = doc["tables"]["review_log"]
    log["rows"][0][log["columns"].index("rating")] = rating
    doc["sha256"] = _checksum(doc["tables"], doc["files"])
    bad = _damaged(path, json.dumps(doc))
    fresh = tmp_path / "fresh_home"
    monkeypatch.setenv("LLMQ_HOME", str(fresh))
    code, out, err = llmq(capsys, "restore", str(bad))
    assert code == 1
    assert "review_log" in err and said in err
    assert not (fresh / DB_NAME).exists() and not (fresh / "decks").exists()


def test_a_backup_takes_no_deck_or_topic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = llmq(capsys, "export", str(tmp_path / "b.json"), "--topic", "attention")
    assert code == 2 and "always complete" in err
    assert not (tmp_path / "b.json").exists()


def test_restore_of_a_missing_file_is_a_usage_error_and_messages_come_in_chinese(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path
) -> None:
    code, out, err = llmq(capsys, "restore", str(tmp_path / "nowhere.json"))
    assert code == 2 and "nowhere.json" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "llmq-backup", "version": 1, "tables": {', encoding="utf-8")
    code, out, err = llmq(capsys, "--lang", "zh", "restore", str(bad))
    assert code == 1 and "不是可用的 llmq 备份" in err and "截断" in err
    assert not (_private_home / DB_NAME).exists()
