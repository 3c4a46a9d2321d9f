"""Handing the terminal to $EDITOR: a missing editor, or one that fails to start, never leaves the
app suspended (a blank screen forever); the user is told why."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from llmq.tui.suspend import missing_program, run_suspended

from .test_terminal import LLMQ, Terminal


class TextualLikeApp:
    """Suspends as Textual's App.suspend does: it resumes only when the block ends normally."""

    def __init__(self) -> None:
        self.suspended = False
        self.times_suspended = 0

    @contextmanager
    def suspend(self) -> Iterator[None]:
        self.suspended = True
        self.times_suspended += 1
        yield
        self.suspended = False


def test_a_missing_editor_is_refused_before_the_app_is_suspended() -> None:
    app = TextualLikeApp()
    outcome = run_suspended(app, "code --wait", "/tmp/x.py") if shutil.which("code") is None else None
    if outcome is None:
        pytest.skip("`code` is installed here")
    assert outcome.error is not None and "'code' was not found" in outcome.error
    assert app.times_suspended == 0 and not app.suspended


def test_an_editor_that_fails_inside_the_suspension_still_resumes(tmp_path: Path) -> None:
    # The program exists when checked but cannot be executed: the error comes from inside the block.
    script = tmp_path / "editor"
    script.write_text("not a program\n")
    script.chmod(0o644)  # not executable: shutil.which skips it, so make it look runnable
    app = TextualLikeApp()
    import llmq.tui.suspend as suspend

    original = suspend.missing_program
    suspend.missing_program = lambda command: None  # type: ignore[assignment]
    try:
        outcome = run_suspended(app, str(script), "file.py")
    finally:
        suspend.missing_program = original
    assert outcome.error is not None and "could not run" in outcome.error
    assert app.times_suspended == 1 and not app.suspended  # resumed


def test_an_editor_that_runs_reports_its_exit_status(tmp_path: Path) -> None:
    app = TextualLikeApp()
    outcome = run_suspended(app, "true")
    assert outcome.error is None and outcome.returncode == 0 and not app.suspended


def test_unreadable_or_empty_commands_are_named() -> None:
    assert missing_program("") == "the command is empty"
    assert "cannot read the command" in (missing_program("vim 'unclosed") or "")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_missing_editor_in_a_real_terminal_keeps_the_app(test_bank_dir: Path, tmp_path: Path) -> None:
    if not LLMQ.exists():
        pytest.skip("the llmq script is not installed in this environment")
    command = (
        f"env -u COLUMNS -u LINES LLMQ_HOME={tmp_path} EDITOR='no-such-editor-llmq --wait' "
        f"TERM=xterm-256color {LLMQ} study --bank {test_bank_dir} --topic tuitest --kind code"
    )
    term = Terminal(command, 120, 40)
    try:
        term.wait_for("run the checks")
        term.send("F4")
        screen = term.wait_for("'no-such-editor-llmq' was not found")
        assert "Editor not started" in screen
        term.send("C-t")  # the app still answers keys: a hint appears
        term.wait_for("Hint 1 of")
        term.send("C-q")
        deadline = time.monotonic() + 15
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not term.alive()
    finally:
        term.close()
