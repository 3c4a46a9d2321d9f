"""Code exercises with the real judge: syntax-aware editor, pass, fail with its message, cancel,
hints, reveal, the last attempt, $EDITOR, and the rating a result suggests."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from llmq.bank import CodeExercise
from llmq.judge.reference_file import reference_solution
from llmq.store import Store
from llmq.tui.screens.practice import ExerciseScreen
from llmq.tui.screens.review import ReviewScreen
from llmq.tui.widgets.code_panel import CodePanel

from .conftest import TOPIC, screen_text, settle

EXERCISE = f"{TOPIC}.gqa"
# The classic GQA bug: heads tiled 0,1,0,1 instead of 0,0,1,1.
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
FOREVER = """def grouped_query_attention(q, k, v, causal=True):
    while True:
        pass
"""


def children(pid: int | None) -> list[int]:
    """Running (not zombie) child processes of `pid`, from Linux /proc."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if pid is None or not path.exists():
        pytest.skip("no /proc to look for child processes")
    running = []
    for child in path.read_text().split():
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # already gone
        if state != "Z":
            running.append(int(child))
    return running


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), from Linux /proc."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:  # the main thread's children (the judge's processes fork from their main thread)
            kids = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
        except OSError:
            kids = []  # already gone
        found.extend(kids)
        todo.extend(kids)
    return found


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # gone
    return int(fields[11]) + int(fields[12])  # utime + stime


async def still_running(pid: int | None, within_s: float) -> list[int]:
    """Wait until no process under the judge's worker is using the CPU; return those still busy
    after `within_s`. The worker keeps a spare sandbox and harness ready for the next check (idle:
    they use no CPU once warm), so "no children" is not the test; a cancelled check that was not
    killed keeps spinning and shows here until its timeout."""
    if pid is None or not Path(f"/proc/{pid}/task/{pid}/children").exists():
        pytest.skip("no /proc to look for child processes")
    deadline = time.monotonic() + within_s
    while True:
        before = {p: _cpu_ticks(p) for p in descendants(pid)}
        await asyncio.sleep(0.5)
        busy = [p for p, t in before.items() if t is not None and (_cpu_ticks(p) or t) > t]
        if not busy or time.monotonic() >= deadline:
            return busy


def reference_of(app: Any) -> str:
    exercise = app.bank.questions[EXERCISE]
    assert isinstance(exercise, CodeExercise)
    return reference_solution(exercise.answer_path, exercise.function)


async def open_exercise(pilot: Any) -> CodePanel:
    pilot.app.push_screen(ExerciseScreen(EXERCISE))
    await settle(pilot)
    return pilot.app.screen.query_one(CodePanel)


async def run_checks(pilot: Any, source: str, key: str = "ctrl+r") -> str:
    panel = pilot.app.screen.query_one(CodePanel)
    panel.editor.load_text(source)
    await pilot.press(key)
    await settle(pilot)
    return screen_text(pilot.app)


async def test_editor_is_a_python_code_editor(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 45)) as pilot:
        panel = await open_exercise(pilot)
        editor = panel.editor
        assert editor.language == "python"
        assert editor.has_focus
        def_line = next(i for i, line in enumerate(editor.text.splitlines()) if line.startswith("def "))
        names = {name for start, _, name in editor._highlights[def_line] if start == 0}
        assert any("keyword" in name for name in names), names  # `def` is highlighted as a keyword
        text = screen_text(app)
        assert "Implement grouped_query_attention" in text and "scale 1/√(D)" in text
        assert "ctrl+r or f5: run the checks" in text


@pytest.mark.slow
async def test_reference_passes_and_wrong_answer_fails(make_app: Callable[..., Any], shared_judge: Any) -> None:
    app = make_app(judge=shared_judge)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_exercise(pilot)
        text = await run_checks(pilot, WRONG)
        assert "FAIL" in text
        assert "✗ matches the reference" in text
        verdict = Store.open().latest_submission(EXERCISE)
        assert verdict is not None and verdict.status == "fail"
        failed = [c for c in verdict.verdict["checks"] if c["status"] == "fail"]
        first_message_line = failed[0]["message"].splitlines()[0].strip()
        assert first_message_line[:60] in text  # the check's message is on screen

        text = await run_checks(pilot, reference_of(app), key="f5")  # the fallback key
        assert "PASS" in text and "all checks pass" in text
        assert "✓ GQA equals multi-head attention" in text


