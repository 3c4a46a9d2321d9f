"""A mock interview round, the follow-up questions: two to four cards an interviewer asks after the
code, each shown with the review screen's card views and rated 1-4 on its rating bar, saved as a
review answer (and in the round's row). After the last one, the report (interview_report.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from llmq.bank import Choice, Cloze, Flashcard, Numeric, Question
from llmq.l10n import N_, _
from llmq.srs import Rating
from llmq.store import InterviewRound, now_ms
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.interview_recorder import OfTheRound, RoundSaved, RoundSaveFailed
from llmq.tui.translated import TranslatedBindings
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.flashcard import FlashcardView
from llmq.tui.widgets.rating_bar import RatingBar

if TYPE_CHECKING:
    from llmq.bank.numeric import Instance
    from llmq.srs import Shown, Study
    from llmq.tui.progress_facade import Progress


@dataclass(frozen=True)
class Asked:
    """One follow-up ready to show: its card as the scheduler sees it now, and the question."""

    index: int
    shown: Shown
    question: Question
    instance: Instance | None  # a numeric card's drawn numbers


def card_view(question: Question, instance: Instance | None) -> CardView:
    """The review screen's view for a card of this kind."""
    if isinstance(question, (Flashcard, Cloze)):
        return FlashcardView(question)
    if isinstance(question, Choice):
        from llmq.tui.widgets.choice import ChoiceView

        return ChoiceView(question)
    if isinstance(question, Numeric) and instance is not None:
        from llmq.tui.widgets.numeric import NumericView

        return NumericView(instance)
    raise TypeError(f"a {question.kind} card cannot be a follow-up question")


