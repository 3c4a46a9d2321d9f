"""A code exercise: the task and hints beside a Python editor; run the checks, see each result,
reveal the reference, edit in $EDITOR. Used in the review queue and on its own (practice)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import ProgressBar, Static, TextArea

from llmq.bank import CodeExercise
from llmq.datadir import data_dir
from llmq.judge.reference_file import reference_solution
from llmq.judge.verdict import Verdict
from llmq.l10n import N_, _
from llmq.srs import Attempt, Rating, suggested_rating
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.suspend import editor_command, run_suspended
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.code_editor import CodeEditor
from llmq.tui.widgets.markdown import BankMarkdown
from llmq.tui.widgets.reading import ReadingScroll
from llmq.tui.widgets.results import ResultsPanel, status_name

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


class CodePanel(ReportsWorkerErrors, CardView):
    """In the review queue (`review=True`) a pass or a revealed reference grades the card."""

    BINDINGS = [
        Binding("ctrl+r,f5", "run_checks", N_("Run checks"), id="code.run"),
        Binding("escape", "cancel_check", N_("Cancel check"), priority=True, id="code.cancel"),
        Binding("ctrl+t,f2", "hint", N_("Hint"), id="code.hint"),
        Binding("ctrl+g,f8", "reveal_reference", N_("Reference"), id="code.reveal"),
        Binding("ctrl+o,f4", "external_editor", "$EDITOR", id="code.editor"),
        Binding("f11,ctrl+b", "maximise", N_("Maximise"), id="code.maximise", key_display="f11"),
        Binding("f3", "toggle_task", N_("Task pane"), id="code.task"),
        Binding("f9", "focus_results", N_("Results"), id="code.results", show=False),
    ]

    class CheckFinished(Message):
        def __init__(self, run: int, verdict: Verdict | None, source: str, ran: bool = True, due: tuple[str, ...] = ()) -> None:
            self.run = run  # which press of ctrl+r this answers
            self.verdict = verdict  # None: cancelled, or the check could not run (`ran` False)
            self.source = source
            self.ran = ran
            self.due = due  # the cards the failed checks teach, made due now
            super().__init__()

    class AttemptLoaded(Message):
        def __init__(self, code: str) -> None:
            self.code = code
            super().__init__()

    class ReferenceLoaded(Message):
        def __init__(self, source: str) -> None:
            self.source = source
            super().__init__()

    def __init__(self, exercise: CodeExercise, review: bool = False) -> None:
        super().__init__(classes="card code")
        self.exercise = exercise
        self.review = review
        self.running = False
        self.failures = 0  # checks run on this card that did not pass
        self.hints_shown = 0
        self.passed = False
        self.revealed = False
        self._started = 0.0
        self._ticker: Timer | None = None
        self._run = 0  # counts check runs, so a cancelled run's late answer is not taken for the next

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def compose(self) -> ComposeResult:
        # The editor and the results take most of the room; the task, hints and reference sit in
        # a pane of their own that scrolls (f3 hides it, f11 maximises the editor or the results).
        # The panel lays the two panes side by side itself (no container between: each level of
        # containers is drawn in full at every card change). The check's progress bar is built
        # when a check first runs.
        with ReadingScroll(id="task-pane"):
            yield Static(self.exercise.title, classes="card-title")
            yield BankMarkdown(self.exercise.task, classes="prompt")
            yield Vertical(id="hints")
            yield Vertical(id="reference")
        with Vertical(id="work-pane"):
            yield CodeEditor(self.exercise.stub, id="editor")
            with Horizontal(id="check-status"):
                yield Static(_("ctrl+r or f5: run the checks"), id="status-line")
            with ReadingScroll(id="results-scroll"):
                yield ResultsPanel(id="results")

    def on_mount(self) -> None:
        self.editor.focus()
        self.run_worker(self._load_attempt, thread=True, exit_on_error=False, group="load")

    @property
    def editor(self) -> CodeEditor:
        return self.query_one("#editor", CodeEditor)

    # -- room -----------------------------------------------------------------------------------
    def action_maximise(self) -> None:
        """Toggle: the editor (or the results, when they have the focus) fills the screen."""
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        results = self.query_one("#results-scroll", ReadingScroll)
        target = results if results.has_focus else self.editor
        target.focus()
        screen.maximize(target, container=False)

    def action_toggle_task(self) -> None:
        pane = self.query_one("#task-pane")
        pane.display = not pane.display

    def action_focus_results(self) -> None:
        self.query_one("#results-scroll").focus()

    # -- the last attempt ---------------------------------------------------------------------
    def _load_attempt(self) -> None:
        last = self.llmq.progress().last_attempt(self.exercise.id)
        if last is not None and last.code.strip():
            self.post_message(self.AttemptLoaded(last.code))

    def on_code_panel_attempt_loaded(self, message: AttemptLoaded) -> None:
        # only if the user has not started typing over the stub meanwhile
        if self.editor.text == self.exercise.stub:
            self.editor.load_text(message.code)
            self.query_one("#status-line", Static).update(_("your last attempt · ctrl+r or f5: run the checks"))

    # -- checking -------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_check":
            return self.running  # otherwise escape means "back", handled by the screen
        if action == "run_checks":
            return not self.running
        if action == "hint":
            return self.hints_shown < len(self.exercise.hints)
        if action == "reveal_reference":
            return not self.revealed
        return True

    def card_title(self, qid: str) -> str | None:
        """A bank card's title in the card language (None: not in the bank)."""
        q = self.llmq.bank.questions.get(qid)
        return str(q.text("title", self.llmq.card_lang)) if q is not None else None

    def action_run_checks(self) -> None:
        if self.running:
            return
        source = self.editor.text
        self.running = True
        self._run += 1
        run = self._run
        self._started = time.monotonic()
        self.query_one("#results", ResultsPanel).show_note(_("running the checks…"))
        bars = self.query("#check-progress").results(ProgressBar)
        bar = next(bars, None)
        if bar is None:  # the first check on this card
            bar = ProgressBar(total=self.exercise.timeout_s, show_eta=False, id="check-progress")
            self.query_one("#check-status").mount(bar)
        bar.update(progress=0)
        bar.display = True
        self._ticker = self.set_interval(0.1, self._tick)
        self._tick()
        self.refresh_bindings()
        self.run_worker(
            lambda: self._check(run, source), thread=True, exit_on_error=False, group="judge", exclusive=True, name="judge-check"
        )

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        self.query_one("#check-progress", ProgressBar).update(progress=min(elapsed, self.exercise.timeout_s))
        self.query_one("#status-line", Static).update(
            _("running the checks… {elapsed:.1f} s · esc cancels").format(elapsed=elapsed)
        )

    def _check(self, run: int, source: str) -> None:
        """In a thread: judge, save the submission, report by message."""
        try:
            verdict = self.llmq.judge.check(self.exercise, source)
            due: tuple[str, ...] = ()
            if verdict is not None:
                progress = self.llmq.progress()
                progress.save_submission(self.exercise.id, source, verdict)
                due = tuple(progress.make_due(verdict.taught))  # a failure teaches the cards behind it
            self.post_message(self.CheckFinished(run, verdict, source, due=due))
        except BaseException:
            self.post_message(self.CheckFinished(run, None, source, ran=False))
            raise  # the app's worker error handler says what went wrong

    def _stop_running(self) -> None:
        self.running = False
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.query_one("#check-progress").display = False
        self.refresh_bindings()

    @guarded
    def on_code_panel_check_finished(self, message: CheckFinished) -> None:
        message.stop()
        if not self.running or message.run != self._run:
            return  # cancelled already: the late verdict is not shown
        self._stop_running()
        results = self.query_one("#results", ResultsPanel)
        status = self.query_one("#status-line", Static)
        if not message.ran:
            results.show_not_run(_("the check could not run"))
            status.update(_("error · ctrl+r or f5: run again"))
            self.failures += 1
            return
        if message.verdict is None:
            results.show_note(_("cancelled"))
            status.update(_("check cancelled · ctrl+r or f5: run again"))
            return
        results.show_verdict(message.verdict, self.card_title, message.due)
        passed = message.verdict.passed
        status.update(
            _("all checks pass")
            if passed
            else _("{status} · ctrl+r or f5: run again").format(status=status_name(message.verdict.status))
        )
        if passed:
            self.passed = True
            self.grade(
                suggested_rating(
                    Attempt(
                        passed=True,
                        failed_submissions=self.failures,
                        hints_used=self.hints_shown,
                        revealed_reference=self.revealed,
                    )
                )
            )
        else:
            self.failures += 1

    def action_cancel_check(self) -> None:
        if not self.running:
            return
        self._stop_running()
        self.query_one("#results", ResultsPanel).show_note(_("cancelled"))
        self.query_one("#status-line", Static).update(_("check cancelled · ctrl+r or f5: run again"))
        # killing the child is a system call or two: off the event loop all the same
        self.run_worker(self.llmq.judge.cancel, thread=True, exit_on_error=False, group="cancel")

    def on_unmount(self) -> None:
        if self.running:  # leaving the card mid-check: the judge's child must not run on
            judge = self.llmq.judge
            import threading

            threading.Thread(target=judge.cancel, name="llmq-cancel", daemon=True).start()

    # -- help -----------------------------------------------------------------------------------
    async def action_hint(self) -> None:
        if self.hints_shown >= len(self.exercise.hints):
            self.notify(_("No more hints."), title=_("Hints"), severity="information")
            return
        n = self.hints_shown
        self.hints_shown += 1
        hint = BankMarkdown(self._hint_text(n), classes="hint")
        self.refresh_bindings()
        await self.query_one("#hints").mount(hint)
        # Into view once laid out (a long task hides what is added below it): its first line on top.
        pane = self.query_one("#task-pane")
        self.call_after_refresh(lambda: pane.scroll_to_widget(hint, animate=False, top=True))

    def _hint_text(self, n: int) -> str:
        return _("**Hint {n} of {total}.** {hint}").format(n=n + 1, total=len(self.exercise.hints), hint=self.exercise.hints[n])

    def show_in(self, exercise: CodeExercise) -> None:
        """The same exercise in another language: the title, task and the hints shown so far
        change in place; the code, the results and the reference stay as they are."""
        self.exercise = exercise
        self.query_one("#task-pane .card-title", Static).update(exercise.title)
        self.query_one("#task-pane .prompt", BankMarkdown).update(exercise.task)
        for n, hint in enumerate(self.query("#hints .hint").results(BankMarkdown)):
            hint.update(self._hint_text(n))

    def action_reveal_reference(self) -> None:
        if self.revealed:
            return
        self.run_worker(self._load_reference, thread=True, exit_on_error=False, group="load")

    def _load_reference(self) -> None:
        self.post_message(self.ReferenceLoaded(reference_solution(self.exercise.answer_path, self.exercise.function)))

    @guarded
    async def on_code_panel_reference_loaded(self, message: ReferenceLoaded) -> None:
        self.revealed = True
        box = self.query_one("#reference")
        title = (
            _("Reference (this card counts as Again)")
            if self.review
            else _("Reference solution (a pass now schedules the card as Again)")
        )
        await box.mount(
            Static(title, classes="section-title"),
            TextArea.code_editor(message.source, language="python", read_only=True, id="reference-code"),
        )
        pane = self.query_one("#task-pane")
        self.call_after_refresh(lambda: pane.scroll_to_widget(box, animate=False, top=True))
        if self.review:
            self.grade(Rating.Again)
        # In practice nothing is graded until a pass, which then counts as Again (the reference
        # was seen), as it would in the review queue.

    # -- $EDITOR --------------------------------------------------------------------------------
    @guarded
    def action_external_editor(self) -> None:
        """Open the solution in $VISUAL/$EDITOR with the app suspended, then load it back."""
        folder = data_dir() / "solutions"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (self.exercise.id.replace(".", "_") + ".py")
        path.write_text(self.editor.text, encoding="utf-8")
        outcome = run_suspended(self.app, editor_command(), str(path))
        if outcome.error is not None:
            self.notify(
                _(
                    "{error}. Set $EDITOR (or $VISUAL) to an editor that waits until the file is closed, e.g. EDITOR=vim or EDITOR='code --wait'."
                ).format(error=outcome.error),
                title=_("Editor not started"),
                severity="error",
                timeout=10,
            )
            return
        self.editor.load_text(path.read_text(encoding="utf-8"))
        self.notify(_("Loaded {name} from your editor.").format(name=path.name), title=_("Editor"))
