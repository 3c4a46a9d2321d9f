"""`llmq export FILE.csv`: the review log as the FSRS optimizer's CSV (card_id, review_time in ms,
review_rating 1-4, review_state 0-3 before the answer, review_duration in ms); answers only,
undone answers left out, and nothing from before a card's reset."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from llmq.store import DB_NAME

from .helpers import llmq, make_history


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_csv_holds_the_standing_answers_as_the_optimizer_reads_them(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path
) -> None:
    make_history(_private_home)
    path = tmp_path / "revlog.csv"
    code, out, err = llmq(capsys, "export", str(path))
    assert code == 0, err
    assert path.read_text(encoding="utf-8").splitlines()[0] == "card_id,review_time,review_rating,review_state,review_duration"
    rows = _read(path)
    with sqlite3.connect(_private_home / DB_NAME) as conn:
        reset_card = conn.execute("SELECT card FROM review_log WHERE kind = 'reset'").fetchone()[0]
        expected = conn.execute(
            "SELECT card, at_ms, rating, state_before, duration_ms FROM review_log "
            "WHERE kind = 'review' AND undone_ms IS NULL AND card != ? ORDER BY id",
            (reset_card,),
        ).fetchall()
        undone_times = {t for (t,) in conn.execute("SELECT at_ms FROM review_log WHERE undone_ms IS NOT NULL")}
    assert [tuple(int(v) for v in r.values()) for r in rows] == expected
    assert f"{len(rows)} reviews" in out
    assert not undone_times & {int(r["review_time"]) for r in rows}
    assert {r["review_rating"] for r in rows} <= {"1", "2", "3", "4"}
    assert {r["review_state"] for r in rows} <= {"0", "1", "2", "3"} and "0" in {r["review_state"] for r in rows}
    assert all(int(r["review_time"]) > 1_600_000_000_000 for r in rows)  # milliseconds, not seconds
    assert str(reset_card) not in {r["card_id"] for r in rows}  # its only answers came before the reset


def test_format_flag_wins_over_the_extension_and_topic_narrows(
    capsys: pytest.CaptureFixture[str], _private_home: Path, tmp_path: Path
) -> None:
    make_history(_private_home)
    everything = tmp_path / "all.txt"
    assert llmq(capsys, "export", str(everything), "--format", "revlog")[0] == 0
    one = tmp_path / "one.txt"
    topic = "alignment"
    assert llmq(capsys, "export", str(one), "--format", "revlog", "--topic", topic)[0] == 0
    with sqlite3.connect(_private_home / DB_NAME) as conn:
        keys = {str(k) for (k,) in conn.execute("SELECT key FROM cards WHERE topic = ?", (topic,))}
    narrowed, all_rows = _read(one), _read(everything)
    assert narrowed and len(narrowed) < len(all_rows)
    assert {r["card_id"] for r in narrowed} <= keys
