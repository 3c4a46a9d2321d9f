"""Snapshots of what the screens look like at 80x24, the smallest size the app supports
(pytest-textual-snapshot; update with `pytest tests/tui/test_snapshots.py --snapshot-update` after
a deliberate change of look, and look at the new SVGs)."""

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


def test_home(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_flashcard_answer_with_math_and_previews(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_choice_graded(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(ReviewScreen(TOPIC, "choice"))
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_code_exercise_with_a_hint(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(ExerciseScreen(f"{TOPIC}.gqa"))
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        hold_cursor_still(pilot.app)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_stats(snap_compare: Any, make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # A fixed day (local noon, a Wednesday), so the calendar and the forecast do not move daily.
    at = local_ms(2026, 3, 11, 12)
    monkeypatch.setattr(Progress, "stats", lambda self: compute_stats(self.store, at_ms=at))

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(StatsScreen())
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
