"""Home, practice, browse, stats and the command palette, as a user sees them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from llmq.store import Store
from llmq.tui.screens.browse import BrowseScreen
from llmq.tui.screens.practice import ExerciseScreen, PracticeScreen
from llmq.tui.screens.question import QuestionScreen
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.screens.stats import StatsScreen

from .conftest import TOPIC, screen_text, settle


async def test_home_shows_topics_counts_and_today(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "TUI test bank" in text
        row = next(line for line in text.splitlines() if "TUI test bank" in line).split()
        assert row[-3:] == ["0", "5", "5"]  # due, new, questions
        assert "Today: 0 reviewed · 0 due · 5 new · code solved 0/1" in text
        for key in ("r Review all", "c Practise code", "b Browse", "s Stats", "q Quit"):
            assert key in text
        await pilot.press("enter")  # the topic under the cursor
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and app.screen.topic == TOPIC


async def test_home_counts_follow_reviews(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("space", "4")  # Easy: the card leaves today's queue
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        text = screen_text(app)
        assert "Today: 1 reviewed" in text and "4 new" in text


async def test_counts_counted_before_the_app_starts_are_in_its_first_frame(
    make_app: Callable[..., Any], bank: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `llmq` counts the cards on a thread while Textual is imported (llmq.tui.preload).
    from llmq.tui.preload import Preload
    from llmq.tui.progress_facade import Progress

    preload = Preload.start(bank)
    preload.wait()
    counted_again: list[int] = []
    home = Progress.home
    monkeypatch.setattr(Progress, "home", lambda self: counted_again.append(1) or home(self))
    app = make_app(preload=preload)
    async with app.run_test(size=(120, 40)) as pilot:
        text = screen_text(app)  # no worker has run yet
        assert "Today: 0 reviewed · 0 due · 5 new · code solved 0/1" in text
        row = next(line for line in text.splitlines() if "TUI test bank" in line).split()
        assert row[-3:] == ["0", "5", "5"]
        await settle(pilot)
        assert counted_again == []  # not counted twice at start-up
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("space", "4")
        await settle(pilot)
        await pilot.press("escape")  # back home: counted afresh, not the start-up numbers
        await settle(pilot)
        assert counted_again == [1]
        assert "Today: 1 reviewed" in screen_text(app)


async def test_a_broken_database_found_before_the_app_starts_is_a_notification(
    make_app: Callable[..., Any], bank: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmq.tui.preload import Preload

    bad = tmp_path / "home"
    bad.mkdir()
    (bad / "progress.db").write_text("this is not a database")
    monkeypatch.setenv("LLMQ_HOME", str(bad))
    preload = Preload.start(bank)
    assert preload.wait() is None and preload.error is not None
    app = make_app(preload=preload)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.is_running
        assert [n.title for n in app._notifications][:1] == ["Progress database"]
        assert "loading your progress" in screen_text(app)
    assert (bad / "progress.db").read_text() == "this is not a database"


async def test_practice_lists_exercises_with_solved_state(make_app: Callable[..., Any]) -> None:
    with Store.open() as store:
        store.add_submission(f"{TOPIC}.gqa", "x", {"status": "pass", "checks": []})
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PracticeScreen)
        text = screen_text(app)
        assert "✓ solved" in text and f"{TOPIC}.gqa" in text
        # the GPU track says which device it found (here: none, so correctness only)
        from llmq.judge.device import describe_device

        device = describe_device()
        cpu = "GPU track: no CUDA device, so GPU exercises are checked for correctness only (Triton interpreter, gloo ranks)"
        assert (f"GPU track: checked and timed on {device.name}" if device.has_cuda else cpu) in " ".join(text.split())
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExerciseScreen)
        assert "Grouped-query attention" in screen_text(app)


async def test_browse_search_filter_suspend_unsuspend_reset_open(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BrowseScreen)
        table = screen.query_one("#questions", DataTable)
        assert table.row_count == 5
        text = screen_text(app)
        for header in ("id", "topic", "kind", "state", "due", "lapses"):
            assert header in text
        assert "5 of 5 questions" in text

        await pilot.press("ctrl+f", *"choice")
        await settle(pilot)
        assert table.row_count == 2 and "2 of 5 questions" in screen_text(app)
        await pilot.press("enter")  # back to the table
        await pilot.press("s")
        await settle(pilot)
        assert "suspended" in screen_text(app)
        with Store.open() as store:
            assert store.card(f"{TOPIC}.one_choice").state.suspended
        await pilot.press("u")
        await settle(pilot)
        with Store.open() as store:
            assert not store.card(f"{TOPIC}.one_choice").state.suspended
        await pilot.press("r", "y")  # reset asks first
        await settle(pilot)
        assert "“Which heads does MQA share?”: reset to new. z undoes it." in [n.message for n in app._notifications]

        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, QuestionScreen)
        text = screen_text(app)
        assert "One key head and one value head ✓" in text and "factor H" in text


async def test_browse_filter_by_kind(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        app.push_screen(BrowseScreen())
        await settle(pilot)
        screen = app.screen
        screen.query_one("#filter-kind").value = "code"
        await settle(pilot)
        table = screen.query_one("#questions", DataTable)
        assert table.row_count == 1 and f"{TOPIC}.gqa" in screen_text(app)


async def test_stats_draws_its_plots(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 60)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("space", "3")
        await settle(pilot)
        await pilot.press("escape", "s")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        text = screen_text(app)
        assert "1 reviews · 5 cards" in text
        assert "Reviews per day" in text and "1 reviews in the last 26 weeks" in text
        for title in ("Due from today", "Retention", "Mastery by topic", "0 of 1 exercises solved"):
            assert title in text


async def test_command_palette_reaches_actions(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for query, screen_type in (
            ("browse q", BrowseScreen),
            ("practise: tuitest", ExerciseScreen),
            ("topic: tui", ReviewScreen),
        ):
            await pilot.press("ctrl+p")
            await pilot.press(*query)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, screen_type), query
            await app.run_action("app.home")
            await settle(pilot)


async def test_a_broken_progress_database_is_a_notification(
    make_app: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "home"
    bad.mkdir()
    (bad / "progress.db").write_text("this is not a database")
    monkeypatch.setenv("LLMQ_HOME", str(bad))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.is_running
        messages = list(app._notifications)
        assert messages and messages[0].title == "Progress database"
        await pilot.press("r")
        await settle(pilot)
        assert app.is_running  # the review screen says so too, and stays up


async def test_an_error_while_drawing_is_a_notification(make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from llmq.tui.widgets.heatmap import Heatmap

    def broken(self: Heatmap, per_day: Any) -> None:
        raise ValueError("the heatmap could not be drawn")

    monkeypatch.setattr(Heatmap, "show", broken)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, StatsScreen)
        assert "the heatmap could not be drawn" in [n.message for n in app._notifications]
        await pilot.press("escape")
        await settle(pilot)
        assert "TUI test bank" in screen_text(app)  # still usable
