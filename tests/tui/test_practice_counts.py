"""Issue 13, point 14: a practice run is a review. Passing an exercise in practice schedules its
card as the review queue would, with the same suggested rating, and the screen says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmq.judge.verdict import CheckResult, Verdict
from llmq.store import Store
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.widgets.code_panel import CodePanel

from .conftest import TOPIC, screen_text, settle

EXERCISE = f"{TOPIC}.gqa"


class _Done:
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict

    def result(self, timeout: float | None = None) -> Verdict:
        return self.verdict

    def cancel(self) -> None:
        pass


class VerdictsInTurn:
    """A judge that answers each submission with the next of the given statuses (the real judge's
    verdicts are tested in tests/judge and test_code.py; here only what the app does with them)."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)

    def submit(self, exercise: Any, source: str) -> _Done:
        status = self.statuses.pop(0)
        return _Done(
            Verdict(
                exercise=exercise.id,
                status=status,  # type: ignore[arg-type]
                checks=[CheckResult(name="matches the reference", status="pass" if status == "pass" else "fail")],
            )
        )

    def close(self) -> None:
        pass


def reviews(qid: str) -> list[int]:
    with Store.open() as store:
        return [e.rating for _, e in store.standing_events(qid) if e.kind == "review"]


def due_ms(qid: str) -> int | None:
    with Store.open() as store:
        card = store.card(qid)
        return card.state.due_ms if card is not None and card.state.state else None


async def _practise(make_app: Callable[..., Any], judge: VerdictsInTurn, *keys: str) -> str:
    app = make_app(judge=judge)
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ExerciseScreen(EXERCISE))
        await settle(pilot)
        assert "Practice counts: a pass schedules the next review, as in the review queue." in screen_text(app)
        panel = app.screen.query_one(CodePanel)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        assert panel.passed
        return screen_text(app)


async def test_a_first_time_pass_in_practice_is_a_good_review(make_app: Callable[..., Any]) -> None:
    assert reviews(EXERCISE) == [] and due_ms(EXERCISE) is None
    text = await _practise(make_app, VerdictsInTurn("pass"), "ctrl+r")
    assert reviews(EXERCISE) == [3]  # Good, as the review queue suggests for a first-run pass
    assert due_ms(EXERCISE) is not None
    assert "Passed: scheduled as Good, next review in " in text


async def test_a_pass_after_a_failed_run_and_a_hint_is_hard(make_app: Callable[..., Any]) -> None:
    text = await _practise(make_app, VerdictsInTurn("fail", "pass"), "ctrl+r", "ctrl+t", "ctrl+r")
    assert reviews(EXERCISE) == [2]
    assert "scheduled as Hard" in text


async def test_a_failed_run_alone_schedules_nothing(make_app: Callable[..., Any]) -> None:
    app = make_app(judge=VerdictsInTurn("fail"))
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ExerciseScreen(EXERCISE))
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "scheduled as" not in screen_text(app)
    assert reviews(EXERCISE) == []


async def test_a_pass_after_seeing_the_reference_is_again(make_app: Callable[..., Any]) -> None:
    text = await _practise(make_app, VerdictsInTurn("pass"), "ctrl+g", "ctrl+r")
    assert "a pass now schedules the card as Again" in text or "scheduled as Again" in text
    assert reviews(EXERCISE) == [1]  # as the review queue counts a revealed reference