class InterviewFollowupsScreen(TranslatedBindings, ReportsWorkerErrors, OfTheRound, Screen[None]):
    HELP = N_(
        "the round's follow-up questions, asked as in review: answer, show the answer, then rate "
        "1-4; each rating is saved as a review of that card"
    )
    BINDINGS = [
        Binding("space,enter", "show", N_("Show answer"), id="followup.show"),
        Binding("space,enter", "accept", N_("Rate ◆"), id="followup.accept"),
        Binding("1", "rate(1)", N_("Again"), id="followup.again"),
        Binding("2", "rate(2)", N_("Hard"), id="followup.hard"),
        Binding("3", "rate(3)", N_("Good"), id="followup.good"),
        Binding("4", "rate(4)", N_("Easy"), id="followup.easy"),
        Binding("escape", "leave", N_("Leave"), id="followup.leave"),
        # plain l where no input has the focus; ctrl+l also from a numeric card's input (as in review)
        Binding("l", "flip_language", N_("中/EN"), id="followup.language"),
        # its own binding, so the footer shows "ctrl+l" where an input takes the plain l
        Binding("ctrl+l", "flip_language", N_("中/EN"), id="followup.language", key_display="ctrl+l"),
    ]

    class Loaded(Message):
        def __init__(self, asked: Asked | None, index: int) -> None:
            self.asked = asked  # None: the card is no longer in the bank (skipped)
            self.index = index
            super().__init__()

    def __init__(self, round: InterviewRound, check_titles: dict[str, str] | None = None) -> None:
        super().__init__()
        self.round = round
        self.check_titles = check_titles or {}
        self.asked: Asked | None = None
        self.view: CardView | None = None
        self.suggested: Rating | None = None
        self.busy = True
        self._study: Study | None = None
        self._shown_at = 0.0

    @property
    def qids(self) -> list[str]:
        return [f.qid for f in self.round.followups]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="queue-counts")
        yield Container(Static(_("loading…"), classes="empty"), id="card-area")
        yield RatingBar(id="rating-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RatingBar).display = False
        self._load(0)

    # -- loading --------------------------------------------------------------------------------
    def _load(self, index: int) -> None:
        self.busy = True
        self.refresh_bindings()
        if index >= len(self.qids):
            self._finish()
            return
        self.run_worker(lambda: self._draw(index), thread=True, exclusive=True, exit_on_error=False, group="followup")

    def _draw(self, index: int) -> None:
        """In a thread: the card's state and previews now, and a numeric card's numbers."""
        progress = self.llmq.progress()
        if self._study is None:
            self._study = progress.study()
        qid = self.qids[index]
        card = progress.store.card(qid)
        question = self.llmq.bank.questions.get(qid)
        if card is None or question is None:
            self.post_message(self.Loaded(None, index))
            return
        question = question.localized(self.llmq.card_lang)
        instance = None
        if isinstance(question, Numeric):
            from llmq.bank.numeric import instantiate

            instance = instantiate(question)
        self.post_message(self.Loaded(Asked(index, self._study.show(card), question, instance), index))

    @guarded
    async def on_interview_followups_screen_loaded(self, message: Loaded) -> None:
        if message.asked is None:
            self._load(message.index + 1)
            return
        asked = message.asked
        self.asked = asked
        self.suggested = None
        self.query_one(RatingBar).display = False
        self.query_one("#queue-counts", Static).update(
            _("Mock interview · follow-up {n} of {total}").format(n=asked.index + 1, total=len(self.qids))
        )
        area = self.query_one("#card-area")
        await area.remove_children()
        self.view = card_view(asked.question, asked.instance)
        await area.mount(self.view)
        self._shown_at = time.monotonic()
        self.busy = False
        self.refresh_bindings()

    def on_card_view_graded(self, message: CardView.Graded) -> None:
        if self.asked is None:
            return
        self.suggested = message.suggested
        bar = self.query_one(RatingBar)
        bar.set_previews(self.asked.shown.previews, message.suggested)
        bar.display = True
        bar.focus()  # off the choice list or the number input, so 1-4 rate
        self.refresh_bindings()

    # -- keys -----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("leave", "flip_language"):
            return True
        if self.busy:
            return False
        if action in ("rate", "accept"):
            return self.suggested is not None
        if action == "show":
            return isinstance(self.view, FlashcardView) and self.suggested is None
        return True

    def action_flip_language(self) -> None:
        """The card in the other language (Chinese <-> English): a flashcard in place, any other
        from the next card on; later cards and rounds follow."""
        app = self.llmq
        app.card_lang = "en" if app.card_lang == "zh" else "zh"
        app.remember_language()
        if self.asked is None or self.view is None:
            return
        question = app.bank.questions.get(self.asked.shown.qid)
        localized = question.localized(app.card_lang) if question is not None else None
        if isinstance(self.view, FlashcardView) and isinstance(localized, (Flashcard, Cloze)):
            self.view.show_in(localized)  # a revealed answer stays revealed
        else:
            self.notify(_("The next card is shown in the other language."), title=_("Language"))

    def action_show(self) -> None:
        if self.view is not None and not self.busy and self.suggested is None:
            self.view.reveal()

    def action_accept(self) -> None:
        if self.suggested is not None:
            self.action_rate(int(self.suggested))

    def on_rating_bar_rated(self, message: RatingBar.Rated) -> None:
        self.action_rate(int(message.rating))

    def action_rate(self, rating: int) -> None:
        asked, study = self.asked, self._study
        if asked is None or study is None or self.suggested is None or self.busy:
            return
        self.busy = True
        self.refresh_bindings()
        duration = int((time.monotonic() - self._shown_at) * 1000)
        recorder = self.recorder

        def save(progress: Progress) -> tuple[InterviewRound | None, int]:
            study.answer(asked.shown, Rating(rating), duration)  # as the review queue saves an answer
            round_id = recorder.round_id
            assert round_id is not None
            return progress.store.interviews.record_followup(round_id, asked.shown.qid, rating, now_ms()), asked.index

        recorder.submit("followup", save, self)

    def _finish(self) -> None:
        recorder = self.recorder

        def save(progress: Progress) -> tuple[InterviewRound | None, None]:
            round_id = recorder.round_id
            assert round_id is not None
            return progress.store.interviews.finish(round_id, now_ms()), None

        recorder.submit("finished", save, self)

    @guarded
    def on_round_saved(self, message: RoundSaved) -> None:
        if message.round is not None:
            self.round = message.round
        if message.what == "followup":
            self._load(int(message.result) + 1)
        elif message.what == "finished":
            from llmq.tui.screens.interview_report import InterviewReportScreen

            self.app.switch_screen(InterviewReportScreen(self.round, self.check_titles))
        elif message.what == "abandoned":
            self.llmq.go_back()

    def on_round_save_failed(self, message: RoundSaveFailed) -> None:
        self.busy = False
        self.refresh_bindings()
        self.llmq.notify_error(message.error)

    def action_leave(self) -> None:
        from llmq.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.busy = True
                recorder = self.recorder
                self.recorder.submit(
                    "abandoned",
                    lambda progress: (progress.store.interviews.abandon(recorder.round_id or 0, now_ms()), None),
                    self,
                )

        self.app.push_screen(
            ConfirmScreen(
                _("Leave the mock interview?"),
                _("The round is saved as abandoned: the follow-ups answered so far stay rated, the rest are not asked."),
                _("leave"),
            ),
            answered,
        )
