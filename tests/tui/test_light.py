"""The UI process stays light: building the app and mounting every screen never imports torch
(the judge's worker process does, on its own)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from llmq.tui.mathtext import render_math

SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from dataclasses import replace
    from llmq.bank import load_bank
    from llmq.tui.app import LlmqApp
    from llmq.tui.screens.browse import BrowseScreen
    from llmq.tui.screens.practice import ExerciseScreen, PracticeScreen
    from llmq.tui.screens.question import QuestionScreen
    from llmq.tui.screens.review import ReviewScreen
    from llmq.tui.screens.stats import StatsScreen

    bank = load_bank((sys.argv[1],))

    async def main():
        app = LlmqApp(bank)  # the real judge: its worker starts in the background
        async with app.run_test(size=(120, 40)) as pilot:
            for screen in (ReviewScreen(), ReviewScreen("tuitest", "numeric"), ReviewScreen("tuitest", "code"),
                           PracticeScreen(), ExerciseScreen("tuitest.gqa"), BrowseScreen(), StatsScreen(),
                           QuestionScreen(bank.questions["tuitest.one_choice"])):
                app.push_screen(screen)
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert app.judge._client is not None  # the judge was started
        print("torch" in sys.modules, "textual" in sys.modules)

    asyncio.run(main())
""")


@pytest.mark.slow
def test_app_and_every_screen_without_torch(test_bank_dir, tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(test_bank_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "LLMQ_HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-2:] == ["False", "True"]  # torch not imported; textual is


def test_math_becomes_readable_text() -> None:
    assert render_math(r"scores divided by $\sqrt{d_k}$.") == r"scores divided by √(d\_k)."
    text = render_math(r"$$\frac{QK^\top}{\sqrt{d}}$$ and $e^{-\infty} = 0$")
    assert "$" not in text and "√(d)" in text and "e^(-∞) = 0" in text


def test_math_leaves_code_and_prices_alone() -> None:
    source = "costs $5 and $10\n\n```python\nx = '$a$'\n```\nand `$b$`"
    assert render_math(source) == source
