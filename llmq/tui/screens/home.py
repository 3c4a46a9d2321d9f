"""The home screen: topics with due and new counts, today's progress, the way into everything else."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from llmq.l10n import N_, _
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.screens.reloading import ReloadsOnReturn
from llmq.tui.translated import TranslatedBindings

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp
    from llmq.tui.progress_facade import HomeData


class HomeScreen(TranslatedBindings, ReportsWorkerErrors, ReloadsOnReturn):
    HELP = N_("your topics with what is due and new today; start a review or go anywhere else")
    BINDINGS = [
        Binding("r", "app.review", N_("Review all"), id="home.review"),
        Binding("enter", "review_topic", N_("Review topic"), id="home.review_topic"),
        Binding("c", "app.practice", N_("Practise code"), id="home.practice"),
        Binding("i", "interview", N_("Mock interview"), id="home.interview"),
        Binding("b", "app.browse", N_("Browse"), id="home.browse"),
        Binding("s", "app.stats", N_("Stats"), id="home.stats"),
        Binding("q", "app.quit", N_("Quit"), id="home.quit"),
    ]

    class Loaded(Message):
        def __init__(self, data: HomeData) -> None:
            self.data = data
            super().__init__()

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("loading your progress…"), id="today")
        table: DataTable[str] = DataTable(id="topics", cursor_type="row", zebra_stripes=True)
        table.add_column(_("topic"), key="topic")
        table.add_column(_("due"), key="due")
        table.add_column(_("new"), key="new")
        table.add_column(_("questions"), key="total")
        for name, topic in self.llmq.bank.topics.items():
            table.add_row(topic.title_in(self.llmq.card_lang), "…", "…", "…", key=name)
        yield table
        yield Static(
            _(
                "r review all · enter review the topic · c practise code · i mock interview · b browse · s stats · "
                "ctrl+p every command · ? help"
            ),
            id="home-help",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#topics").focus()
        # Usually llmq counted the cards while Textual loaded: shown before the first frame is
        # drawn. Otherwise the placeholders stay until a worker has counted them.
        data = self.llmq.take_preloaded_home()
        if data is None:
            self._reload()
        else:
            self._show(data)

    def _reload(self) -> None:
        self.run_worker(self._load, thread=True, exclusive=True, exit_on_error=False, group="home")

    def _load(self) -> None:
        self.post_message(self.Loaded(self.llmq.progress().home()))

    def on_home_screen_loaded(self, message: Loaded) -> None:
        self._show(message.data)

    @guarded
    def _show(self, data: HomeData) -> None:
        table = self.query_one("#topics", DataTable)
        for row in data.topics:
            table.update_cell(row.name, "due", str(row.due), update_width=True)
            new = _("0 (limit; {new_held} wait)").format(new_held=row.new_held) if row.new_held else str(row.new)
            table.update_cell(row.name, "new", new, update_width=True)
            table.update_cell(row.name, "total", str(row.total), update_width=True)
        self.query_one("#today", Static).update(self._today(data))
        # Once this frame is drawn, warm the judge up (starting its process costs the UI a moment).
        self.call_after_refresh(self.llmq.start_judge)

    def _today(self, data: HomeData) -> str:
        code = self.llmq.bank.code_exercises()
        held = data.new_held
        limits = _("new today {new_done}/{new_limit} · reviews today {reviews_done}/{review_limit}").format(
            new_done=data.new_done, new_limit=data.new_limit, reviews_done=data.reviews_done, review_limit=data.review_limit
        )
        if held:
            limits += _(" · {held} more wait (+ in a review adds more)").format(held=held)
        return _(
            "Today: {reviewed_today} reviewed · {due_total} due · {new_total} new · code solved {solved}/{code_total}\n{limits}"
        ).format(
            reviewed_today=data.reviewed_today,
            due_total=data.due_total,
            new_total=data.new_total,
            solved=len(data.solved & {q.id for q in code}),
            code_total=len(code),
            limits=limits,
        )

    def highlighted_topic(self) -> str | None:
        """The topic of the table's highlighted row (None before the table has rows)."""
        table = self.query_one("#topics", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_interview(self) -> None:
        self.llmq.action_interview(self.highlighted_topic() or "")

    def action_review_topic(self) -> None:
        table = self.query_one("#topics", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.llmq.action_review(key or "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.llmq.action_review(event.row_key.value or "")
