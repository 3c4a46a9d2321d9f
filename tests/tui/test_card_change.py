"""Changing cards: the footer is not rebuilt for the moment a change takes, yet a slow change never
offers keys that do nothing, and the next card brings its own keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from llmq.srs import Study
from llmq.store import Store
from llmq.tui.screens.review import ReviewScreen

from .conftest import TOPIC, screen_text, settle


def footer(app: Any) -> str:
    return screen_text(app).splitlines()[-1]


async def test_a_slow_change_shows_only_the_keys_that_work_until_the_next_card(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llmq.tui.screens.review.SLOW_CHANGE_S", 0.05)
    saved = threading.Event()
    answer = Study.answer

    def slow_answer(self: Study, *args: Any, **kwargs: Any) -> Any:  # the save waits for the test
        saved.wait(30)
        return answer(self, *args, **kwargs)

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        first = screen_text(app)
        await pilot.press("space")
        await settle(pilot)
        assert "Again" in footer(app)
        monkeypatch.setattr(Study, "answer", slow_answer)
        await pilot.press("3")
        await pilot.pause(0.5)  # the change is slow: past SLOW_CHANGE_S the footer says so
        line = footer(app)
        assert "Again" not in line and "Good" not in line and "Show answer" not in line and "Bury" not in line
        await pilot.press("3", "space", "minus")  # nothing acts while the card changes
        saved.set()
        await settle(pilot)
        line = footer(app)
        assert "Show answer" in line and "Again" not in line
        assert screen_text(app) != first  # the next card is on screen, its answer not shown
    with Store.open() as store:
        kinds = [e.kind for _, e in store.standing_events()]
    assert kinds == ["review"]  # one answer: the keys pressed mid-change did nothing
