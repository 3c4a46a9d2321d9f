"""The real `llmq` in a real terminal (tmux): what a person sees and what gets saved."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from llmq.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

LLMQ = Path(sys.executable).with_name("llmq")


class Terminal:
    """The app in a tmux session on a private tmux server (never the user's own), sized from the
    start: with `default-size` set first, the app never starts at tmux's 80x24 and misses a resize."""

    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.socket = f"llmq-test-{uuid.uuid4().hex[:8]}"
        self.name = "llmq"
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "start-server",
                ";",
                "set-option",
                "-g",
                "default-size",
                f"{width}x{height}",
                ";",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
        )

    def tmux(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name).stdout

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys, check=True)

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", self.name).returncode == 0

    def close(self) -> None:
        self.tmux("kill-server")

    def wait_for(self, text: str, limit_s: float = 30) -> str:
        """Poll until `text` is on screen (a condition, not a timing assertion)."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")


def test_study_a_card_in_a_real_terminal(test_bank_dir: Path, tmp_path: Path) -> None:
    if not LLMQ.exists():
        pytest.skip("the llmq script is not installed in this environment")
    # -u COLUMNS/LINES: a shell started under pytest may export 80x24, which would override the tty
    command = (
        f"env -u COLUMNS -u LINES LLMQ_HOME={tmp_path} TERM=xterm-256color {LLMQ} study --bank {test_bank_dir} "
        f"--topic tuitest --kind flashcard"
    )
    term = Terminal(command, 120, 40)
    try:
        term.wait_for("Why are the scores QK^⊤ divided by √(d_k)?")
        screen = term.wait_for("Show answer")  # the keys are offered once the card is drawn
        assert "$" not in screen
        footer = screen.rstrip().splitlines()[-1]
        assert "Show answer" in footer and "Again" not in footer  # the footer shows the keys that work now
        term.send("Space")
        screen = term.wait_for("1 Again ·")
        assert "has variance d_k" in screen and "3 Good ·" in screen
        term.send("3")
        term.wait_for("new 0 · learning 1")  # the new card is now a learning card, counted
        term.send("Escape")
        screen = term.wait_for("Today: 1 reviewed")
        assert "TUI test bank" in screen
        term.send("q")
        deadline = time.monotonic() + 15
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not term.alive()  # q quit the app (and with it the judge's worker)
    finally:
        term.close()
    with Store.open(tmp_path / "progress.db") as store:
        assert [e.rating for _, e in store.standing_events("tuitest.sqrt_dk")] == [3]


def test_external_editor_in_a_real_terminal(test_bank_dir: Path, tmp_path: Path) -> None:
    """ctrl+o / f4 suspends the app for $EDITOR and loads the file back (Pilot cannot suspend)."""
    if not LLMQ.exists():
        pytest.skip("the llmq script is not installed in this environment")
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "# written by the editor" >> "$1"\n')
    editor.chmod(0o755)
    command = (
        f"env -u COLUMNS -u LINES LLMQ_HOME={tmp_path} EDITOR={editor} TERM=xterm-256color {LLMQ} "
        f"study --bank {test_bank_dir} --topic tuitest --kind code"
    )
    term = Terminal(command, 140, 40)
    try:
        term.wait_for("ctrl+r or f5: run the checks")
        term.send("F4")
        screen = term.wait_for("from your editor")
        assert "# written by the editor" in screen
        term.send("C-q")
    finally:
        term.close()
