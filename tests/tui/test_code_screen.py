"""The code screen built for coding: the editor and results take most of the room, the task pane
scrolls, f11 maximises, enter keeps indentation, ctrl+a selects all, escape leaves the editor and
then the screen; everything is reachable at 80x24. (No verdict needed: no judge runs here.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from llmq.bank import Bank
from llmq.tui.app import LlmqApp
from llmq.tui.screens.help import HelpScreen
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.widgets.code_editor import CodeEditor, next_line_indent
from llmq.tui.widgets.reading import ReadingScroll

from .conftest import TOPIC, _no_judge, screen_text, settle

EXERCISE = f"{TOPIC}.gqa"


async def _open(pilot: Any) -> ExerciseScreen:
    await settle(pilot)
    pilot.app.push_screen(ExerciseScreen(EXERCISE))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ExerciseScreen)
    return screen


def test_indentation_of_a_new_line() -> None:
    assert next_line_indent("def f(x):") == "    "
    assert next_line_indent("    if x:  # a comment") == "        "
    assert next_line_indent("        return x") == "        "
    assert next_line_indent("x = {'a:': 1}") == ""


async def test_editor_and_results_take_most_of_an_80x24_screen(bank: Bank) -> None:
    long_task = replace(bank.questions[EXERCISE], task="\n\n".join(f"Rule {i} of a long task." for i in range(30)))
    app = LlmqApp(replace(bank, questions={**bank.questions, EXERCISE: long_task}), judge_factory=_no_judge, warm_judge=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        editor = screen.query_one(CodeEditor)
        results = screen.query_one("#results-scroll", ReadingScroll)
        task = screen.query_one("#task-pane", ReadingScroll)
        assert editor.size.width >= 48 and editor.size.height >= 9
        assert results.size.height >= 4
        assert task.max_scroll_y > 0  # the task does not fit: it scrolls instead of being clipped
        task.focus()
        await pilot.press("end")
        await settle(pilot)
        assert task.scroll_y == task.max_scroll_y
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        await pilot.press("end")  # the help scrolls too
        await settle(pilot)
        text += screen_text(app)
        for key in ("Run checks", "Hint", "Reference", "$EDITOR", "Maximise", "Task pane"):
            assert key in text  # every key of the screen is listed even where the footer is short


async def test_maximise_and_hide_the_task(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        editor = screen.query_one(CodeEditor)
        await pilot.press("f11")
        await settle(pilot)
        assert screen.maximized is editor and editor.size.width >= 76
        await pilot.press("f11")
        await settle(pilot)
        assert screen.maximized is None
        await pilot.press("f9", "f11")  # the results, maximised
        await settle(pilot)
        assert screen.maximized is screen.query_one("#results-scroll")
        await pilot.press("f11", "f3")
        await settle(pilot)
        assert not screen.query_one("#task-pane").display and editor.size.width >= 76 - 2


async def test_typing_code_enter_ctrl_a_and_escape(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        editor = screen.query_one(CodeEditor)
        assert editor.has_focus
        editor.load_text("")
        await pilot.press(*"def f(x):", "enter", *"if x:", "enter", *"return x", "enter")
        await settle(pilot)
        assert editor.text == "def f(x):\n    if x:\n        return x\n        "
        await pilot.press("ctrl+a")
        assert editor.selected_text == editor.text
        before = editor.text
        await pilot.press("escape")  # leaves the editor...
        await settle(pilot)
        assert not editor.has_focus and editor.text == before and isinstance(app.screen, ExerciseScreen)
        await pilot.press("escape")  # ...and then the screen
        await settle(pilot)
        assert not isinstance(app.screen, ExerciseScreen)


async def test_check_results_scroll_by_keyboard(make_app: Callable[..., Any]) -> None:
    from llmq.tui.widgets.results import ResultsPanel

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        screen.query_one(ResultsPanel).show_note("\n".join(f"check {i}: a long failure report" for i in range(60)))
        await pilot.press("f9")  # the results take the focus
        await settle(pilot)
        results = screen.query_one("#results-scroll", ReadingScroll)
        assert results.has_focus and results.max_scroll_y > 0 and results.show_vertical_scrollbar
        await pilot.press("end")
        await settle(pilot)
        assert results.scroll_y == results.max_scroll_y
        await pilot.press("k", "up", "pageup", "home")
        await settle(pilot)
        assert results.scroll_y == 0
        await pilot.press("j", "down", "pagedown")
        await settle(pilot)
        assert results.scroll_y > 2
        assert screen.query_one(CodeEditor).text == app.bank.questions[EXERCISE].stub  # nothing typed


async def test_each_hint_and_the_reference_are_scrolled_into_view_at_80x24(make_app: Callable[..., Any]) -> None:
    # The task fills the pane at 80x24: what ctrl+t and ctrl+g add below it must come into view.
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("ctrl+t", "ctrl+t")
        await settle(pilot)
        text = screen_text(app)
        assert "Hint 2 of 2" in text and "softmax." in text  # the second hint, to its last line
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "Reference solution" in screen_text(app)
