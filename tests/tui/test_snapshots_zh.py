"""The four main screens in Chinese at 80x24 (issue 14 point 7): home, a review card with its
answer, a code exercise with a hint, stats. Wide characters must keep borders, wrapping and columns
where they belong; look at the SVGs after `--snapshot-update` before committing new ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmq.srs import compute_stats
from llmq.tui.progress_facade import Progress
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.screens.stats import StatsScreen
from tests.store.helpers import local_ms

from .conftest import TOPIC, hold_cursor_still, settle

SIZE = (80, 24)


def test_home_zh(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)

    assert snap_compare(make_app(lang="zh"), terminal_size=SIZE, run_before=run_before)


def test_flashcard_answer_zh(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(make_app(lang="zh"), terminal_size=SIZE, run_before=run_before)


def test_code_exercise_with_a_hint_zh(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(ExerciseScreen(f"{TOPIC}.gqa"))
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        hold_cursor_still(pilot.app)

    assert snap_compare(make_app(lang="zh"), terminal_size=SIZE, run_before=run_before)


def test_stats_zh(snap_compare: Any, make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    at = local_ms(2026, 3, 11, 12)  # a fixed day, as in test_snapshots.test_stats
    monkeypatch.setattr(Progress, "stats", lambda self: compute_stats(self.store, at_ms=at))

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(StatsScreen())
        await settle(pilot)

    assert snap_compare(make_app(lang="zh"), terminal_size=SIZE, run_before=run_before)
