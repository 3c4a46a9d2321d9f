"""A whole mock interview round in the real `llmq interview`, in a real terminal (tmux), with the
real judge: a failed run, a passing run, two follow-up questions, the report, and the round and
its ratings in progress.db."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from llmq.store import Store

from .test_terminal import LLMQ, Terminal

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

# The classic GQA bug (heads tiled 0,1,0,1), then the fix (0,0,1,1): written by "$EDITOR", one a call.
WRONG = """import math
import torch


def grouped_query_attention(q, k, v, causal=True):
    rep = q.shape[1] // k.shape[1]
    k = k.repeat(1, rep, 1, 1)
    v = v.repeat(1, rep, 1, 1)
    t, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if causal:
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    return scores.softmax(-1) @ v
"""
RIGHT = WRONG.replace("k.repeat(1, rep, 1, 1)", "k.repeat_interleave(rep, dim=1)").replace(
    "v.repeat(1, rep, 1, 1)", "v.repeat_interleave(rep, dim=1)"
)


def _bank_with_followups(test_bank_dir: Path, tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    shutil.copytree(test_bank_dir, bank)
    questions = next((bank / "questions").glob("*.yaml"))
    text = questions.read_text(encoding="utf-8")
    anchor = "    function: grouped_query_attention\n"
    assert anchor in text
    questions.write_text(
        text.replace(anchor, anchor + "    followups: [tuitest.sqrt_dk, tuitest.one_choice]\n"), encoding="utf-8"
    )
    return bank


def test_a_whole_round_in_a_real_terminal(test_bank_dir: Path, tmp_path: Path) -> None:
    if not LLMQ.exists():
        pytest.skip("the llmq script is not installed in this environment")
    bank = _bank_with_followups(test_bank_dir, tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "wrong.py").write_text(WRONG)
    (tmp_path / "right.py").write_text(RIGHT)
    editor = tmp_path / "editor.sh"
    editor.write_text(
        f'#!/bin/sh\nif [ -e {tmp_path}/used ]; then cp {tmp_path}/right.py "$1"; '
        f'else cp {tmp_path}/wrong.py "$1"; touch {tmp_path}/used; fi\n'
    )
    editor.chmod(0o755)
    command = (
        f"env -u COLUMNS -u LINES LLMQ_HOME={home} EDITOR={editor} LLMQ_LANG=en TERM=xterm-256color {LLMQ} "
        f"interview --bank {bank} --topic tuitest --seed 3 --minutes 20"
    )
    term = Terminal(command, 140, 40)
    try:
        screen = term.wait_for("Mock interview · 0 runs, 0 failed · Grouped-query attention")
        assert "20:00 left" in screen or "19:5" in screen  # the countdown is on screen
        assert "raise NotImplementedError" not in screen and "Hint" not in screen  # a blank editor, no hints
        term.wait_for("Run checks")  # the round's row is written: runs may start
        term.send("F4")  # $EDITOR writes the wrong answer
        term.wait_for("from your editor")
        term.send("C-r")
        term.wait_for("1 run, 1 failed", limit_s=120)  # the real judge, warmed up on the way
        term.send("F4")  # now the fix
        term.wait_for("repeat_interleave")
        term.send("C-r")
        term.wait_for("follow-up 1 of 2", limit_s=120)
        term.wait_for("Why are the scores")  # the flashcard is drawn
        term.send("Space")
        term.wait_for("1 Again ·")
        term.send("3")
        term.wait_for("In multi-query attention, what is shared")  # the choice card is drawn
        term.send("a")  # whichever option is first (the options are shuffled)
        term.wait_for("1 Again ·")  # graded: this card's rating bar
        term.send("2")
        report = term.wait_for("Review next:")
        assert "Mock interview: Grouped-query attention (tuitest.gqa)" in report
        assert "Check runs: 2, 1 failed" in report and "Exercise card rated Hard: passed after 1 failed run" in report
        assert "Time to the first pass: " in report and "Follow-up questions: " in report
        term.send("Escape")
        term.wait_for("TUI test bank")  # home
        term.send("q")
        deadline = time.monotonic() + 15
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not term.alive()
    finally:
        term.close()
    with Store.open(home / "progress.db") as store:
        (saved,) = store.interviews.rounds(0)
        assert (saved.status, saved.outcome, saved.runs, saved.failed_runs, saved.exercise_rating) == (
            "finished",
            "passed",
            2,
            1,
            2,
        )
        assert [f.qid for f in saved.followups] == ["tuitest.sqrt_dk", "tuitest.one_choice"]
        assert [f.rating for f in saved.followups] == [3, 2]
        assert [e.rating for _, e in store.standing_events("tuitest.gqa")] == [2]
        assert [e.rating for _, e in store.standing_events("tuitest.sqrt_dk")] == [3]


def test_closing_the_terminal_mid_round_saves_it_as_abandoned(test_bank_dir: Path, tmp_path: Path) -> None:
    """The terminal goes away (tmux kills the session: SIGHUP) while the round runs: the round is
    saved as abandoned at once, with the run it had."""
    if not LLMQ.exists():
        pytest.skip("the llmq script is not installed in this environment")
    command = (
        f"env -u COLUMNS -u LINES LLMQ_HOME={tmp_path} LLMQ_LANG=en TERM=xterm-256color {LLMQ} "
        f"interview --bank {test_bank_dir} --topic tuitest --minutes 20"
    )
    term = Terminal(command, 120, 40)
    try:
        term.wait_for("Run checks")  # the round's row is written
        term.tmux("kill-session", "-t", term.name)
        deadline = time.monotonic() + 20
        status = "running"
        while status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            with Store.open(tmp_path / "progress.db") as store:
                (saved,) = store.interviews.rounds(0)  # as stored: no staleness applied at time 0
                status = saved.status
        assert status == "abandoned" and saved.ended_ms is not None
        # and the app is gone, not left waiting on the terminal that closed
        while _apps_of(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _apps_of(tmp_path) == [], "llmq interview still runs after its terminal closed"
    finally:
        term.close()


def _apps_of(home: Path) -> list[int]:
    """The pids of processes started with LLMQ_HOME=home (this test's llmq)."""
    marker = f"LLMQ_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
    return found
