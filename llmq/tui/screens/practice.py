"""Practise code outside the review queue: the exercises with their solved state, and one exercise."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from llmq.bank import CodeExercise
from llmq.l10n import N_, _
from llmq.srs import Rating
from llmq.store import CodeStatus
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.screens.reloading import ReloadsOnReturn
from llmq.tui.translated import TranslatedBindings, difficulty_name, interval_name
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.code_panel import CodePanel

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


def _solved_label(status: CodeStatus | None) -> str:
    if status is None:
        return "·"  # not tried
    return _("✓ solved") if status.solved else _("tried")


class PracticeScreen(TranslatedBindings, ReportsWorkerErrors, ReloadsOnReturn):
    """Every code exercise: solved (a passing submission), attempted, or not tried."""

    HELP = N_("every code exercise with its state; enter opens one")

    BINDINGS = [Binding("escape", "app.pop_screen", N_("Back"), id="practice.back")]

    class Loaded(Message):
        def __init__(self, status: dict[str, str]) -> None:
            self.status = status
            super().__init__()

    class DeviceFound(Message):
        def __init__(self, line: str) -> None:
            self.line = line
            super().__init__()

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Code exercises · enter opens one"), id="practice-title")
        yield Static(_("GPU track: looking for a CUDA device…"), id="practice-device")
        table: DataTable[str] = DataTable(id="exercises", cursor_type="row", zebra_stripes=True)
        table.add_column("", key="solved")
        table.add_column(_("id"), key="id")
        table.add_column(_("title"), key="title")
        table.add_column(_("difficulty"), key="difficulty")
        table.add_column(_("track"), key="track")
        for q in self.llmq.bank.code_exercises():
            table.add_row("·", q.id, q.text("title", self.llmq.card_lang), difficulty_name(q.difficulty), q.track, key=q.id)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self._reload()
        # nvidia-smi may take a moment: never on the event loop.
        self.run_worker(self._find_device, thread=True, exit_on_error=False)

    def _find_device(self) -> None:
        from llmq.judge.device import describe_device  # no torch: asks nvidia-smi

        device = describe_device()
        line = (
            _("GPU track: checked and timed on {name}").format(name=device.name)
            if device.has_cuda
            # device.note says the same in English (the judge's module has no catalogue)
            else _(
                "GPU track: no CUDA device, so GPU exercises are checked for correctness only (Triton interpreter, gloo ranks)"
            )
        )
        self.post_message(self.DeviceFound(line))

    @guarded
    def on_practice_screen_device_found(self, message: DeviceFound) -> None:
        self.query_one("#practice-device", Static).update(message.line)

    def _reload(self) -> None:
        self.run_worker(self._load, thread=True, exclusive=True, exit_on_error=False)

    def _load(self) -> None:
        known = self.llmq.progress().code_status()
        self.post_message(self.Loaded({q.id: _solved_label(known.get(q.id)) for q in self.llmq.bank.code_exercises()}))

    @guarded
    def on_practice_screen_loaded(self, message: Loaded) -> None:
        table = self.query_one(DataTable)
        for qid, text in message.status.items():
            table.update_cell(qid, "solved", text, update_width=True)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.app.push_screen(ExerciseScreen(event.row_key.value))


# One line even at 80 columns; the help overlay says more (HELP).
PRACTICE_COUNTS = N_("Practice counts: a pass schedules the next review, as in the review queue.")


class ExerciseScreen(TranslatedBindings, ReportsWorkerErrors, Screen[None]):
    """One code exercise outside the queue. A review card and a practice run are one thing:
    passing here schedules the exercise's card as answering it in the review queue would, with
    the same suggested rating."""

    HELP = N_(
        "one code exercise: write the function, run the checks; submissions are saved, and a pass "
        "schedules the exercise's next review as the review queue would"
    )

    BINDINGS = [
        Binding("escape", "app.pop_screen", N_("Back"), id="exercise.back"),
        # ctrl+l from the editor (where a plain l is typed into the code), l anywhere else
        Binding("ctrl+l,l", "flip_language", N_("中/EN"), id="exercise.language", key_display="ctrl+l"),
    ]

    class Scheduled(Message):
        def __init__(self, rating: Rating, interval: str) -> None:
            self.rating = rating
            self.interval = interval  # until the next review, as the rating buttons label it
            super().__init__()

    def __init__(self, exercise_id: str) -> None:
        super().__init__()
        self.exercise_id = exercise_id
        self._opened = time.monotonic()

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        exercise = self.llmq.bank.questions[self.exercise_id].localized(self.llmq.card_lang)
        assert isinstance(exercise, CodeExercise)
        yield Static(_(PRACTICE_COUNTS), id="practice-counts")
        # The cards an interviewer asks next (the bank's followups): shown once the checks pass.
        yield Static("", id="practice-followups", classes="hint-line", markup=False)
        yield CodePanel(exercise)
        yield Footer()

    def action_flip_language(self) -> None:
        """The task, title and hints in the other language (Chinese <-> English), in place; the
        code typed so far stays. Later cards and exercises follow."""
        app = self.llmq
        app.card_lang = "en" if app.card_lang == "zh" else "zh"
        app.remember_language()
        exercise = app.bank.questions[self.exercise_id].localized(app.card_lang)
        if isinstance(exercise, CodeExercise):
            self.query_one(CodePanel).show_in(exercise)
        if self.query_one("#practice-followups", Static).display:
            self._show_followups()

    def on_mount(self) -> None:
        self.query_one("#practice-followups", Static).display = False

    def _show_followups(self) -> None:
        """One line per follow-up card, its title in the card language and its id (to find it)."""
        app = self.llmq
        exercise = app.bank.questions[self.exercise_id]
        ids = exercise.followups if isinstance(exercise, CodeExercise) else ()
        cards = [app.bank.questions[i] for i in ids if i in app.bank.questions]
        if not cards:
            return
        lines = [_("An interviewer may ask next:")]
        lines += [f"  • {card.text('title', app.card_lang)}  ({card.id})" for card in cards]
        shown = self.query_one("#practice-followups", Static)
        shown.update("\n".join(lines))
        shown.display = True

    def on_card_view_graded(self, message: CardView.Graded) -> None:
        """The panel passed the checks (practice grades only a pass): schedule the card."""
        message.stop()
        self._show_followups()
        rating = message.suggested
        duration_ms = int((time.monotonic() - self._opened) * 1000)
        self.run_worker(lambda: self._schedule(rating, duration_ms), thread=True, exit_on_error=False, group="schedule")

    def _schedule(self, rating: Rating, duration_ms: int) -> None:
        interval = self.llmq.progress().answer_now(self.exercise_id, rating, duration_ms)
        self.post_message(self.Scheduled(rating, interval))

    @guarded
    def on_exercise_screen_scheduled(self, message: Scheduled) -> None:
        line = _("Passed: scheduled as {name}, next review in {interval}.").format(
            name=_(message.rating.name), interval=interval_name(message.interval)
        )
        self.query_one("#practice-counts", Static).update(line)
        self.notify(line, title=_("Practice counts"))
