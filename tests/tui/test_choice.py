"""Choice cards (issue 13, point 11): options shuffled each time, answers mapped back to the bank's
indices, feedback per option with its rationale, arrow keys, and undo showing the same order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmq.tui.widgets import choice
from llmq.tui.widgets.choice import ChoiceView

from .conftest import screen_text, settle
from .test_review import open_review, saved_reviews

REAL_DRAW = choice.draw_order  # taken before conftest's fixture puts the bank's order in its place


def test_each_draw_is_an_order_of_every_option_and_draws_differ() -> None:
    draws = {REAL_DRAW(4) for _ in range(60)}
    assert all(sorted(d) == [0, 1, 2, 3] for d in draws)
    assert len(draws) > 1  # 24 orders: 60 draws giving one is a chance of 24**-59


def _orders(monkeypatch: pytest.MonkeyPatch, *orders: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Make the shuffle hand out these orders, one per card shown; returns what it handed out."""
    given: list[tuple[int, ...]] = []
    queue: Iterator[tuple[int, ...]] = iter(orders)

    def draw(n: int) -> tuple[int, ...]:
        order = next(queue)
        assert len(order) == n
        given.append(order)
        return order

    monkeypatch.setattr(choice, "draw_order", draw)
    return given


async def test_shuffled_options_are_graded_by_the_bank_index(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _orders(monkeypatch, (2, 0, 1), (0, 1, 2))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_review(pilot, kind="choice")
        text = screen_text(app)
        # bank order: "One key head..." (right), "The query projection", "Nothing: ..."
        assert text.index("a. Nothing: each head") < text.index("b. One key head") < text.index("c. The query projection")
        await pilot.press("b")  # position b holds bank option 0, the right one
        await settle(pilot)
        text = screen_text(app)
        assert "✓ Right." in text
        await pilot.press("enter")  # the suggested rating: Good
        await settle(pilot)
    assert saved_reviews("tuitest.one_choice") == [3]


async def test_feedback_names_picked_right_picked_wrong_and_missed_with_rationales(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _orders(monkeypatch, (0, 1, 2), (2, 1, 0))
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await open_review(pilot, kind="choice")
        await pilot.press("a", "enter")  # first card right, then Good
        await settle(pilot)
        # many_choice shown as: a = bank 2 (wrong), b = bank 1 (right), c = bank 0 (right)
        await pilot.press("a", "b", "enter")
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "✗ Not quite: the answer is b, c." in text
        assert ("a. It needs more query heads than MHA ✗ you picked it, wrong — The query heads stay as many as in MHA") in text
        assert "b. Each group of query heads shares one key/value head ✓ you picked it, right — That is the definition" in text
        assert "c. The KV cache is smaller than with MHA ✗ you missed it (a right option) — Fewer key/value heads" in text
        await pilot.press("1")
        await settle(pilot)
    assert saved_reviews("tuitest.many_choice") == [1]


async def test_arrow_keys_move_between_options_and_enter_picks(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _orders(monkeypatch, (1, 2, 0), (0, 1, 2))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_review(pilot, kind="choice")
        await pilot.press("down", "down", "up", "up", "up")  # wraps round to the last position
        await settle(pilot)
        view = app.screen.query_one(ChoiceView)
        assert view.cursor == 2 and not view.graded
        await pilot.press("enter")  # position c holds bank option 0: right
        await settle(pilot)
        assert "✓ Right." in screen_text(app)
        await pilot.press("enter", "down", "space", "down", "space", "enter")  # Good; then b and c ticked
        await settle(pilot)
        view = app.screen.query_one(ChoiceView)
        assert view.selected == {1, 2} and "✗ Not quite: the answer is a, b." in screen_text(app)


async def test_undo_shows_the_options_in_the_order_they_were_answered(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _orders(monkeypatch, (2, 0, 1), (1, 2, 0), (0, 1, 2), (2, 1, 0))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_review(pilot, kind="choice")
        await pilot.press("c", "1")  # wrong (bank 1), Again
        await settle(pilot)
        assert app.screen.query_one(ChoiceView).card.id == "tuitest.many_choice"
        await pilot.press("u")
        await settle(pilot)
        view = app.screen.query_one(ChoiceView)
        assert view.card.id == "tuitest.one_choice" and view.order == (2, 0, 1)
        assert len(given) == 2  # no new draw for the card `u` brought back
        text = screen_text(app)
        assert text.index("a. Nothing: each head") < text.index("b. One key head")
    assert saved_reviews("tuitest.one_choice") == []
