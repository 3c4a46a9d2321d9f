"""The stats screen offers `llmq optimize` once a set of weights has 400 reviews and none fitted,
and says nothing of it before, or after weights were fitted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmq.srs import save_settings
from llmq.store import Store
from llmq.tui.screens.stats import StatsScreen
from tests.srs.synthetic_history import simulate, write_history

from .conftest import screen_text, settle

OFFER = "Run `llmq optimize` to compare them with the defaults"


async def _stats_text(app: Any) -> str:
    async with app.run_test(size=(200, 80)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        return " ".join(screen_text(app).split())  # the offer wraps; compare its words


async def test_offer_appears_at_400_reviews_without_fitted_weights(make_app: Callable[..., Any]) -> None:
    with Store.open() as store:
        write_history(store, simulate(399, seed=1))
    assert OFFER not in await _stats_text(make_app())

    with Store.open() as store:
        write_history(store, simulate(1, seed=2), prefix="more")
    text = await _stats_text(make_app())
    assert "Your cards have 400 reviews: enough to fit FSRS weights to your own memory." in text
    assert OFFER in text and "code exercises" not in text


async def test_no_offer_once_weights_are_fitted(make_app: Callable[..., Any]) -> None:
    with Store.open() as store:
        write_history(store, simulate(500, seed=1))
        save_settings(store, parameters_fitted_on="2026-12-01")
    assert OFFER not in await _stats_text(make_app())
