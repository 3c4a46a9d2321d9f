"""A mock interview round, the coding part: one exercise's task beside a blank editor, a visible
countdown, runs of the checks allowed and counted. It ends at the first pass, when the time runs
out (a run started in time still counts) or when the user gives up; then the exercise's card is
rated by the round's rule and the follow-up questions come (interview_followups.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from llmq.bank import CodeExercise
from llmq.judge.verdict import check_title
from llmq.l10n import N_, _, ngettext
from llmq.srs.interview_pick import RoundPlan
from llmq.srs.interview_rating import exercise_rating
from llmq.srs.interview_report import clock_text
from llmq.store import InterviewRound, Outcome, now_ms
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.interview_recorder import OfTheRound, RoundSaved, RoundSaveFailed
from llmq.tui.translated import TranslatedBindings
from llmq.tui.widgets.interview_panel import InterviewPanel

if TYPE_CHECKING:
    from llmq.tui.progress_facade import Progress

WARN_S = 5 * 60  # the countdown turns to a warning colour this long before the end


class InterviewScreen(TranslatedBindings, ReportsWorkerErrors, OfTheRound, Screen[None]):
    HELP = N_(
        "a mock interview round: write the function from the task alone (no hints, no reference) before "
        "the time runs out; run the checks as often as you like, each run is counted; then follow-up "
        "questions and a report"
    )
    BINDINGS = [
        Binding("f10,ctrl+n", "give_up", N_("Give up"), id="interview.give_up", key_display="f10"),
        Binding("escape", "leave", N_("Leave"), id="interview.leave"),
        Binding("ctrl+l", "flip_language", N_("中/EN"), id="interview.language"),
    ]
    DEFAULT_CSS = """
    #interview-bar { height: auto; padding: 0 1; }
    #interview-title { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; color: $text-muted; }
    #interview-clock { width: auto; text-style: bold; }
    #interview-clock.warning { color: $warning; }
    #interview-clock.over { color: $error; }
    """

    def __init__(self, plan: RoundPlan, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.plan = plan
        self.clock = clock
        self.started = 0.0  # clock() when the task was first shown
        self.runs = 0
        self.failed_runs = 0
        self.first_pass_s: float | None = None
        self.time_up = False
        self.outcome: Outcome | None = None
        self.over = False  # the coding is over: passed, time out, given up, or the round was left
        self.left = False  # the user left the round (saved as abandoned)
        self.check_titles: dict[str, str] = {}  # check name -> its title in the interface's language
        self._ticker: Timer | None = None

    def _exercise(self) -> CodeExercise:
        exercise = self.llmq.bank.questions[self.plan.exercise].localized(self.llmq.card_lang)
        assert isinstance(exercise, CodeExercise)
        return exercise

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="interview-bar"):
            yield Static("", id="interview-title", markup=False)
            yield Static("", id="interview-clock")
        yield InterviewPanel(self._exercise(), self.clock)
        yield Footer()

    def on_mount(self) -> None:
        self.started = self.clock()
        plan = self.plan
        self.recorder.submit(
            "start",
            lambda progress: (
                progress.store.interviews.start(
                    plan.exercise,
                    limit_s=plan.limit_s,
                    seed=plan.seed,
                    topic=plan.topic,
                    track=plan.track,
                    followups=plan.followups,
                    at_ms=now_ms(),
                ),
                None,
            ),
            self,
        )
        self._show_counts()
        self.tick()
        self._ticker = self.set_interval(0.5, self.tick)

    # -- the countdown --------------------------------------------------------------------------
    def remaining_s(self) -> float:
        return self.plan.limit_s - (self.clock() - self.started)

    def tick(self) -> None:
        """Show the time left; at zero, the editor locks and the round ends (after a run in flight)."""
        if self.over:
            return
        left = self.remaining_s()
        shown = self.query_one("#interview-clock", Static)
        shown.update(_("⏱ {time} left").format(time=clock_text(int(max(0.0, left) * 1000) + 999)))  # 0:00.4 shows 0:01
        shown.set_class(0 < left <= WARN_S, "warning")
        shown.set_class(left <= 0, "over")
        if left <= 0 and not self.time_up:
            self.time_up = True
            panel = self.query_one(InterviewPanel)
            panel.stop_coding()
            if panel.running:
                self.notify(_("Time is up: the run started in time still counts."), title=_("Mock interview"))
            else:
                self._end("timed_out")

    def _show_counts(self) -> None:
        title = self._exercise().title
        runs = ngettext("{runs} run, {failed} failed", "{runs} runs, {failed} failed", self.runs).format(
            runs=self.runs, failed=self.failed_runs
        )
        # The counts before the title: on a narrow terminal the line is cut at its end, never wrapped.
        self.query_one("#interview-title", Static).update(_("Mock interview · {runs} · {title}").format(title=title, runs=runs))

    # -- the round's record ---------------------------------------------------------------------
    @guarded
    def on_round_saved(self, message: RoundSaved) -> None:
        if message.what == "start":
            panel = self.query_one(InterviewPanel)
            panel.ready = True
            panel.refresh_bindings()
        elif message.what == "coding-ended":
            from llmq.tui.screens.interview_followups import InterviewFollowupsScreen

            if self.left:
                return
            if message.round is None:
                self._no_longer_running()
                return
            self.app.switch_screen(InterviewFollowupsScreen(message.round, self.check_titles))
            # The coding screen is gone at once: say how it ended where the follow-ups are.
            self.app.notify(self._ended_line(), title=_("Mock interview"), timeout=6)
        elif message.what == "abandoned":
            self.llmq.go_back()

    def on_round_save_failed(self, message: RoundSaveFailed) -> None:
        self.llmq.notify_error(message.error)

    def _no_longer_running(self) -> None:
        self.notify(
            _("This round was marked abandoned meanwhile (by another llmq window?); it is not recorded further."),
            title=_("Mock interview"),
            severity="warning",
            timeout=10,
        )

    def on_interview_panel_judged(self, message: InterviewPanel.Judged) -> None:
        message.stop()
        if self.over:
            return
        verdict = message.verdict
        started_ms = int((message.started - self.started) * 1000)
        passed = verdict.passed if verdict is not None else None
        failed: list[str] = []
        taught = verdict.taught if verdict is not None else []  # made due by the panel already
        if verdict is not None:
            for check in verdict.checks:
                self.check_titles[check.name] = check_title(check.name, verdict)
            failed = [c.name for c in verdict.checks if c.status == "fail"] or ([] if verdict.passed else [verdict.status])
        self.runs += 1
        self.failed_runs += passed is False
        if passed and self.first_pass_s is None:
            self.first_pass_s = message.started - self.started
        self._show_counts()
        self.recorder.submit(
            "run",
            lambda progress: (
                progress.store.interviews.record_run(
                    self._round_id(),
                    passed=passed,
                    failed_checks=failed,
                    started_ms=started_ms,
                    at_ms=now_ms(),
                    taught=taught,
                ),
                None,
            ),
            self,
        )
        if passed:
            self._end("passed")
        elif self.time_up:
            self._end("timed_out")

    def _round_id(self) -> int:
        round_id = self.recorder.round_id
        if round_id is None:  # the start is always written first (one writer, in order)
            raise RuntimeError("the round's row was not written")
        return round_id

    def _end(self, outcome: Outcome) -> None:
        """The coding is over: lock the editor, rate the exercise's card, save both, then the follow-ups."""
        if self.over:
            return
        self.over = True
        self.outcome = outcome
        if self._ticker is not None:
            self._ticker.stop()
        panel = self.query_one(InterviewPanel)
        panel.stop_coding()
        coding_ms = int((self.clock() - self.started) * 1000)
        first_pass_ms = int(self.first_pass_s * 1000) if self.first_pass_s is not None else None
        rating = exercise_rating(outcome == "passed", first_pass_ms, self.plan.limit_s, self.failed_runs)
        exercise = self.plan.exercise

        def save(progress: Progress) -> tuple[InterviewRound | None, None]:
            ended = progress.store.interviews.end_coding(
                self._round_id(), outcome=outcome, rating=int(rating), coding_ms=coding_ms, at_ms=now_ms()
            )
            if ended is not None:
                progress.answer_now(exercise, rating, coding_ms)  # the card is rated as in review
            return ended, None

        self.recorder.submit("coding-ended", save, self)
        self.query_one("#interview-clock", Static).update(self._ended_line())

    def _ended_line(self) -> str:
        return {
            "passed": _("All checks pass: the coding is done."),
            "timed_out": _("Time is up: no run passed."),
            "gave_up": _("Given up: no run passed."),
            None: "",
        }[self.outcome]

    # -- keys -----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "give_up":
            return not self.over and self.recorder.round_id is not None
        return True

    def action_give_up(self) -> None:
        from llmq.tui.screens.confirm import ConfirmScreen

        if self.over:
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.over:
                panel = self.query_one(InterviewPanel)
                if panel.running:
                    panel.action_cancel_check()  # a run still going when the user gives up does not count
                self._end("gave_up")

        self.app.push_screen(
            ConfirmScreen(
                _("Give up this exercise?"),
                _("The round goes on to the follow-up questions; the exercise counts as not passed (Again)."),
                _("give up"),
            ),
            answered,
        )

    def action_leave(self) -> None:
        from llmq.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._abandon()

        self.app.push_screen(
            ConfirmScreen(
                _("Leave the mock interview?"),
                _("The round is saved as abandoned, as it stands; nothing is rated."),
                _("leave"),
            ),
            answered,
        )

    def _abandon(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self.over = self.left = True  # nothing more is recorded from this screen
        self.query_one(InterviewPanel).stop_coding()
        self.recorder.submit(
            "abandoned", lambda progress: (progress.store.interviews.abandon(self._round_id(), now_ms()), None), self
        )

    def action_flip_language(self) -> None:
        """The task and title in the other language, in place; the code typed so far stays."""
        from llmq.tui.widgets.interview_panel import interview_exercise

        app = self.llmq
        app.card_lang = "en" if app.card_lang == "zh" else "zh"
        app.remember_language()
        self.query_one(InterviewPanel).show_in(interview_exercise(self._exercise()))
        self._show_counts()
