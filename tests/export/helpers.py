"""Shared by the export tests: a history with every kind of log row, and `llmq` run in-process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llmq.bank import Question, load_bank
from llmq.cli import main
from llmq.srs import Rating, Study, save_settings
from llmq.store import Store

DAY_MS = 86_400_000


def bank_questions() -> list[Question]:
    return list(load_bank(()).questions.values())


def make_history(home: Path) -> dict[str, int]:
    """Reviews over two weeks (so the stats have days, retention and a forecast), undone answers,
    a bury, a suspend, a reset, code submissions, settings, and a deck's and a solution's files.
    Returns the counts of what was made."""
    questions = bank_questions()
    now = int(time.time() * 1000) - 14 * DAY_MS  # moved by hand: two weeks up to today
    with Store.open() as store:
        save_settings(store, new_per_day=40)
        study = Study(store, questions, clock=lambda: now)
        undone = 0
        for day in range(14):
            now += DAY_MS
            for i in range(6):
                shown = study.next()
                assert shown is not None
                study.answer(shown, (Rating.Good, Rating.Again, Rating.Easy, Rating.Hard)[(day + i) % 4], duration_ms=4000 + i)
                now += 60_000
            if day % 3 == 0:
                assert study.undo() is not None  # the last answer of the day, undone
                undone += 1
        first, second, third = questions[0].id, questions[1].id, questions[2].id
        study.bury(first)
        study.suspend(second)
        study.reset(third)
        code = next(q for q in questions if q.kind == "code")
        store.add_submission(code.id, "def f():\n    return 1\n", {"status": "fail", "checks": []}, at_ms=now)
        store.add_submission(code.id, "def f():\n    return 2\n", {"status": "pass", "checks": []}, at_ms=now + 1)
    deck = home / "decks" / "mynotes" / "questions"
    deck.mkdir(parents=True)
    (deck / "mynotes.yaml").write_text("topic: mynotes\ntitle: 我的笔记\nquestions: []\n", encoding="utf-8")
    (home / "solutions").mkdir()
    (home / "solutions" / "attention_gqa.py").write_text("# 我的解法\n", encoding="utf-8")
    return {"undone": undone, "submissions": 2, "files": 2}


def llmq(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`llmq ARGS` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def stats_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = llmq(capsys, "stats", "--json")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result
