"""The stats screen's readiness section: absent until `llmq plan --date` saves a date, then the
date, the expected recall overall and per topic, and today's plan, as `llmq plan` gives them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from llmq.bank import Bank
from llmq.srs.daytime import DayClock
from llmq.srs.plan import compute_plan
from llmq.srs.plan_date import save_plan
from llmq.store import Store, now_ms
from llmq.tui.screens.stats import StatsScreen
from tests.srs.synthetic_user import study

from .conftest import screen_text, settle


async def _stats_text(app: Any) -> str:
    async with app.run_test(size=(160, 120)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        return " ".join(screen_text(app).split())


async def test_no_readiness_until_a_date_is_saved(make_app: Callable[..., Any]) -> None:
    assert "Interview readiness" not in await _stats_text(make_app())


async def test_readiness_once_a_date_is_saved(make_app: Callable[..., Any], bank: Bank) -> None:
    today = DayClock().day_of(now_ms())  # the study day (from 4 AM), as the screen counts it
    target = today + timedelta(days=12)
    with Store.open() as store:
        study(store, list(bank.questions.values()), first_day=today - timedelta(days=21), days=20, new_per_day=1)
        save_plan(store, target, 15)
        plan = compute_plan(store, target, 15)
    text = await _stats_text(make_app())
    assert "Interview readiness" in text
    assert f"Interview on {target.isoformat()} (12 days from today), 15 minutes a day" in text
    overall, planned = f"{plan.overall * 100:.1f}%", f"{plan.overall_with_plan * 100:.1f}%"
    assert f"Expected recall on the day: {overall} of {len(bank.questions)} cards" in text and planned in text
    assert "Today: " in text and "about" in text
    title = next(iter(bank.topics.values())).title
    assert title in text.split("Interview readiness")[1].split("Reviews per day")[0]  # its topic row in the section
