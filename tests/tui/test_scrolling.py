"""Long answers, questions and stats scroll by keyboard: j/k, arrows, PgUp/PgDn, home/end."""

from __future__ import annotations

from dataclasses import replace

from llmq.bank import Bank
from llmq.tui.app import LlmqApp
from llmq.tui.screens.question import QuestionScreen
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.screens.stats import StatsScreen
from llmq.tui.widgets.reading import ReadingScroll

from .conftest import TOPIC, _no_judge, settle

LONG = "\n\n".join(f"Paragraph {i} of a long explanation." for i in range(40))


def long_answers(bank: Bank) -> Bank:
    """The test bank with a flashcard whose answer is far longer than a screen."""
    qid = f"{TOPIC}.sqrt_dk"
    card = bank.questions[qid]
    return replace(bank, questions={**bank.questions, qid: replace(card, answer=LONG, prompt=LONG)})


async def test_a_revealed_answer_scrolls_by_keyboard(bank: Bank) -> None:
    app = LlmqApp(long_answers(bank), judge_factory=_no_judge, warm_judge=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.view is not None
        card = screen.view
        assert card.max_scroll_y > 0  # the answer is longer than 80x24 shows
        assert card.show_vertical_scrollbar
        await pilot.press("end")
        await settle(pilot)
        assert card.scroll_y == card.max_scroll_y
        await pilot.press("k")
        await settle(pilot)
        assert card.scroll_y == card.max_scroll_y - 1
        await pilot.press("home")
        await settle(pilot)
        assert card.scroll_y == 0
        await pilot.press("j", "down")
        await settle(pilot)
        assert card.scroll_y == 2
        await pilot.press("pagedown")
        await settle(pilot)
        assert card.scroll_y > 2 + 5  # a page at a time
        await pilot.press("pageup")
        await settle(pilot)
        assert card.scroll_y == 2
        assert screen.suggested is not None  # scrolling rated nothing


async def test_question_and_stats_scroll_with_j_and_k(bank: Bank) -> None:
    app = LlmqApp(long_answers(bank), judge_factory=_no_judge, warm_judge=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(QuestionScreen(app.bank.questions[f"{TOPIC}.sqrt_dk"]))
        await settle(pilot)
        pane = app.screen.query_one(ReadingScroll)
        assert pane.max_scroll_y > 0
        await pilot.press("j", "j")
        await settle(pilot)
        assert pane.scroll_y == 2
        await pilot.press("escape")
        await settle(pilot)
        app.push_screen(StatsScreen())
        await settle(pilot)
        pane = app.screen.query_one(ReadingScroll)
        await pilot.press("end")
        await settle(pilot)
        assert pane.scroll_y == pane.max_scroll_y > 0
        await pilot.press("k")
        await settle(pilot)
        assert pane.scroll_y == pane.max_scroll_y - 1
