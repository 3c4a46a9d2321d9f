"""Issue 16 points 3 and 4 on screen: a flashcard's key points appear with its answer in review (and
follow the language flip); after a pass on the practice screen, the exercise's follow-up cards are
listed by title. A card or exercise without them shows nothing extra."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from llmq.bank import Bank, CodeExercise, Flashcard
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.screens.review import ReviewScreen

from .conftest import TOPIC, screen_text, settle
from .test_practice_counts import VerdictsInTurn

CARD, EXERCISE = f"{TOPIC}.sqrt_dk", f"{TOPIC}.gqa"
POINTS = ("dot product variance grows as d_k", "softmax saturates; gradients vanish")
POINTS_ZH = ("点积的方差随 d_k 增大", "softmax 饱和，梯度消失")


@pytest.fixture
def pointed_bank(bank: Bank) -> Bank:
    """The TUI bank with key points on its flashcard and follow-ups on its exercise."""
    card, code = bank.questions[CARD], bank.questions[EXERCISE]
    assert isinstance(card, Flashcard) and isinstance(code, CodeExercise)
    i18n = {"zh": {**card.i18n["zh"], "key_points": POINTS_ZH}}
    questions = dict(bank.questions)
    questions[CARD] = replace(card, key_points=POINTS, i18n=i18n)
    questions[EXERCISE] = replace(code, followups=(CARD, f"{TOPIC}.one_choice"))
    return replace(bank, questions=questions)


def _app(bank: Bank, judge: Any = None) -> Any:
    from llmq.tui.app import LlmqApp
    from llmq.tui.judging import JudgeStartFailed

    def no_judge() -> Any:
        raise JudgeStartFailed("no judge in this test")

    return LlmqApp(bank, judge_factory=(lambda: judge) if judge is not None else no_judge, warm_judge=judge is not None)


async def test_key_points_show_with_the_answer_and_flip_to_chinese(pointed_bank: Bank) -> None:
    app = _app(pointed_bank)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, kind="flashcard"))
        await settle(pilot)
        assert "Key points" not in screen_text(app)  # the answer, and its points, wait for space
        await pilot.press("space")
        await settle(pilot)
        text = screen_text(app)
        assert "Key points: grade your answer by these" in text
        assert all(p in text for p in POINTS) and "has variance d_k" in text  # beside the answer
        await pilot.press("l")
        await settle(pilot)
        text = screen_text(app)
        assert all(p in text for p in POINTS_ZH) and not any(p in text for p in POINTS)


async def test_a_card_without_key_points_shows_its_answer_alone(bank: Bank) -> None:
    app = _app(bank)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, kind="flashcard"))
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        text = screen_text(app)
        assert "has variance d_k" in text and "Key points" not in text


async def _practise(bank: Bank, *statuses: str) -> tuple[str, str]:
    app = _app(bank, judge=VerdictsInTurn(*statuses))
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ExerciseScreen(EXERCISE))
        await settle(pilot)
        before = screen_text(app)
        for _ in statuses:
            await pilot.press("ctrl+r")
            await settle(pilot)
        return before, screen_text(app)


async def test_followups_are_listed_after_a_pass_in_practice(pointed_bank: Bank) -> None:
    before, after = await _practise(pointed_bank, "pass")
    assert "An interviewer may ask next:" not in before
    assert "An interviewer may ask next:" in after
    assert f"Why divide by sqrt(d_k)?  ({CARD})" in after
    assert f"({TOPIC}.one_choice)" in after


async def test_no_followups_after_a_failed_run(pointed_bank: Bank) -> None:
    _, after = await _practise(pointed_bank, "fail")
    assert "An interviewer may ask next:" not in after


async def test_an_exercise_without_followups_lists_none_after_a_pass(bank: Bank) -> None:
    _, after = await _practise(bank, "pass")
    assert "An interviewer may ask next:" not in after
