"""The review queue: one card at a time (flashcard, choice, numeric, code), rated 1-4 with the
interval previews on the buttons. Saving an answer and fetching the next card run in a worker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from llmq.bank import Choice, Cloze, CodeExercise, Flashcard, Numeric, Question
from llmq.l10n import N_, _, ngettext
from llmq.srs import Answered, QueueCounts, Rating, Shown, Study
from llmq.tui.errors import ReportsWorkerErrors, guarded
from llmq.tui.translated import TranslatedBindings, kind_name, undid_message
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.flashcard import FlashcardView
from llmq.tui.widgets.rating_bar import RatingBar
from llmq.tui.widgets.steady_footer import SteadyFooter

if TYPE_CHECKING:
    from llmq.bank.numeric import Instance
    from llmq.tui.app import LlmqApp
    from llmq.tui.preload import FirstCard

# The choice, numeric and code views are imported when such a card is first shown: `llmq study`
# draws its first card sooner (the code view brings the judge's verdict and reference modules).


STUDY_MORE = 10  # new cards that `+` lets through beyond today's limit
# A card change slower than this shows the keys that work meanwhile (fewer: none acts on a card).
SLOW_CHANGE_S = 1.0


@dataclass(frozen=True)
class NextCard:
    """What the worker hands back: the answer just saved (if any) and the card to show next."""

    answered: Answered | None
    shown: Shown | None
    question: Question | None
    instance: Instance | None  # a numeric card's freshly drawn parameters
    counts: QueueCounts
    next_due_ms: int | None
    note: str = ""
    undoable: int = 0  # how this step changed the number of steps `u` can take back
    new_waiting: int = 0  # when the queue is empty: new cards today's limit holds back
    new_limit: int = 0
    undid_rating: Rating | None = None  # the rating of the answer `u` took back
    order: tuple[int, ...] | None = None  # a choice card brought back by `u`: its options' order then


@dataclass(frozen=True)
class ShownOrder:
    """The order a choice card's options were shown in, kept so that `u` shows it the same way."""

    qid: str
    order: tuple[int, ...]


@dataclass
class SessionTally:
    """What this visit to the queue has done, for the summary at the end."""

    answered: int = 0
    passed: int = 0  # answers other than Again
    time_ms: int = 0

    def add(self, rating: Rating, duration_ms: int) -> None:
        self.answered += 1
        self.passed += rating != Rating.Again
        self.time_ms += duration_ms

    def remove(self, rating: Rating) -> None:
        """An answer taken back with `u` (its time stays spent)."""
        self.answered = max(0, self.answered - 1)
        self.passed = max(0, self.passed - (rating != Rating.Again))

    def text(self) -> str:
        if not self.answered:
            return _("No cards answered in this session.")
        minutes, seconds = divmod(round(self.time_ms / 1000), 60)
        spent = (
            _("{minutes} min {seconds} s").format(minutes=minutes, seconds=seconds)
            if minutes
            else _("{seconds} s").format(seconds=seconds)
        )
        return (
            ngettext("This session: {answered} card in {spent}", "This session: {answered} cards in {spent}", self.answered)
            + _(" · {share:.0%} not Again ({passed} of {answered})")
        ).format(answered=self.answered, spent=spent, share=self.passed / self.answered, passed=self.passed)


