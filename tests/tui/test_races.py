"""Keys that arrive while a card is loading or changing never act on a card the user has not
seen, and an error nothing handled ends the app with a non-zero status and a saved log."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmq.store import Store
from llmq.tui.app import exit_status
from llmq.tui.screens.review import ReviewScreen

from .conftest import TOPIC, screen_text, settle


def standing(qid: str) -> list[str]:
    with Store.open() as store:
        return [e.kind for _, e in store.standing_events(qid)]


async def test_keys_pressed_while_the_first_card_loads_do_nothing(make_app: Callable[..., Any]) -> None:
    app = make_app()
    loaded = threading.Event()
    progress = app.progress

    def slow_progress() -> Any:  # the store answers only once the keys have been pressed
        loaded.wait(30)
        return progress()

    app.progress = slow_progress  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await pilot.pause()
        await pilot.press("minus", "exclamation_mark", "space", "3")  # the card is not on screen yet
        footer = screen_text(app).splitlines()[-1]
        assert "Bury" not in footer and "Again" not in footer  # no key is offered while loading
        loaded.set()
        await settle(pilot)
        assert "Why are the scores" in screen_text(app)
        assert "The dot product" not in screen_text(app)  # space did not reveal the unseen card
    assert standing("tuitest.sqrt_dk") == []  # not buried, suspended or rated unseen


async def test_show_and_rate_in_quick_succession_never_crash(make_app: Callable[..., Any]) -> None:
    """space and 3 pressed without waiting, as a fast user does, again and again."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        for _ in range(6):
            await pilot.press("space", "3", "space")  # the last space may meet the next card mid-change
        await settle(pilot)
        assert app.is_running and app.screen is screen
        assert app.crash is None
    ratings = standing("tuitest.sqrt_dk")
    assert ratings and set(ratings) == {"review"}


async def test_a_key_during_the_change_is_not_taken_for_the_next_card(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        await pilot.press("space")
        await settle(pilot)
        screen.action_rate(3)  # the save starts: the screen is busy until the next card is drawn
        assert screen.busy
        assert not screen.check_action("rate", (3,)) and not screen.check_action("bury", ())
        await settle(pilot)
        assert not screen.busy
        # The next card arrives; space comes in right after its handler, before it is drawn.
        result = await asyncio.to_thread(screen._next, None, "")
        await screen.on_review_screen_advanced(ReviewScreen.Advanced(result))
        screen.action_show()  # ignored: the card has not been drawn yet
        await settle(pilot)
        assert app.is_running and screen.suggested is None
        assert "The dot product" not in screen_text(app)


async def _open(pilot: Any) -> ReviewScreen:
    pilot.app.push_screen(ReviewScreen(TOPIC, "flashcard"))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def test_an_unhandled_error_exits_non_zero_with_a_saved_log(
    make_app: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app()

    def broken() -> None:
        raise RuntimeError("a bug in a key handler")

    app.action_broken = broken  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.bind("f12", "broken")
            await pilot.press("f12")
            await settle(pilot)
    status = exit_status(app, None)
    assert status == 1
    logs = list((Path(os.environ["LLMQ_HOME"]) / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and "a bug in a key handler" in logs[0].read_text()
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: a bug in a key handler" in err and str(logs[0]) in err
