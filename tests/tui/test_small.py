"""Below 80x24 the app says the terminal is too small instead of drawing clipped buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmq.tui.screens.home import HomeScreen
from llmq.tui.screens.review import ReviewScreen

from .conftest import TOPIC, screen_text, settle


async def test_a_small_terminal_is_told_so_and_recovers(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "The terminal is too small: 60x20." in text and "at least 80x24" in text
        assert "Review all" not in text  # no clipped footer or table under it
        await pilot.press("r", "escape")  # keys wait for a larger terminal
        await settle(pilot)
        assert "too small" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "too small" not in screen_text(app) and "TUI test bank" in screen_text(app)


async def test_shrinking_mid_review_keeps_the_card(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.resize_terminal(79, 30)
        await settle(pilot)
        assert "The terminal is too small: 79x30." in screen_text(app)
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and "Why are the scores" in screen_text(app)
