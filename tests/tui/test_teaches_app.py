"""A failure teaches the card behind it (issue 17 point 2), in the app: when a code check whose
`teaches=` names cards fails — in practice, on a review code card, in a mock interview — the
results name those cards by their titles ("review: ..."), the cards are due now in the review
queue (a logged "due" event), and the interview's report lists them under "Review next". The
judge is a fake whose failing check teaches one card, so nothing waits on torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmq.bank import Bank
from llmq.judge.verdict import CheckResult, Verdict
from llmq.store import Store
from llmq.tui.screens.interview_report import InterviewReportScreen
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.widgets.code_editor import CodeEditor
from llmq.tui.widgets.code_panel import CodePanel

from .conftest import TOPIC, screen_text, settle
from .test_interview import FAILING, Clock, _answer_followups, _app, _Pending
from .test_interview import FakeJudge as InterviewJudge

EXERCISE = f"{TOPIC}.gqa"
TAUGHT = f"{TOPIC}.many_choice"  # a choice card: "What GQA changes" (中文: its i18n title)
TAUGHT_TITLE = "What GQA changes"


def _failing(exercise: str, card: str) -> Verdict:
    checks = [
        CheckResult("solution loads", "pass"),
        CheckResult(FAILING, "fail", "differs at [0, 1]", teaches=[card]),
    ]
    return Verdict(exercise, "fail", checks, isolation="full")


class TeachingJudge(InterviewJudge):
    """As the interview's fake (a pass for code with a `return`), but the failing check teaches a card."""

    def __init__(self, card: str = TAUGHT) -> None:
        super().__init__()
        self.card = card

    def submit(self, exercise: Any, source: str) -> _Pending:
        if "return" in source:
            return super().submit(exercise, source)
        self.sources.append(source)
        return _Pending(_failing(exercise.id, self.card))


def _due_events(qid: str) -> list[str]:
    with Store.open() as store:
        return [e.kind for _, e in store.standing_events(qid) if e.kind == "due"]


def _next_card(bank: Bank) -> str | None:
    from llmq.srs import Study

    with Store.open() as store:
        shown = Study(store, bank.questions.values()).next()
        return shown.qid if shown is not None else None


async def _run_failing(pilot: Any) -> str:
    panel = pilot.app.screen.query_one(CodePanel)
    panel.editor.load_text("def grouped_query_attention(q, k, v, causal=True):\n    pass\n")
    await pilot.press("ctrl+r")
    await settle(pilot)
    return screen_text(pilot.app)


async def test_practice_names_the_card_and_makes_it_due_now(make_app: Callable[..., Any]) -> None:
    app = make_app(judge=TeachingJudge())
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ExerciseScreen(EXERCISE))
        await settle(pilot)
        text = await _run_failing(pilot)
        assert f"review: {TAUGHT_TITLE} ({TAUGHT})" in text
        assert "1 card it teaches is due now in your review queue" in text
    assert _due_events(TAUGHT) == ["due"]
    assert _next_card(app.bank) == TAUGHT  # never studied: first among today's new cards


async def test_a_review_code_card_names_it_in_chinese(make_app: Callable[..., Any]) -> None:
    card = f"{TOPIC}.kv_bytes"  # a numeric card with a Chinese title
    app = make_app(judge=TeachingJudge(card), lang="zh")
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "code"))
        await settle(pilot)
        text = await _run_failing(pilot)
        assert f"复习：KV cache 占多少显存 ({card})" in text
    assert _due_events(card) == ["due"]


async def test_a_passing_run_makes_nothing_due(make_app: Callable[..., Any]) -> None:
    app = make_app(judge=TeachingJudge())
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ExerciseScreen(EXERCISE))
        await settle(pilot)
        panel = app.screen.query_one(CodePanel)
        panel.editor.load_text("def grouped_query_attention(q, k, v, causal=True):\n    return q\n")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "review:" not in screen_text(app)
    assert _due_events(TAUGHT) == []


async def test_the_interview_report_lists_the_taught_card_under_review_next(bank: Bank, _private_home: Any) -> None:
    judge, clock = TeachingJudge(), Clock()
    app = _app(bank, judge, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")  # the blank function: the failing check teaches a card
        await settle(pilot)
        assert f"review: {TAUGHT_TITLE} ({TAUGHT})" in screen_text(app)
        app.screen.query_one(CodeEditor).insert("return q")
        await pilot.press("ctrl+r")
        await settle(pilot, 5)
        await _answer_followups(pilot, app)
        assert isinstance(app.screen, InterviewReportScreen)
        report = screen_text(app)
        review_next = report.split("Review next:", 1)[1]
        assert f"{TAUGHT_TITLE} ({TAUGHT}): a failed check teaches it; due now in your review queue" in review_next
    with Store.open(_private_home / "progress.db") as store:
        (saved,) = store.interviews.rounds(0)
        assert saved.taught == (TAUGHT,)
    assert _due_events(TAUGHT) == ["due"]
