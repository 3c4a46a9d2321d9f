"""A mock interview round, the report: time to the first pass, failed runs, the checks that failed
first, the follow-ups' results and what to review next (text from llmq.srs.interview_report)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from llmq.judge.check_titles import shown_titles
from llmq.l10n import N_
from llmq.srs.interview_report import report_text
from llmq.store import InterviewRound
from llmq.tui.translated import TranslatedBindings
from llmq.tui.widgets.reading import ReadingScroll

if TYPE_CHECKING:
    from llmq.tui.app import LlmqApp


class InterviewReportScreen(TranslatedBindings, Screen[None]):
    HELP = N_("the round's report (saved: `llmq interview --history` lists every round)")
    BINDINGS = [
        Binding("escape", "app.home", N_("Back to the home screen"), id="report.home"),
        Binding("j,down", "scroll('down')", N_("Scroll down"), show=False),
        Binding("k,up", "scroll('up')", N_("Scroll up"), show=False),
    ]

    def __init__(self, round: InterviewRound, check_titles: dict[str, str] | None = None) -> None:
        super().__init__()
        self.round = round
        self.check_titles = check_titles or {}  # from this round's verdicts

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def _title(self, qid: str) -> str:
        question = self.llmq.bank.questions.get(qid)
        return str(question.text("title", self.llmq.card_lang)) if question is not None else qid

    def _text(self, width: int | None) -> str:
        # The checks' titles from the answer module's source as well: a check of an earlier run
        # whose verdict this screen never saw is named in the interface's language too.
        exercise = self.llmq.bank.questions.get(self.round.exercise)
        titles = shown_titles(self.round.first_failed, getattr(exercise, "answer_path", None))
        return report_text(self.round, self._title, {**titles, **self.check_titles}, width)

    def compose(self) -> ComposeResult:
        yield Header()
        with ReadingScroll(id="interview-report", classes="card"):
            yield Static(self._text(None), id="report-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ReadingScroll).focus()
        self.call_after_refresh(self._wrap)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._wrap)

    def _wrap(self) -> None:
        """The report wrapped to the width it has, the lists' items with a hanging indent."""
        text = self.query_one("#report-text", Static)
        width = text.content_size.width
        if width > 0:
            text.update(self._text(width))

    def action_scroll(self, where: str) -> None:
        getattr(self.query_one(ReadingScroll), f"scroll_{where}")(animate=False)
