"""A mock interview round played through in the app (Pilot): the task alone in a blank editor and a
countdown, runs counted, the end at a pass or at the time limit, follow-up questions rated as in
review, the report, and the round and the ratings saved. The judge is a fake that passes code
with a `return` in it, and the clock is the test's, so nothing here waits on time."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any

from llmq.bank import Bank
from llmq.judge.verdict import CheckResult, Verdict
from llmq.srs.interview_pick import RoundPlan
from llmq.store import Store
from llmq.tui.app import LlmqApp
from llmq.tui.interview_app import InterviewApp
from llmq.tui.screens.help import HelpScreen
from llmq.tui.screens.interview import InterviewScreen
from llmq.tui.screens.interview_followups import InterviewFollowupsScreen
from llmq.tui.screens.interview_report import InterviewReportScreen
from llmq.tui.widgets.code_editor import CodeEditor
from llmq.tui.widgets.interview_panel import blank_stub

from .conftest import TOPIC, screen_text, settle

EXERCISE = f"{TOPIC}.gqa"
FOLLOWUPS = (f"{TOPIC}.sqrt_dk", f"{TOPIC}.one_choice")
FAILING = "the causal mask hides future keys"
LONG_FAILING = FAILING + ": changing a later query, key or value leaves every earlier output exactly as it was"


class _Pending:
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict

    def result(self, timeout: float | None = None) -> Verdict:
        return self.verdict

    def cancel(self) -> None:
        pass


class FakeJudge:
    """A pass for code with a `return` in it; otherwise one named check fails."""

    def __init__(self, failing: str = FAILING) -> None:
        self.sources: list[str] = []
        self.failing = failing

    def submit(self, exercise: Any, source: str) -> _Pending:
        self.sources.append(source)
        if "return" in source:
            return _Pending(Verdict(exercise.id, "pass", [CheckResult("matches the reference", "pass")], isolation="full"))
        checks = [CheckResult("solution loads", "pass"), CheckResult(self.failing, "fail", "differs at [0, 1]")]
        return _Pending(Verdict(exercise.id, "fail", checks, isolation="full"))

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def _app(bank: Bank, judge: FakeJudge, clock: Clock, limit_s: int = 1800, lang: str | None = None) -> InterviewApp:
    exercise = replace(bank.questions[EXERCISE], followups=FOLLOWUPS)
    bank = replace(bank, questions={**bank.questions, EXERCISE: exercise})
    plan = RoundPlan(EXERCISE, FOLLOWUPS, limit_s, seed=7, track="cpu")
    return InterviewApp(bank, plan, clock=clock, judge_factory=lambda: judge, warm_judge=False, lang=lang)


async def _answer_followups(pilot: Any, app: LlmqApp) -> None:
    """The flashcard: show the answer, rate Good; the choice: pick the right option, accept (Good)."""
    assert isinstance(app.screen, InterviewFollowupsScreen)
    text = screen_text(app)
    assert "follow-up 1 of 2" in text and "Why are the scores" in text
    await pilot.press("space")
    await settle(pilot)
    assert "1 Again ·" in screen_text(app)  # the review screen's rating bar with its previews
    await pilot.press("l")  # the card in Chinese, in place, and back
    await settle(pilot)
    assert "为什么要除以 sqrt(d_k)？" in screen_text(app)
    await pilot.press("l")
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    assert "follow-up 2 of 2" in screen_text(app)
    await pilot.press("1")  # picks the first option (the right one) on the choice card
    await settle(pilot)
    await pilot.press("enter")  # accepts the suggested rating (Good)
    await settle(pilot, 5)


def _round(home: Any) -> Any:
    with Store.open(home / "progress.db") as store:
        rounds = store.interviews.rounds(0)
        ratings = {qid: [e.rating for _, e in store.standing_events(qid)] for qid in (EXERCISE, *FOLLOWUPS)}
    assert len(rounds) == 1
    return rounds[0], ratings


async def test_a_round_that_passes(bank: Bank, _private_home: Any) -> None:
    judge, clock = FakeJudge(), Clock()
    app = _app(bank, judge, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        editor = screen.query_one(CodeEditor)
        # the task alone: a blank editor (imports and the signature), no hint or reference key
        assert editor.text == "import torch\n\n\ndef grouped_query_attention(q, k, v, causal=True):\n    "
        assert editor.cursor_location == (4, 4) and editor.scroll_x == 0  # in the body, ready to type
        text = screen_text(app)
        assert "grouped_query_attention(q, k, v, causal=True)" in text and "30:00 left" in text
        footer = text.rstrip().splitlines()[-1]
        assert "Run checks" in footer and "Give up" in footer and "Hint" not in footer and "Reference" not in footer
        await pilot.press("ctrl+r")  # the blank function: a failed run
        await settle(pilot)
        assert "1 run, 1 failed" in screen_text(app) and FAILING in screen_text(app)
        clock.now += 61.5
        screen.tick()
        assert "28:59 left" in screen_text(app)
        editor.insert("return q")
        await pilot.press("ctrl+r")
        await settle(pilot, 5)
        await _answer_followups(pilot, app)
        assert isinstance(app.screen, InterviewReportScreen)
        report = screen_text(app)
        assert "Time to the first pass: 01:01" in report
        assert "Check runs: 2, 1 failed" in report
        assert f"✗ {FAILING}" in report
        assert "Exercise card rated Hard: passed after 1 failed run" in report
        assert "Follow-up questions: 2 of 2 recalled" in report
        assert "write it once more in practice" in report
    saved, ratings = _round(_private_home)
    assert (saved.status, saved.outcome, saved.runs, saved.failed_runs) == ("finished", "passed", 2, 1)
    assert saved.first_failed == (FAILING,) and saved.first_pass_ms == 61_500
    assert [(f.qid, f.rating) for f in saved.followups] == [(FOLLOWUPS[0], 3), (FOLLOWUPS[1], 3)]
    assert ratings == {EXERCISE: [2], FOLLOWUPS[0]: [3], FOLLOWUPS[1]: [3]}  # rated as in review


async def test_a_round_that_runs_out_of_time(bank: Bank, _private_home: Any) -> None:
    judge, clock = FakeJudge(), Clock()
    app = _app(bank, judge, clock, limit_s=120)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen) and "02:00 left" in screen_text(app)
        await pilot.press("ctrl+r")
        await settle(pilot)
        clock.now += 119.9
        screen.tick()
        assert "00:01 left" in screen_text(app)  # never shown as 00:00 while time is left
        clock.now += 0.2
        screen.tick()
        await settle(pilot, 5)
        await _answer_followups(pilot, app)
        assert isinstance(app.screen, InterviewReportScreen)
        report = screen_text(app)
        assert "not passed: the time ran out (02:00)" in report
        assert "Time to the first pass: none (no run passed)" in report
        assert "Exercise card rated Again: no pass within the time" in report
        assert "write it again in practice" in report
    saved, ratings = _round(_private_home)
    assert (saved.status, saved.outcome, saved.runs, saved.failed_runs, saved.first_pass_ms) == (
        "finished",
        "timed_out",
        1,
        1,
        None,
    )
    assert ratings[EXERCISE] == [1]  # no pass: Again


async def test_quitting_mid_round_saves_it_as_abandoned(bank: Bank, _private_home: Any) -> None:
    judge, clock = FakeJudge(), Clock()
    app = _app(bank, judge, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")  # the help lists the round's keys (and no hint or reference key)
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        await pilot.press("end")  # the help scrolls: the editor's own keys come first
        await settle(pilot)
        text += screen_text(app)
        assert "mock interview round" in text
        for key in ("Run checks", "Give up", "Leave", "$EDITOR"):
            assert key in text
        assert "Hint" not in text and "Reference" not in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+q")
    saved, ratings = _round(_private_home)
    assert (saved.status, saved.outcome, saved.runs, saved.failed_runs) == ("abandoned", None, 1, 1)
    assert ratings[EXERCISE] == []  # nothing rated


def test_blank_stub_keeps_imports_and_signatures_only() -> None:
    stub = (
        "import torch\nimport triton\n\n\n@triton.jit\ndef kernel(x_ptr,\n           n):\n"
        '    """Doc."""\n    pass\n\n\ndef run(x):\n    """(N,) -> (N,)."""\n    raise NotImplementedError\n'
    )
    assert blank_stub(stub, "run") == (
        "import torch\nimport triton\n\n\n@triton.jit\ndef kernel(x_ptr,\n           n):\n    \n\n\ndef run(x):\n    "
    )


class _Held(_Pending):
    """A run that answers only when the test lets it."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict)
        self.go = threading.Event()

    def result(self, timeout: float | None = None) -> Verdict:
        self.go.wait(30)
        return self.verdict