class ReviewScreen(TranslatedBindings, ReportsWorkerErrors, Screen[None]):
    HELP = N_("the review queue: due cards first, then new ones; rate each answer 1-4 as in Anki")
    BINDINGS = [
        Binding("space,enter", "show", N_("Show answer"), id="review.show"),
        Binding("space,enter", "accept", N_("Rate ◆"), id="review.accept"),  # the suggested rating
        Binding("1", "rate(1)", N_("Again"), id="review.again"),
        Binding("2", "rate(2)", N_("Hard"), id="review.hard"),
        Binding("3", "rate(3)", N_("Good"), id="review.good"),
        Binding("4", "rate(4)", N_("Easy"), id="review.easy"),
        Binding("escape", "back", N_("Back"), id="review.back"),
        Binding("plus", "study_more", N_("More new cards"), id="review.more"),
        # ctrl+z too: it reaches the screen while the numeric card's input has the focus (where u
        # is typed, so the footer shows ctrl+z then, as with l and ctrl+l below)
        Binding("u", "undo", N_("Undo"), id="review.undo"),
        Binding("ctrl+z", "undo", N_("Undo"), id="review.undo", key_display="ctrl+z"),
        Binding("minus", "bury", N_("Bury"), id="review.bury"),
        Binding("exclamation_mark", "suspend", N_("Suspend"), id="review.suspend"),
        # l where no input has the focus; ctrl+l also from the numeric card's input and the code
        # editor, where l is typed. Two bindings, each shown as its own key: Textual drops the l
        # from the footer and help where the focused widget takes it, and ctrl+l is shown then.
        Binding("l", "flip_language", N_("中/EN"), id="review.language"),
        Binding("ctrl+l", "flip_language", N_("中/EN"), id="review.language", key_display="ctrl+l"),
        # Reading a long answer: the card scrolls (the keys are listed in the help, not the footer).
        Binding("j,down", "scroll('down')", N_("Scroll down"), show=False),
        Binding("k,up", "scroll('up')", N_("Scroll up"), show=False),
        Binding("pagedown", "scroll('page_down')", N_("Page down"), show=False),
        Binding("pageup", "scroll('page_up')", N_("Page up"), show=False),
        Binding("home", "scroll('home')", N_("Top"), show=False),
        Binding("end", "scroll('end')", N_("Bottom"), show=False),
    ]

    class Advanced(Message):
        def __init__(self, result: NextCard) -> None:
            self.result = result
            super().__init__()

    def __init__(self, topic: str | None = None, kind: str | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.kind = kind
        self.study: Study | None = None
        self.shown: Shown | None = None
        self.view: CardView | None = None
        self.suggested: Rating | None = None
        self.busy = True  # a save or load is in flight: keys that change progress wait
        # Between a key that changes cards and the next card drawn: the footer keeps the keys it
        # shows (they are refused meanwhile) instead of being rebuilt twice for a moment's state.
        self.changing = False
        self._change = 0  # counts changes, so a slow change's timer knows it is still that one
        self._shown_at = 0.0
        # For each step `u` can take back, the numbers of the numeric card it was taken on, or the
        # order of the choice card's options (None for other cards): undo shows that card again
        # the same way.
        self._undo_stack: list[Instance | ShownOrder | None] = []
        self.tally = SessionTally()
        self._new_waiting = 0
        self._undoable = 0  # answers and actions of this session that `u` can still take back

    @property
    def llmq(self) -> LlmqApp:
        return cast("LlmqApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        scope = self._scope()
        yield Static(_("Review · {scope}").format(scope=scope), id="queue-counts")
        yield Container(Static(_("loading…"), classes="empty"), id="card-area")
        yield RatingBar(id="rating-bar")
        yield SteadyFooter()  # rebuilt only when its keys change, not mid-change

    async def on_mount(self) -> None:
        self.query_one(RatingBar).display = False
        topics = self.llmq.bank.topics
        if self.topic is not None and self.topic not in topics:
            self.notify(
                _("There is no topic {topic!r}. Topics: {topics}.").format(topic=self.topic, topics=", ".join(topics)),
                title=_("Unknown topic"),
                severity="warning",
                timeout=10,
            )
        first = self.llmq.take_first_card(self.topic, self.kind)
        if first is not None and first.shown is not None:
            # `llmq study` drew the first card while the app started: mounted before the first
            # frame (no store access here: the card, its previews and the counts are in `first`).
            await self.on_review_screen_advanced(self.Advanced(self._next(None, "", first)))
        else:
            self._advance(None)

    # -- the worker -----------------------------------------------------------------------------
    def _advance(self, answer: tuple[Shown, Rating, int] | None, action: str = "") -> None:
        if answer is not None or action in ("bury", "suspend"):
            self._undo_stack.append(self._as_shown())
        self.busy = True
        self.changing = True
        self._change += 1
        change = self._change
        self.set_timer(SLOW_CHANGE_S, lambda: self._slow_change(change))
        self.refresh_bindings()  # (the footer waits: see `changing`)
        self.run_worker(lambda: self._work(answer, action), thread=True, exclusive=True, exit_on_error=False, group="review")

    def _as_shown(self) -> Instance | ShownOrder | None:
        """What `u` needs to show the current card as it is now: a numeric card's drawn numbers
        (only the numeric view has `instance`), a choice card's order of options."""
        order = getattr(self.view, "order", None)
        card = getattr(self.view, "card", None)
        if order is not None and card is not None:
            return ShownOrder(card.id, order)
        return getattr(self.view, "instance", None)

    def _work(self, answer: tuple[Shown, Rating, int] | None, action: str) -> None:
        try:
            self.post_message(self.Advanced(self._next(answer, action)))
        except BaseException:
            self.app.call_from_thread(self._unbusy)
            raise

    def _unbusy(self) -> None:
        self.busy = False
        self.changing = False
        self.refresh_bindings()

    def _slow_change(self, change: int) -> None:
        """The change is taking a while: the footer shows the keys that work meanwhile."""
        if self.changing and change == self._change:
            self.changing = False
            self.refresh_bindings()

    def _next(self, answer: tuple[Shown, Rating, int] | None, action: str, first: FirstCard | None = None) -> NextCard:
        if self.study is None:
            # `llmq study` prepared the session and its first card while the app started up.
            first = first or self.llmq.take_first_card(self.topic, self.kind, wait=True)
            self.study = first.study if first is not None else self.llmq.progress().study(self.topic, self.kind)
        first = first if first is not None and first.shown is not None else None
        study = self.study
        answered = None
        note = ""
        shown: Shown | None = None
        undoable = 0
        undid: Rating | None = None
        if answer is not None:
            shown_before, rating, duration = answer
            answered = study.answer(shown_before, rating, duration)
            undoable = 1
        if action in ("bury", "suspend") and self.shown is not None:
            getattr(study, action)(self.shown.qid)
            what = _("buried until tomorrow") if action == "bury" else _("suspended")
            note = _("“{title}” {what}").format(title=self._title(self.shown.qid), what=what)
            undoable = 1
        if action == "more":
            study.study_more_new(STUDY_MORE)
            note = _("{count} more new cards in this session.").format(count=STUDY_MORE)
        if action == "undo":
            undone = study.undo()
            if undone is None:
                note = _("nothing to undo")
                undoable = -self._undoable
            else:
                undoable = -1
                undid = undone.rating if undone.kind == "review" else None
                note = undid_message(undone.kind, self._title(undone.qid))
                card = study.store.card(undone.qid)
                if card is not None:
                    shown = study.show(card)
        if shown is None:
            shown = first.shown if first is not None else study.next()
        question = self.llmq.bank.questions.get(shown.qid) if shown else None
        if question is not None:
            question = question.localized(self.llmq.card_lang)  # English where a field is untranslated
        instance = None
        if isinstance(question, Numeric):
            # Undo brings back the very numbers the card was answered with: `u` never re-rolls
            # them (that would be a way to fish for an easy variant). Otherwise fresh ones.
            kept = self._undo_stack[-1] if action == "undo" and self._undo_stack else None
            from llmq.bank.numeric import Instance, instantiate

            if isinstance(kept, Instance) and kept.question.id == question.id:
                from llmq.tui.widgets.numeric import same_numbers

                instance = same_numbers(kept, question)  # in the language cards are shown in now
            else:
                instance = instantiate(question)
        order = None
        if isinstance(question, Choice) and action == "undo" and self._undo_stack:
            kept_order = self._undo_stack[-1]
            if isinstance(kept_order, ShownOrder) and kept_order.qid == question.id:
                order = kept_order.order  # `u` shows the options as they were when answered
        waiting = 0 if shown else study.new_waiting()
        return NextCard(
            answered,
            shown,
            question,
            instance,
            first.counts if first is not None and first.counts is not None else study.counts(learn_ahead=True),
            None if shown else study.next_learning_due_ms(),
            note,
            undoable,
            waiting,
            study.settings.new_per_day,
            undid,
            order,
        )

    def _scope(self) -> str:
        """The queue's topic and kind as the header names them (the topic's title, the kind's name)."""
        topic = self.llmq.bank.topics.get(self.topic) if self.topic else None
        parts = [topic.title_in(self.llmq.card_lang) if topic is not None else self.topic]
        parts.append(kind_name(self.kind) if self.kind else None)
        return " · ".join(x for x in parts if x) or _("all topics")

    def _title(self, qid: str) -> str:
        """A question as people know it: its title (the id only if it left the bank)."""
        question = self.llmq.bank.questions.get(qid)
        return str(question.text("title", self.llmq.card_lang)) if question is not None else qid

    # -- showing --------------------------------------------------------------------------------
    @guarded
    async def on_review_screen_advanced(self, message: Advanced) -> None:
        r = message.result
        self.busy = True  # until the card is drawn (see _card_drawn)
        if r.answered is not None and r.answered.notice:
            self.notify(r.answered.notice, title=_("Leech"), severity="warning", timeout=10)
        if r.note:
            self.notify(r.note, title=_("Review"))
        self._undoable = max(0, self._undoable + r.undoable)
        if r.undid_rating is not None:
            self.tally.remove(r.undid_rating)
        if r.undoable < 0:
            del self._undo_stack[len(self._undo_stack) + r.undoable :]
        c = r.counts
        scope = self._scope()
        self.query_one("#queue-counts", Static).update(
            _("Review · {scope}    new {new} · learning {learning} · review {review}").format(
                scope=scope, new=c.new, learning=c.learning, review=c.review
            )
        )
        self.shown = r.shown
        self.suggested = None
        self.query_one(RatingBar).display = False
        area = self.query_one("#card-area")
        await area.remove_children()
        if r.shown is None or r.question is None:
            self.view = None
            self._new_waiting = r.new_waiting
            await area.mount(Static(self._done_text(r), classes="empty", id="done"))
        else:
            self.view = self._view_for(r.question, r.instance, r.order)
            # Awaited: the card's own widgets exist before any key may act on it.
            await area.mount(self.view)
            # (the rating bar gets this card's previews when it is shown: on_card_view_graded)
        # Keys wait until the card has been drawn: nothing acts on a card the user has not seen.
        self.call_after_refresh(self._card_drawn)

    def _card_drawn(self) -> None:
        self._shown_at = time.monotonic()
        self.busy = False
        self.changing = False
        self.refresh_bindings()
        # Only now: starting the judge's worker costs the UI a moment, never before the first card.
        self.call_after_refresh(self.llmq.start_judge)

    def _done_text(self, r: NextCard) -> str:
        lines = [_("Nothing more to review for now. Well done."), "", self.tally.text()]
        if r.next_due_ms is not None:
            minutes = max(0, round((r.next_due_ms - time.time() * 1000) / 60_000))
            lines.append(
                _("The next learning card is due at {due:%H:%M} (in {minutes} min).").format(
                    due=datetime.fromtimestamp(r.next_due_ms / 1000), minutes=minutes
                )
            )
        else:
            lines.append(_("No learning card is waiting today."))
        if r.new_waiting:
            scope = _("in {topic}").format(topic=self.topic) if self.topic else _("across your topics")
            lines += [
                "",
                ngettext(
                    "Today's limit of {limit} new cards is reached; {waiting} more new card waits {scope}.",
                    "Today's limit of {limit} new cards is reached; {waiting} more new cards wait {scope}.",
                    r.new_waiting,
                ).format(limit=r.new_limit, waiting=r.new_waiting, scope=scope),
                _("+: study {count} more new cards now (custom study, this session)").format(
                    count=min(STUDY_MORE, r.new_waiting)
                ),
            ]
        return "\n".join([*lines, "", _("escape: back to the home screen")])

    def _view_for(self, q: Question, instance: Instance | None, order: tuple[int, ...] | None = None) -> CardView:
        if isinstance(q, (Flashcard, Cloze)):
            return FlashcardView(q)
        if isinstance(q, Choice):
            from llmq.tui.widgets.choice import ChoiceView

            return ChoiceView(q, order)  # a fresh shuffle unless `u` brought the card back
        if isinstance(q, Numeric) and instance is not None:
            from llmq.tui.widgets.numeric import NumericView

            return NumericView(instance)
        if isinstance(q, CodeExercise):
            from llmq.tui.widgets.code_panel import CodePanel

            return CodePanel(q, review=True)
        raise TypeError(f"cannot show a {q.kind} question")

    def on_card_view_graded(self, message: CardView.Graded) -> None:
        if self.shown is None:
            return
        self.suggested = message.suggested
        bar = self.query_one(RatingBar)
        bar.set_previews(self.shown.previews, message.suggested)
        bar.display = True
        bar.focus()  # off the editor or input, so 1-4 rate
        self.refresh_bindings()

    # -- keys -----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only keys that do something now are offered (and shown in the footer)."""
        if action in ("back", "help", "scroll"):
            return True
        if self.busy:
            return False  # a card is loading or changing: no key may act on it
        graded = self.suggested is not None
        if action in ("rate", "accept"):
            return graded
        if action == "show":  # only cards that reveal on space (the others take their own keys)
            return isinstance(self.view, FlashcardView) and not graded
        if action in ("bury", "suspend"):
            return self.view is not None
        if action == "undo":
            return self._undoable > 0
        if action == "study_more":
            return self.view is None and self._new_waiting > 0
        return True

    def action_scroll(self, where: str) -> None:
        """Scroll the card (a code card's panes scroll themselves)."""
        if self.view is not None and not self.view.has_class("code"):
            getattr(self.view, f"scroll_{where}")(animate=False)

    def action_flip_language(self) -> None:
        """Show the card in the other language (Chinese <-> English); later cards follow."""
        app = self.llmq
        app.card_lang = "en" if app.card_lang == "zh" else "zh"
        app.remember_language()
        if self.view is None or self.shown is None:
            return
        question = app.bank.questions.get(self.shown.qid)
        if question is None:
            return
        localized = question.localized(app.card_lang)
        if isinstance(self.view, FlashcardView) and isinstance(localized, (Flashcard, Cloze)):
            self.view.show_in(localized)  # in place: a revealed answer stays revealed
        elif isinstance(localized, Choice) and self.suggested is None:
            self._replace_view(self._view_for(localized, None, getattr(self.view, "order", None)))
        elif isinstance(localized, CodeExercise) and hasattr(self.view, "show_in"):
            self.view.show_in(localized)  # in place: the code typed, the results, the hints stay
        elif isinstance(localized, Numeric) and hasattr(self.view, "instance"):
            # The same numbers in the other language: the answer module is asked for its worked
            # steps again (a child process), so off the event loop.
            view, instance = self.view, self.view.instance
            self.run_worker(lambda: self._numbers_in(view, instance, localized), thread=True, exit_on_error=False)
        else:
            # A graded choice: redrawing would lose the marked options, so the language changes
            # with the next card.
            self.notify(_("The next card is shown in the other language."), title=_("Language"))

    def _numbers_in(self, view: CardView, instance: Instance, question: Numeric) -> None:
        from llmq.tui.widgets.numeric import NumericView, same_numbers

        redrawn = same_numbers(instance, question)

        def show() -> None:
            if isinstance(view, NumericView) and view is self.view and view.is_attached:  # still that card
                view.show_in(redrawn)

        self.app.call_from_thread(show)

    def _replace_view(self, view: CardView) -> None:
        area = self.query_one("#card-area")
        old, self.view = self.view, view
        if old is not None:
            old.remove()
        area.mount(view)

    def action_show(self) -> None:
        if self.view is not None and not self.busy and self.suggested is None:
            self.view.reveal()

    def action_accept(self) -> None:
        """Space/enter once graded: the suggested rating (Good for a flashcard, as in Anki)."""
        if self.suggested is not None:
            self.action_rate(int(self.suggested))

    def action_rate(self, rating: int) -> None:
        if self.shown is None or self.suggested is None or self.busy:
            return
        duration = int((time.monotonic() - self._shown_at) * 1000)
        self.tally.add(Rating(rating), duration)
        self._advance((self.shown, Rating(rating), duration))

    def on_rating_bar_rated(self, message: RatingBar.Rated) -> None:
        self.action_rate(int(message.rating))

    def action_back(self) -> None:
        self.llmq.go_back()

    def action_study_more(self) -> None:
        """Custom study: more new cards than today's limit, in this session (as Anki's option)."""
        if not self.busy and self.view is None and self._new_waiting:
            self._advance(None, "more")

    def action_undo(self) -> None:
        if not self.busy:
            self._advance(None, "undo")

    def action_bury(self) -> None:
        if not self.busy and self.shown is not None:
            self._advance(None, "bury")

    def action_suspend(self) -> None:
        if not self.busy and self.shown is not None:
            self._advance(None, "suspend")
