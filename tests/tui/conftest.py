"""Fixtures for the TUI tests: a small bank of one question per kind, apps over it, a shared warm
judge, and a helper that reads the screen as a person sees it."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from llmq.bank import Bank, load_bank
from llmq.bank.paths import bundled_root

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (Textual's Pilot is async; no plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


TOPIC = "tuitest"


@pytest.fixture(autouse=True)
def options_in_bank_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choice cards show their options in the bank's order, so a test can press a letter by
    position; the shuffle's own tests (test_choice.py) put a seeded draw back."""
    monkeypatch.setattr("llmq.tui.widgets.choice.draw_order", lambda n: tuple(range(n)))


@pytest.fixture(autouse=True)
def english_after_each_test() -> Iterator[None]:
    """The interface language is process-wide: a test that opens the app in Chinese must not leave
    the next test's screens (and snapshots) in Chinese."""
    yield
    from llmq.l10n import set_language

    set_language("en")


@pytest.fixture(scope="session")
def test_bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/tui/bank plus the bundled attention.gqa answer module as tuitest.gqa (the first
    exercise whose answer module has checks), so the code flows use the real checks."""
    root = tmp_path_factory.mktemp("bank")
    shutil.copytree(HERE / "bank", root, dirs_exist_ok=True)
    shutil.copy(bundled_root() / "answers" / "attention" / "gqa.py", root / "answers" / TOPIC / "gqa.py")
    return root


@pytest.fixture(scope="session")
def bank(test_bank_dir: Path) -> Bank:
    """Only the test topic, so screens (and snapshots) do not change when the bundled bank grows."""
    full = load_bank((str(test_bank_dir),))
    return replace(
        full, questions={k: q for k, q in full.questions.items() if q.topic == TOPIC}, topics={TOPIC: full.topics[TOPIC]}
    )


class SharedJudge:
    """One warm judge for the whole session; apps' `close` at quit leaves it running."""

    def __init__(self) -> None:
        from llmq.judge.client import Judge

        self.judge = Judge()

    def submit(self, exercise: Any, source: str) -> Any:
        return self.judge.submit(exercise, source)

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def shared_judge() -> Iterator[SharedJudge]:
    pytest.importorskip("llmq.judge.client")
    judge = SharedJudge()
    yield judge
    judge.judge.close()


@pytest.fixture
def make_app(bank: Bank) -> Callable[..., App[int]]:
    from llmq.tui.app import LlmqApp

    def make(judge: Any = None, **kwargs: Any) -> LlmqApp:
        factory = (lambda: judge) if judge is not None else _no_judge
        return LlmqApp(bank, judge_factory=factory, warm_judge=judge is not None, **kwargs)

    return make


def _no_judge() -> Any:
    from llmq.tui.judging import JudgeStartFailed

    raise JudgeStartFailed("no judge in this test")


async def settle(pilot: Pilot[Any], rounds: int = 3) -> None:
    """Let workers finish and their messages be handled (no timing: waits on the work itself)."""
    for _ in range(rounds):
        with contextlib.suppress(WorkerFailed):  # the app shows it as a notification; tests assert on that
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def hold_cursor_still(app: App[Any]) -> None:
    """Stop the focused editor's cursor blinking, drawn, as the snapshots show it: a blinking
    cursor (every 0.5 s) made a shot depend on how long the test took. Not `cursor_blink = False`:
    set during the blink's off phase, Textual 8.2 redraws the cursor's line from its line cache,
    whose key is the same for "blink off" and "blink on, cursor hidden", so the cursor stays
    undrawn. Pausing the timer with the cursor visible keeps the recorded state (blink on, shown);
    the timer's callback runs on this event loop, so no toggle can come after the pause."""
    from textual.widgets import TextArea

    for editor in app.screen.query(TextArea):
        if editor.has_focus and not editor.read_only:
            editor._pause_blink(visible=True)


def screen_text(app: App[Any]) -> str:
    """The screen as plain text: what a person would read."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=False, color_system=None, record=True, legacy_windows=False
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
