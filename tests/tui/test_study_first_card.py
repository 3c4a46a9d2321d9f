"""`llmq study` draws its first card while the app starts (llmq.tui.preload): the card is on the
first screen, before any worker has run, and the session it came from is the one that saves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmq.store import Store
from llmq.tui.preload import Preload

from .conftest import TOPIC, screen_text, settle

SCOPE = (TOPIC, "flashcard")


def test_the_first_card_is_handed_over_once_and_only_for_its_scope(bank: Any) -> None:
    preload = Preload.start(bank, study=SCOPE)
    assert preload.wait() is not None
    assert preload.take_home() is None  # `llmq study` does not open on the home screen's counts
    assert preload.take_first_card((TOPIC, None)) is None  # another queue starts its own session
    first = preload.take_first_card(SCOPE)
    assert first is not None and first.shown is not None and first.counts is not None
    assert first.shown.qid == "tuitest.sqrt_dk" and first.counts.new > 0
    assert preload.take_first_card(SCOPE) is None  # once
    preload.progress.close()  # type: ignore[union-attr]


async def test_the_first_card_is_on_the_first_screen_and_is_answered_as_usual(
    make_app: Callable[..., Any], bank: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    preload = Preload.start(bank, study=SCOPE)
    preload.wait()
    from llmq.tui.progress_facade import Progress

    sessions: list[object] = []
    study = Progress.study
    monkeypatch.setattr(Progress, "study", lambda self, *a, **k: sessions.append(1) or study(self, *a, **k))
    app = make_app(study=True, topic=TOPIC, kind="flashcard", preload=preload)
    async with app.run_test(size=(120, 40)) as pilot:
        text = screen_text(app)  # no worker has run yet
        assert "Why are the scores" in text and "loading" not in text
        await settle(pilot)
        await pilot.press("space", "3")
        await settle(pilot)
    assert sessions == []  # the preloaded session was used, not a second one
    with Store.open() as store:
        assert [e.kind for _, e in store.standing_events("tuitest.sqrt_dk")] == ["review"]
