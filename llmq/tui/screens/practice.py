"""Practise code outside the review queue: the exercises with their solved state, and one exercise."""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from llmq.bank import CodeExercise
from llmq.store import CodeStatus
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.screens.reloading import ReloadsOnReturn
from llmq.tui.widgets.code_panel import CodePanel

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


def _solved_label(status: CodeStatus | None) -> str:
    if status is None:
        return "·"  # not tried
    return "✓ solved" if status.solved else "tried"


class PracticeScreen(ReportsWorkerErrors, ReloadsOnReturn):
    """Every code exercise: solved (a passing submission), attempted, or not tried."""

    HELP = "every code exercise with its state; enter opens one"

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="practice.back")]

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
        yield Static("Code exercises · enter opens one", id="practice-title")
        yield Static("GPU track: looking for a CUDA device…", id="practice-device")
        table: DataTable[str] = DataTable(id="exercises", cursor_type="row", zebra_stripes=True)
        table.add_column("", key="solved")
        table.add_column("id", key="id")
        table.add_column("title", key="title")
        table.add_column("difficulty", key="difficulty")
        table.add_column("track", key="track")
        for q in self.llmq.bank.code_exercises():
            table.add_row("·", q.id, q.title, q.difficulty, q.track, key=q.id)
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
        line = f"GPU track: checked and timed on {device.name}" if device.has_cuda else f"GPU track: {device.note}"
        self.post_message(self.DeviceFound(line))

    @guarded
    def on_practice_screen_device_found(self, message: DeviceFound) -> None:
        self.query_one("#practice-device", Static).update(message.line)

    def _reload(self) -> None:
        self.run_worker(self._load, thread=True, exclusive=True, exit_on_error=False)

    def _load(self) -> None:
        known = self.llmq.progress().code_status()
        self.post_message(self.Loaded({q.id: _solved_label(known.get(q.id))
                                       for q in self.llmq.bank.code_exercises()}))

    @guarded
    def on_practice_screen_loaded(self, message: Loaded) -> None:
        table = self.query_one(DataTable)
        for qid, text in message.status.items():
            table.update_cell(qid, "solved", text, update_width=True)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.app.push_screen(ExerciseScreen(event.row_key.value))


class ExerciseScreen(ReportsWorkerErrors, Screen[None]):
    """One code exercise, not as a review: checks and submissions are saved; nothing is rated."""

    HELP = "one code exercise: write the function, run the checks; submissions are saved, nothing is rated"

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="exercise.back")]

    def __init__(self, exercise_id: str) -> None:
        super().__init__()
        self.exercise_id = exercise_id

    def compose(self) -> ComposeResult:
        yield Header()
        exercise = cast("LlmqApp", self.app).bank.questions[self.exercise_id]
        assert isinstance(exercise, CodeExercise)
        yield CodePanel(exercise)
        yield Footer()
