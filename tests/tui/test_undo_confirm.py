"""Destructive actions ask first and can be undone; `u` never re-draws a numeric card's numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable

from llmq.store import Store
from llmq.tui.screens.browse import BrowseScreen
from llmq.tui.screens.confirm import ConfirmScreen
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.widgets.numeric import NumericView

from .conftest import TOPIC, screen_text, settle

QID = f"{TOPIC}.sqrt_dk"


def state_of(qid: str) -> int:
    with Store.open() as store:
        card = store.card(qid)
        assert card is not None
        return card.state.state


async def _to_browse_row(pilot: Any, qid: str) -> BrowseScreen:
    await pilot.press("escape", "b")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BrowseScreen)
    table = screen.query_one("#questions", DataTable)
    table.move_cursor(row=table.get_row_index(qid))
    await pilot.pause()
    return screen


async def test_browse_reset_asks_then_undoes(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space", "3")  # now a learning card
        await settle(pilot)
        learning = state_of(QID)
        assert learning != 0
        screen = await _to_browse_row(pilot, QID)
        assert "Undo" not in screen_text(app).splitlines()[-1]  # nothing to undo yet

        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Reset “Why divide by sqrt(d_k)?”?" in screen_text(app)
        await pilot.press("n")  # keep it
        await settle(pilot)
        assert app.screen is screen and state_of(QID) == learning

        await pilot.press("r", "y")
        await settle(pilot)
        assert state_of(QID) == 0  # new again
        assert "z Undo" in screen_text(app).splitlines()[-1]
        await pilot.press("z")
        await settle(pilot)
        assert state_of(QID) == learning  # the reset is taken back
        assert any("Undid the reset" in n.message and n.title == "Browse" for n in app._notifications)
        assert "Undo" not in screen_text(app).splitlines()[-1]


async def test_undo_on_a_numeric_card_keeps_its_numbers(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "numeric"))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and isinstance(screen.view, NumericView)
        first = screen.view.instance
        await pilot.click("#numeric-answer")
        await pilot.press(*"1", "enter")
        await settle(pilot)
        await pilot.press("1")  # Again: shown again later with fresh numbers
        await settle(pilot)
        for key in ("ctrl+z", "ctrl+z", "u"):  # ctrl+z: the new card's input has the focus
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(screen.view, NumericView)
            assert screen.view.instance.prompt == first.prompt
            assert screen.view.instance.answer == first.answer
        assert any("Undid the answer to “KV-cache size”" in n.message for n in app._notifications)
