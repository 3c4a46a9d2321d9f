"""The stats screen: every topic on its own labelled row, the forecast from today, the heatmap's
weekday rows aligned, and the numbers equal to `llmq stats --json` for the same progress."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmq.bank import load_bank
from llmq.srs import DayReviews, TopicStats, compute_stats
from llmq.store import Store
from llmq.tui.app import LlmqApp
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.screens.stats import StatsScreen, mastery_table
from llmq.tui.widgets.heatmap import heatmap_text

from .conftest import TOPIC, _no_judge, screen_text, settle
from .test_terminal import LLMQ


def test_every_topic_has_its_own_row_with_its_own_number() -> None:
    from rich.console import Console

    topics = {f"topic{i:02d}": TopicStats(cards=i + 1, mastery=i / 20) for i in range(20)}
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(mastery_table(topics, {}))
    lines = console.export_text().splitlines()
    for i in range(20):
        row = next(line for line in lines if line.startswith(f"topic{i:02d}"))
        assert row.split()[1] == str(i + 1)  # its own card count on its own line
        assert row.rstrip().endswith(f"{i / 20 * 100:5.1f}%".strip())


def test_heatmap_rows_are_whole_weekdays_aligned() -> None:
    # 365 days ending on a Wednesday (2026-12-02), with reviews only on Mondays
    from datetime import date, timedelta

    end = date(2026, 12, 2)
    days = [end - timedelta(days=364 - i) for i in range(365)]
    text = heatmap_text([DayReviews(d.isoformat(), 3 if d.weekday() == 0 else 0) for d in days]).plain
    rows = text.splitlines()[:7]
    assert [r[:3] for r in rows] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert len({r.index("■") if "■" in r else r.index("·") for r in rows}) == 1  # every row starts in one column
    assert "·" not in rows[0] and rows[0].count("■") == 26  # Mondays: one row, all of them
    assert rows[2].rstrip().endswith("·") and rows[3].rstrip() == rows[3][: 4 + 25 * 2].rstrip()  # today is Wed


async def test_stats_numbers_equal_stats_json(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space", "3")
        await settle(pilot)
        await pilot.press("escape", "s")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        text = screen_text(app)
    with Store.open() as store:  # what `llmq stats --json` prints (cmd_stats) for this bank
        data = compute_stats(store, app.bank.questions.values()).to_dict()
    assert (
        f"{data['reviews_total']} reviews · {data['cards_total']} cards · {data['due_now']} due now · "
        f"streak {data['streak_days']} days"
    ) in text
    forecast = [d["due"] for d in data["forecast"]]
    assert (
        f"today {forecast[0]} · tomorrow {forecast[1]} · next 7 days {sum(forecast[:7])} · next 30 days {sum(forecast)}"
    ) in text
    assert re.search(r"^\s+today\s+\+7\s+\+14\s+\+21\s+\+28", text, re.M)  # the axis starts at today
    for name, t in data["topics"].items():
        title = app.bank.topics[name].title
        row = next(line for line in text.splitlines() if line.strip().startswith(title))
        numbers = row.replace(title, "").split()
        assert numbers[:5] == [str(t[k]) for k in ("cards", "new", "learning", "review", "mature")]
        assert f"{t['mastery'] * 100:.1f}%" in row
    code = data["code"]
    assert f"{code['solved']} of {code['exercises']} exercises solved · {code['attempted']} attempted" in text
    assert "Reviews per day" in text and f"{data['reviews_total']} reviews in the last 26 weeks" in text


async def test_stats_screen_equals_the_stats_command(test_bank_dir: Path) -> None:
    """The real `llmq stats --json`, over the same data folder and bank as the app."""
    if not LLMQ.exists():
        pytest.skip("the llmq script is not installed in this environment")
    full = load_bank((str(test_bank_dir),))
    app = LlmqApp(full, judge_factory=_no_judge, warm_judge=False)
    async with app.run_test(size=(120, 100)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space", "3")
        await settle(pilot)
        await pilot.press("escape", "s")
        await settle(pilot)
        text = screen_text(app)
    out = subprocess.run(
        [str(LLMQ), "stats", "--json", "--bank", str(test_bank_dir)], capture_output=True, text=True, env=os.environ, timeout=120
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (
        f"{data['reviews_total']} reviews · {data['cards_total']} cards · {data['due_now']} due now · "
        f"streak {data['streak_days']} days"
    ) in text
    forecast = [d["due"] for d in data["forecast"]]
    assert f"today {forecast[0]} · tomorrow {forecast[1]} · next 7 days {sum(forecast[:7])}" in text
    assert len(data["topics"]) > 10  # the bundled topics too: every one has its row
    for name, t in data["topics"].items():
        title = full.topics[name].title if name in full.topics else name
        row = next(line for line in text.splitlines() if line.strip().startswith(title[:25]))
        assert f"{t['mastery'] * 100:.1f}%" in row and f" {t['cards']} " in row