@pytest.mark.slow
async def test_cancel_a_long_check(make_app: Callable[..., Any], shared_judge: Any) -> None:
    app = make_app(judge=shared_judge)
    async with app.run_test(size=(140, 45)) as pilot:
        panel = await open_exercise(pilot)
        panel.editor.load_text(FOREVER)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert panel.running
        assert "esc cancels" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not panel.running
        text = screen_text(app)
        assert "cancelled" in text
        assert isinstance(app.screen, ExerciseScreen)  # escape cancelled, it did not leave
        await settle(pilot)
        # killed, not left to run into its timeout; what stays is at most the idle spare (a sandbox
        # and a harness made for the next check)
        assert await still_running(shared_judge.judge.worker_pid(), panel.exercise.timeout_s / 2) == []
        assert len(children(shared_judge.judge.worker_pid())) <= 2

        # again, and at once run the reference, before the cancelled run has answered: its late
        # answer must not be taken for the new run's
        panel.editor.load_text(FOREVER)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("escape")
        text = await run_checks(pilot, reference_of(app))
        assert "all checks pass" in text


@pytest.mark.slow
async def test_code_card_in_review_suggests_a_rating(make_app: Callable[..., Any], shared_judge: Any) -> None:
    app = make_app(judge=shared_judge)
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "code"))
        await settle(pilot)
        await pilot.press("ctrl+t")  # one hint: a pass is then Hard, not Good
        await pilot.pause()
        text = screen_text(app)
        assert "Hint 1 of 2." in text and "Hint 2 of 2." not in text
        await run_checks(pilot, reference_of(app))
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.suggested is not None and screen.suggested.name == "Hard"
        assert "2 Hard · " in screen_text(app) and "◆" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
    with Store.open() as store:
        assert [e.rating for _, e in store.standing_events(EXERCISE)] == [2]


async def test_reveal_reference_counts_as_again(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(ReviewScreen(TOPIC, "code"))
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        reference = screen.query_one("#reference-code", TextArea).text
        assert "def reference(q, k, v, causal=True):" in reference
        assert reference.rstrip().endswith("grouped_query_attention = reference")
        assert screen.suggested is not None and screen.suggested.name == "Again"
        assert "this card counts as Again" in screen_text(app)


async def test_last_attempt_comes_back(make_app: Callable[..., Any]) -> None:
    with Store.open() as store:
        store.add_submission(EXERCISE, "# my attempt\n" + FOREVER, {"status": "timeout", "checks": []})
    app = make_app()
    async with app.run_test(size=(140, 45)) as pilot:
        panel = await open_exercise(pilot)
        assert panel.editor.text.startswith("# my attempt")
        assert "your last attempt" in screen_text(app)


async def test_edit_in_external_editor(make_app: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "fake-editor"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[1], 'a').write('# edited outside\\n')\n")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app()
    async with app.run_test(size=(140, 45)) as pilot:
        monkeypatch.setattr(app, "suspend", nullcontext)  # the headless driver cannot suspend
        panel = await open_exercise(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert panel.editor.text.endswith("# edited outside\n")
        assert panel.editor.text.startswith("import torch")


async def test_no_judge_is_a_notification_not_a_crash(make_app: Callable[..., Any]) -> None:
    app = make_app()  # its judge factory raises JudgeStartFailed
    async with app.run_test(size=(140, 45)) as pilot:
        panel = await open_exercise(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert not panel.running
        assert any("no judge in this test" in n.message for n in app._notifications)
        assert app.is_running and isinstance(app.screen, ExerciseScreen)


@pytest.mark.slow
async def test_quitting_stops_the_judge_worker(make_app: Callable[..., Any]) -> None:
    from llmq.judge.client import Judge

    clients: list[Judge] = []

    def factory() -> Judge:
        clients.append(Judge())
        return clients[-1]

    from llmq.tui.app import LlmqApp

    app = LlmqApp(make_app().bank, judge_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert clients and clients[0].worker_pid() is not None
        pid = clients[0].worker_pid()
        await pilot.press("q")
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped: the worker process is gone


def test_results_panel_shows_the_verdicts_notes() -> None:
    from llmq.judge.verdict import CheckResult, Verdict
    from llmq.tui.widgets.results import render_verdict

    text = render_verdict(
        Verdict(
            exercise="x",
            status="pass",
            checks=[CheckResult("matches", "pass")],
            notes=["correctness only: no CUDA device here, so nothing was timed"],
        )
    ).plain
    assert "note: correctness only: no CUDA device here, so nothing was timed" in text
