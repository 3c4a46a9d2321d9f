"""Footers offer only the keys that work now; `?` and `f1` open help for the screen in front;
notifications carry titles and name questions by their titles, not their ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmq.tui.screens.help import HelpScreen
from llmq.tui.screens.home import HomeScreen
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.screens.review import ReviewScreen

from .conftest import TOPIC, screen_text, settle


def footer(app: Any) -> str:
    return screen_text(app).splitlines()[-1]


async def test_review_footer_follows_the_card(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        line = footer(app)
        assert "Show answer" in line and "Bury" in line
        assert "Again" not in line and "Good" not in line and "Undo" not in line  # nothing to rate or undo
        await pilot.press("space")
        await settle(pilot)
        line = footer(app)
        assert "Again" in line and "Easy" in line and "Show answer" not in line
        await pilot.press("3")
        await settle(pilot)
        assert "Undo" in footer(app)  # now there is an answer to take back


async def test_code_footer_drops_the_hint_key_when_none_is_left(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        app.push_screen(ExerciseScreen(f"{TOPIC}.gqa"))
        await settle(pilot)
        assert "Hint" in footer(app)
        exercise = app.bank.questions[f"{TOPIC}.gqa"]
        for _ in exercise.hints:
            await pilot.press("ctrl+t")
            await settle(pilot)
        assert "Hint" not in footer(app) and "Run checks" in footer(app)


async def test_question_mark_and_f1_open_help_for_the_screen_in_front(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Review all" in text and "Browse" in text and "ctrl+p" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        text = screen_text(app)
        assert isinstance(app.screen, HelpScreen) and "the review queue" in text
        assert "Show answer" in text and "Bury" in text and "Again" not in text  # what works now
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)


async def test_notifications_have_titles_and_name_the_question(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "flashcard"))
        await settle(pilot)
        await pilot.press("minus")
        await settle(pilot)
        notes = list(app._notifications)
        assert notes and all(n.title for n in notes)
        assert any("“Why divide by sqrt(d_k)?” buried until tomorrow" in n.message for n in notes)
        assert not any("tuitest.sqrt_dk" in n.message for n in notes)


def key_for(text: str, description: str) -> str:
    """The key shown before `description` in a line of keys (footer) or on its row (help)."""
    before = text.split(description)[0].rstrip().split()
    return before[-1] if before else ""


async def test_language_key_shown_is_the_one_that_works(make_app: Callable[..., Any]) -> None:
    """In the numeric card's input and the code card's editor a plain l is typed, so footer and
    help offer ctrl+l there; with the focus elsewhere they offer l."""
    for kind, typed_into in (("numeric", "#numeric-answer"), ("code", "#editor")):
        app = make_app()
        async with app.run_test(size=(200, 80)) as pilot:  # tall: the help lists all the input's keys
            app.push_screen(ReviewScreen(TOPIC, kind))
            await settle(pilot)
            screen = app.screen
            screen.query_one(typed_into).focus()
            await settle(pilot)
            assert key_for(footer(app), "中/EN") == "ctrl+l", (kind, footer(app))
            await pilot.press("f1")  # ? would be typed too
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            help_row = next(line for line in screen_text(app).splitlines()[:-1] if "中/EN" in line)
            assert key_for(help_row, "中/EN") == "ctrl+l" and " l " not in help_row, (kind, help_row)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen
            await settle(pilot)
            screen.set_focus(None)  # off the input: a plain l works again
            await settle(pilot)
            assert key_for(footer(app), "中/EN") == "l", (kind, footer(app))
            await pilot.press("f1")
            await settle(pilot)
            help_row = next(line for line in screen_text(app).splitlines()[:-1] if "中/EN" in line)
            assert "l / ctrl+l" in help_row, (kind, help_row)  # both work here


async def test_undo_key_shown_in_the_numeric_input_is_ctrl_z(make_app: Callable[..., Any]) -> None:
    """A u in the numeric card's input is typed; ctrl+z undoes from there, and is the key shown."""
    app = make_app()
    async with app.run_test(size=(200, 40)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "numeric"))
        await settle(pilot)
        await pilot.click("#numeric-answer")
        await pilot.press("1", "enter")
        await settle(pilot)
        await pilot.press("1")  # Again: the next numeric card comes with its input focused
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#numeric-answer")
        assert key_for(footer(app), "Undo") == "ctrl+z", footer(app)
        app.screen.set_focus(None)
        await settle(pilot)
        assert key_for(footer(app), "Undo") == "u", footer(app)