async def test_a_run_started_in_time_counts_after_the_time_is_up(bank: Bank, _private_home: Any) -> None:
    judge, clock = FakeJudge(), Clock()
    held = _Held(Verdict(EXERCISE, "pass", [CheckResult("matches the reference", "pass")], isolation="full"))
    judge.submit = lambda exercise, source: held  # type: ignore[method-assign]
    app = _app(bank, judge, clock, limit_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        clock.now += 59
        await pilot.press("ctrl+r")  # at 00:59 of 01:00
        await pilot.pause()
        clock.now += 5
        screen.tick()
        await pilot.pause()
        assert screen.query_one(CodeEditor).read_only and screen.outcome is None  # locked, waiting for the run
        held.go.set()
        await settle(pilot, 5)
        assert isinstance(app.screen, InterviewFollowupsScreen)
    saved, ratings = _round(_private_home)
    assert (saved.outcome, saved.first_pass_ms, saved.failed_runs) == ("passed", 59_000, 0)
    assert ratings[EXERCISE] == [3]  # first run, after half the time: Good


async def test_giving_up_and_leaving_in_chinese(bank: Bank, _private_home: Any) -> None:
    app = _app(bank, FakeJudge(), Clock(), lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "模拟面试 · 运行 0 次，失败 0 次 · 分组查询注意力" in text and "⏱ 剩余 30:00" in text and "放弃" in text
        await pilot.press("f10")
        await settle(pilot)
        assert "放弃这道题？" in screen_text(app)
        await pilot.press("y")
        await settle(pilot, 5)
        assert isinstance(app.screen, InterviewFollowupsScreen) and "追问 1/2" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "离开这轮模拟面试？" in screen_text(app)
        await pilot.press("y")
        await settle(pilot, 5)
        assert "TUI 测试题库" in screen_text(app)  # home
    saved, ratings = _round(_private_home)
    assert (saved.status, saved.outcome, saved.runs, saved.exercise_rating) == ("abandoned", "gave_up", 0, 1)
    assert [f.rating for f in saved.followups] == [None, None]
    assert ratings == {EXERCISE: [1], FOLLOWUPS[0]: [], FOLLOWUPS[1]: []}


def test_the_heartbeat_beats_off_the_event_loop_and_close_abandons(_private_home: Any) -> None:
    """The recorder's heartbeat runs on its own thread (the event loop stands still while $EDITOR
    has the terminal), and closing it saves a round short of its report as abandoned."""
    import time

    from llmq.store import now_ms
    from llmq.tui.interview_recorder import RoundRecorder

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        def post_message(self, message: Any) -> bool:
            self.messages.append(message)
            return True

    class Opened:
        def __init__(self) -> None:
            self.store = Store.open()

    progress = Opened()
    recorder = RoundRecorder(lambda: progress)  # type: ignore[arg-type, return-value]
    inbox = Inbox()
    start = now_ms() - 60_000
    recorder.submit(
        "start",
        lambda p: (
            p.store.interviews.start(EXERCISE, limit_s=60, seed=1, topic=None, track=None, followups=[], at_ms=start),
            None,
        ),
        inbox,  # type: ignore[arg-type]
    )
    recorder.start_heartbeat(every_s=0.02)
    deadline = time.monotonic() + 20
    beat = start
    while beat == start and time.monotonic() < deadline:  # waits on the beat itself, not on a time
        time.sleep(0.02)
        (r,) = progress.store.interviews.rounds(0)
        beat = r.heartbeat_ms
    assert beat > start
    recorder.close()
    (r,) = progress.store.interviews.rounds(0)
    assert r.status == "abandoned" and [m.what for m in inbox.messages] == ["start"]
    progress.store.close()


async def test_a_round_started_from_home_returns_home_with_the_counts_updated(bank: Bank, _private_home: Any) -> None:
    """`i` on the home screen (shown in its footer) opens the round's choices with the highlighted
    topic; enter draws the exercise and starts the round; the report's escape goes home, where the
    exercise and the follow-ups now count as reviewed today."""
    from llmq.tui.screens.home import HomeScreen
    from llmq.tui.screens.interview_setup import InterviewSetupScreen

    judge = FakeJudge(LONG_FAILING)
    exercise = replace(bank.questions[EXERCISE], followups=FOLLOWUPS)
    bank = replace(bank, questions={**bank.questions, EXERCISE: exercise})
    app = LlmqApp(bank, judge_factory=lambda: judge, warm_judge=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert "i Mock interview" in screen_text(app).rstrip().splitlines()[-1]  # the footer
        assert "Today: 0 reviewed" in screen_text(app)
        await pilot.press("i")
        await settle(pilot)
        setup = app.screen
        assert isinstance(setup, InterviewSetupScreen)
        text = screen_text(app)
        assert "minutes" in text and "30" in text and "TUI" in text  # the highlighted topic is chosen
        await pilot.press("enter")
        await settle(pilot, 5)
        screen = app.screen
        assert isinstance(screen, InterviewScreen) and screen.plan.exercise == EXERCISE
        assert "Grouped-query attention" in screen_text(app) and " left" in screen_text(app)  # a real clock: 29:5x
        await pilot.press("ctrl+r")  # the blank function fails
        await settle(pilot)
        screen.query_one(CodeEditor).insert("return q")
        await pilot.press("ctrl+r")
        await settle(pilot, 5)
        await _answer_followups(pilot, app)
        assert isinstance(app.screen, InterviewReportScreen)
        report = screen_text(app).splitlines()
        assert "  Check runs: 2, 1 failed" in [line.rstrip() for line in report]
        # at 80 columns the long check name wraps under its own text, not under the mark
        at = next(i for i, line in enumerate(report) if line.startswith("    ✗ the causal mask hides future keys"))
        assert report[at + 1].startswith("      ") and report[at + 1][6] != " "
        assert (
            LONG_FAILING.split()
            == " ".join(line.strip() for line in report[at : at + 3]).removeprefix("✗ ").split()[: len(LONG_FAILING.split())]
        )
        await pilot.press("escape")
        await settle(pilot, 5)
        back: Any = app.screen
        assert back is home
        assert "Today: 3 reviewed" in screen_text(app)  # the exercise and both follow-ups
        await pilot.press("i", "enter")  # a second round in the same app, left by quitting
        await settle(pilot, 5)
        assert isinstance(app.screen, InterviewScreen)
        await pilot.press("ctrl+q")
    with Store.open(_private_home / "progress.db") as store:
        second, first = store.interviews.rounds(0)
        ratings = [e.rating for _, e in store.standing_events(EXERCISE)]
    assert (first.status, first.outcome, first.runs, first.failed_runs, first.topic) == ("finished", "passed", 2, 1, TOPIC)
    assert (second.status, second.runs) == ("abandoned", 0)
    assert ratings == [2]


async def test_the_palette_starts_a_round_and_a_bad_minutes_value_is_said(bank: Bank, _private_home: Any) -> None:
    from textual.widgets import Input, Select

    from llmq.tui.screens.interview_setup import InterviewSetupScreen

    app = LlmqApp(bank, judge_factory=FakeJudge, warm_judge=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"mock interview")
        await settle(pilot, 5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InterviewSetupScreen)
        minutes = app.screen.query_one("#setup-minutes", Input)
        assert minutes.value == "30" and minutes.has_focus
        await pilot.press("tab", "enter")  # enter on the topic select opens its list: no round yet
        await settle(pilot)
        topic = app.screen.query_one("#setup-topic", Select)
        assert isinstance(app.screen, InterviewSetupScreen) and topic.expanded
        await pilot.press("escape", "shift+tab")
        await settle(pilot)
        assert isinstance(app.screen, InterviewSetupScreen) and minutes.has_focus
        await pilot.press("end", "backspace", "backspace", "0")
        await settle(pilot)
        assert minutes.value == "0"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InterviewSetupScreen) and "must be a number above 0" in screen_text(app)
        assert minutes.has_focus
        await pilot.press("backspace", "1", "enter")
        await settle(pilot, 5)
        shown = screen_text(app)
        assert isinstance(app.screen, InterviewScreen) and re.search(r"⏱ 0[01]:\d\d left", shown)  # a real clock
        assert app.screen.plan.limit_s == 60
