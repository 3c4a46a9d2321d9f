"""A few snapshots of what the screens look like (pytest-textual-snapshot; update with
`pytest tests/tui/test_snapshots.py --snapshot-update` after a deliberate change of look)."""
from __future__ import annotations

from typing import Any, Callable

from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.screens.review import ReviewScreen

from .conftest import TOPIC, settle

SIZE = (120, 36)


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

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
