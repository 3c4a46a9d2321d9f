"""A cloze card in the app's review queue: the gap as [...] on the front, filled on the back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llmq.bank import load_bank
from llmq.bank.paths import decks_dir
from llmq.decks.importer import import_notes
from tests.tui.conftest import _no_judge, screen_text, settle


def test_a_cloze_card_hides_its_gap_then_fills_it(tmp_path: Path) -> None:
    (tmp_path / "gqa.md").write_text("C: Grouped-query attention shares [each K/V head] among a group of query heads.\n")
    assert import_notes([tmp_path / "gqa.md"], "mine").added == 1
    bank = load_bank(roots=[decks_dir() / "mine"], use_cache=False)

    async def drive() -> None:
        from llmq.tui.app import LlmqApp
        from llmq.tui.screens.review import ReviewScreen

        app = LlmqApp(bank, judge_factory=_no_judge, warm_judge=False)
        async with app.run_test(size=(120, 40)) as pilot:
            app.push_screen(ReviewScreen("mine"))
            await settle(pilot)
            front = screen_text(app)
            assert "Grouped-query attention shares [...] among a group of query heads." in front
            assert "each K/V head" not in front
            await pilot.press("space")
            await settle(pilot)
            back = screen_text(app)
            assert "Grouped-query attention shares each K/V head among a group of query heads." in back

    asyncio.run(drive())
