"""Browse: every question in a searchable, filterable table; suspend, unsuspend, reset, open."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from llmq.bank import CodeExercise
from llmq.bank.model import KINDS
from llmq.l10n import N_, _
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.progress_facade import BrowseRow
from llmq.tui.screens.reloading import ReloadsOnReturn
from llmq.tui.translated import TranslatedBindings, kind_name, state_name, undid_message

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp

STATES = ("new", "learning", "review", "relearning", "suspended")
_DONE = {
    "suspend": N_("suspended"),
    "unsuspend": N_("unsuspended"),
    "reset": N_("reset to new"),
    "bury": N_("buried until tomorrow"),
    "unbury": N_("unburied"),
}


def matches(row: BrowseRow, text: str, kind: str | None, state: str | None, topic: str | None) -> bool:
    """Every word of the search must appear in the id, topic, tags, source note, or the title or
    prompt in any language the question is written in."""
    if kind and row.kind != kind or state and row.state != state or topic and row.topic != topic:
        return False
    haystack = row.search or f"{row.id} {row.title} {row.topic}".lower()
    return all(word in haystack for word in text.lower().split())


def due_text(row: BrowseRow) -> str:
    if row.due_ms is None:
        return "—"
    return datetime.fromtimestamp(row.due_ms / 1000).strftime("%Y-%m-%d %H:%M")


class BrowseScreen(TranslatedBindings, ReportsWorkerErrors, ReloadsOnReturn):
    HELP = N_("every question, searchable; suspend, unsuspend, reset or open the one under the cursor")
    BINDINGS = [
        Binding("escape", "app.pop_screen", N_("Back"), id="browse.back"),
        Binding("ctrl+f", "focus_search", N_("Search"), id="browse.search"),
        Binding("s", "act('suspend')", N_("Suspend"), id="browse.suspend"),
        Binding("u", "act('unsuspend')", N_("Unsuspend"), id="browse.unsuspend"),
        Binding("r", "reset", N_("Reset…"), id="browse.reset"),
        Binding("z", "undo", N_("Undo"), id="browse.undo"),
        Binding("o", "open", N_("Open"), id="browse.open"),
    ]

    class Loaded(Message):
        def __init__(self, rows: list[BrowseRow], note: str = "", undoable: int = 0) -> None:
            self.rows = rows
            self.note = note
            self.undoable = undoable
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[BrowseRow] = []
        self.undoable = 0  # actions taken here that `z` can still take back
        self._loading = threading.Lock()

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="browse-filters"):
            yield Input(placeholder=_("search id, title, prompt, tag, topic (English or Chinese)"), id="search")
            # by id, as the table's topic column: a title would wrap in the narrow drop-down
            yield Select([(t, t) for t in self.llmq.bank.topics], prompt=_("any topic"), id="filter-topic")
            yield Select([(kind_name(k), k) for k in KINDS], prompt=_("any kind"), id="filter-kind")
            yield Select([(state_name(s), s) for s in STATES], prompt=_("any state"), id="filter-state")
        table: DataTable[str] = DataTable(id="questions", cursor_type="row", zebra_stripes=True)
        for col in (N_("id"), N_("topic"), N_("kind"), N_("state"), N_("due"), N_("lapses"), N_("title")):
            table.add_column(_(col), key=col)
        yield table
        yield Static("", id="browse-count")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#questions").focus()
        self._reload()

    def _reload(self, action: str = "", qid: str = "") -> None:
        # Not exclusive: an action must never be cancelled by a reload queued after it.
        self.run_worker(lambda: self._load(action, qid), thread=True, exit_on_error=False, group="browse")

    def _load(self, action: str, qid: str) -> None:
        # One at a time, each posting what it read after its own change: the last rows posted are
        # always the latest, whatever order the workers started in.
        with self._loading:
            self._load_locked(action, qid)

    def _load_locked(self, action: str, qid: str) -> None:
        progress = self.llmq.progress()
        note = ""
        change = 0
        if action == "undo":
            undone = progress.undo_act()
            if undone is None:
                note, change = _("Nothing to undo here."), -self.undoable
            else:
                note, change = (
                    undid_message(undone.kind, self._title(undone.qid)),
                    -1,
                )
        elif action:
            progress.act(action, qid)
            note, change = (
                _("“{title}”: {done}. z undoes it.").format(title=self._title(qid), done=_(_DONE[action])),
                1,
            )
        self.post_message(self.Loaded(progress.browse(self.llmq.card_lang), note, change))

    def _title(self, qid: str) -> str:
        question = self.llmq.bank.questions.get(qid)
        return str(question.text("title", self.llmq.card_lang)) if question is not None else qid

    def on_browse_screen_loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        self.undoable = max(0, self.undoable + message.undoable)
        if message.note:
            self.notify(message.note, title=_("Browse"))
        self._fill()
        self.refresh_bindings()

    def _select_value(self, widget_id: str) -> str | None:
        value = self.query_one(widget_id, Select).value
        return value if isinstance(value, str) else None

    @guarded
    def _fill(self) -> None:
        table = self.query_one("#questions", DataTable)
        keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        table.clear()
        text = self.query_one("#search", Input).value
        kind, state, topic = (self._select_value(i) for i in ("#filter-kind", "#filter-state", "#filter-topic"))
        shown = [r for r in self.rows if matches(r, text, kind, state, topic)]
        for r in shown:
            table.add_row(r.id, r.topic, kind_name(r.kind), state_name(r.state), due_text(r), str(r.lapses), r.title, key=r.id)
        if keep is not None and keep in {r.id for r in shown}:
            table.move_cursor(row=table.get_row_index(keep))
        self.query_one("#browse-count", Static).update(
            _("{shown} of {total} questions").format(shown=len(shown), total=len(self.rows))
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#questions").focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._fill()

    def action_focus_search(self) -> None:
        self.query_one("#search").focus()

    def _current(self) -> str | None:
        table = self.query_one("#questions", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # letters type into the search box while it has focus
        if action in ("act", "open", "reset", "undo") and isinstance(self.focused, Input):
            return False
        if action == "undo":
            return self.undoable > 0
        return True

    def action_act(self, action: str) -> None:
        qid = self._current()
        if qid:
            self._reload(action, qid)

    def action_reset(self) -> None:
        """Reset forgets the card's schedule: asked first, and `z` takes it back."""
        qid = self._current()
        if not qid:
            return
        from llmq.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._reload("reset", qid)

        self.app.push_screen(
            ConfirmScreen(
                _("Reset “{title}”?").format(title=self._title(qid)),
                _(
                    "It becomes a new card again and its schedule is forgotten (its review history is kept). "
                    "z undoes the reset afterwards."
                ),
                _("reset it"),
            ),
            answered,
        )

    def action_undo(self) -> None:
        self._reload("undo")

    @guarded
    def action_open(self) -> None:
        qid = self._current()
        if not qid:
            return
        question = self.llmq.bank.questions[qid]
        if isinstance(question, CodeExercise):
            from llmq.tui.screens.practice import ExerciseScreen

            self.app.push_screen(ExerciseScreen(qid))
        else:
            from llmq.tui.screens.question import QuestionScreen

            self.app.push_screen(QuestionScreen(question.localized(self.llmq.card_lang)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
