"""`llmq stats [--json]` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from llmq.bank import load_bank
from llmq.srs import Rating, Study
from llmq.store import DB_NAME, Store
from tests.conftest import run_llmq


def test_stats_json_after_some_reviews() -> None:
    bank = list(load_bank(()).questions.values())
    with Store.open() as store:
        study = Study(store, bank)
        for _ in range(3):
            study.answer(study.next(), Rating.Good)
    out = run_llmq("stats", "--json")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    # (the bundled bank may grow while the suite runs, so no exact card count here)
    assert stats["reviews_total"] == 3 and stats["cards_total"] >= 3
    # each card answered Good is learning again in 10 minutes, so none is due now
    assert stats["streak_days"] == 1 and stats["due_now"] == 0
    assert len(stats["reviews_per_day"]) == 365 and stats["reviews_per_day"][-1]["reviews"] == 3


def test_stats_report_without_json() -> None:
    out = run_llmq("stats")
    assert out.returncode == 0, out.stderr
    assert "Cards" in out.stdout and "Retention" in out.stdout and "streak 0 days" in out.stdout


def test_stats_on_a_foreign_file_says_how_to_move_it_aside(_private_home: Path) -> None:
    (_private_home / DB_NAME).write_text("not mine\n")
    out = run_llmq("stats")
    assert out.returncode == 1
    assert "not an llmq progress database" in out.stderr and "mv " in out.stderr
    assert (_private_home / DB_NAME).read_text() == "not mine\n"
