"""The app's one door to progress (llmq.store + llmq.srs): every query the screens make, in one place.

Every method here does I/O, so screens call them from thread workers, never on the event loop.
Swapping the store's API touches this module only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmq.bank import Bank, Question
from llmq.srs.queue import Queue, QueueFilter
from llmq.srs.settings import load_settings
from llmq.store import STATE_NAMES, CodeStatus, Store, StoredCard, Submission, now_ms

if TYPE_CHECKING:  # the scheduler (fsrs) and stats load when first used, not at start-up
    from llmq.judge.verdict import Verdict
    from llmq.srs import Rating, Stats, Study
    from llmq.srs.plan import Plan
    from llmq.srs.study import Undone


@dataclass(frozen=True)
class TopicRow:
    """One line of the home screen's topic table."""

    name: str
    title: str
    due: int  # learning due now + reviews due today (within the daily limit)
    new: int  # new cards today's limit lets through
    total: int
    new_held: int = 0  # the topic has no new card left today only because of the limit: how many wait


@dataclass(frozen=True)
class HomeData:
    topics: list[TopicRow]
    reviewed_today: int
    due_total: int
    new_total: int
    solved: set[str] = field(default_factory=set)  # code exercises with a passing submission
    new_done: int = 0  # new cards studied today, against...
    new_limit: int = 0  # ...the daily new-card limit
    reviews_done: int = 0  # reviews of review cards today, against...
    review_limit: int = 0  # ...the daily review limit
    new_held: int = 0  # new cards the daily limit holds back today, over all topics


@dataclass(frozen=True)
class BrowseRow:
    """One question in the browse table, with its card's state."""

    id: str
    topic: str
    kind: str
    title: str
    state: str  # new, learning, review, relearning, suspended
    due_ms: int | None
    lapses: int
    suspended: bool
    # What the search reads, lower-cased: the id, topic, tags and source note, and the title and
    # prompt in every language the question is written in (a Chinese search finds Chinese cards).
    search: str = ""


class Progress:
    """Owns the Store for the app's lifetime; thread-safe (the Store serialises its connection)."""

    def __init__(self, bank: Bank, store: Store) -> None:
        self.bank = bank
        self.store = store
        self._synced = False
        self._lock = threading.Lock()
        self._manual: Study | None = None

    @classmethod
    def open(cls, bank: Bank) -> Progress:
        """Open progress.db under LLMQ_HOME (call from a worker: it may migrate the file)."""
        progress = cls(bank, Store.open())
        progress.sync()
        return progress

    def close(self) -> None:
        self.store.close()

    def sync(self) -> None:
        with self._lock:
            if not self._synced:
                self.store.sync_bank(self.bank.questions.values())
                self._synced = True

    # -- studying -------------------------------------------------------------------------------
    def study(self, topic: str | None = None, kind: str | None = None) -> Study:
        from llmq.srs import Study

        return Study(self.store, self.bank.questions.values(), topic=topic, kind=kind)

    def _manual_study(self) -> Study:
        with self._lock:
            if self._manual is None:
                self._manual = self.study()
            return self._manual

    def answer_now(self, qid: str, rating: Rating, duration_ms: int = 0) -> str:
        """Answer `qid`'s card now, outside the queue (a code exercise passed in practice), as the
        review queue would save it; returns the interval to its next review ("3d")."""
        study = self.study()
        card = self.store.card(qid)
        if card is None:
            raise KeyError(f"no card for {qid}")
        shown = study.show(card)
        study.answer(shown, rating, duration_ms)
        return shown.previews[rating.name]

    def make_due(self, qids: list[str]) -> list[str]:
        """The cards a failed check teaches become due now (a logged "due" event each, in a study
        session of their own, so the browser's undo does not take them back); returns those made due."""
        if not qids:
            return []
        return self.study().make_due(qids)

    def act(self, action: str, qid: str) -> None:
        """A manual action from the browser: suspend, unsuspend, reset, bury, unbury."""
        if action not in ("suspend", "unsuspend", "reset", "bury", "unbury"):
            raise ValueError(f"unknown action {action!r}")
        getattr(self._manual_study(), action)(qid)

    def undo_act(self) -> Undone | None:
        """Take back the browser's latest action (repeat to go further back); None: nothing left."""
        return self._manual_study().undo()

    # -- home -----------------------------------------------------------------------------------
    def home(self) -> HomeData:
        self.sync()
        settings = load_settings(self.store)  # counts need the limits, not the scheduler
        queue = Queue(settings, QueueFilter())
        now = now_ms()
        rows: list[TopicRow] = []
        totals: dict[str, int] = {}
        for q in self.bank.questions.values():
            totals[q.topic] = totals.get(q.topic, 0) + 1
        with self.store.snapshot():
            window = queue.window(now)
            for name, topic in self.bank.topics.items():
                counts = Queue(settings, QueueFilter(name)).counts(self.store, now)
                unlimited_new = self.store.queue_size("new", QueueFilter(name), window)
                rows.append(
                    TopicRow(
                        name,
                        topic.title,
                        counts.learning + counts.review,
                        counts.new,
                        totals.get(name, 0),
                        new_held=unlimited_new if counts.new == 0 else 0,
                    )
                )
            everything = queue.counts(self.store, now)
            held = self.store.queue_size("new", QueueFilter(), window) - everything.new
            done = self.store.reviews_done_since(queue.clock.today_start_ms(now))
        return HomeData(
            topics=rows,
            reviewed_today=done.total,
            due_total=everything.learning + everything.review,
            new_total=everything.new,
            solved=self.solved(),
            new_done=done.new,
            new_limit=settings.new_per_day,
            reviews_done=done.review,
            review_limit=settings.reviews_per_day,
            new_held=held,
        )

    def code_status(self) -> dict[str, CodeStatus]:
        """Each exercise that has submissions: how many, and whether one passed."""
        return self.store.code_status()

    def solved(self) -> set[str]:
        return {qid for qid, status in self.code_status().items() if status.solved}

    # -- browse ---------------------------------------------------------------------------------
    def browse(self, lang: str = "en") -> list[BrowseRow]:
        """Every question with its card's state; titles in `lang` (English where untranslated)."""
        cards: dict[str, StoredCard] = {c.qid: c for c in self.store.all_cards()}
        rows = []
        for q in self.bank.questions.values():
            card = cards.get(q.id)
            topic = self.bank.topics.get(q.topic)
            topic_titles = [topic.title_in(code) for code in q.langs] if topic is not None else []
            rows.append(_browse_row(q, card, lang, search_text(q, topic_titles)))
        return rows

    # -- stats ----------------------------------------------------------------------------------
    def stats(self) -> Stats:
        from llmq.srs import compute_stats

        return compute_stats(self.store)

    def readiness(self) -> Plan | None:
        """The plan for the interview date `llmq plan --date` saved (with its minutes a day), or None
        when no date is saved or it has passed."""
        from llmq.srs.plan import PlanInputError, compute_plan
        from llmq.srs.plan_date import saved_plan

        saved = saved_plan(self.store)
        if saved is None:
            return None
        try:
            return compute_plan(self.store, saved.date, saved.minutes_per_day)
        except PlanInputError:  # the date has passed
            return None

    def optimizer_offer(self) -> list[tuple[str, int]]:
        """Sets of weights ("cards", "code") with enough reviews for `llmq optimize` and none fitted
        yet, with their review counts."""
        from llmq.srs.optimize import needs_fit

        return needs_fit(self.store)

    # -- code -----------------------------------------------------------------------------------
    def last_attempt(self, exercise: str) -> Submission | None:
        return self.store.latest_submission(exercise)

    def save_submission(self, exercise: str, code: str, verdict: Verdict) -> int:
        """Keep the code and its verdict (stored as the JSON of `llmq check --json`)."""
        return self.store.add_submission(exercise, code, verdict.to_dict())


def search_text(q: Question, topic_titles: list[str]) -> str:
    """The text a search matches against, in every language `q` is written in."""
    parts = [q.id, q.topic, *topic_titles, *q.tags, q.source, q.source_heading]
    for code in q.langs:
        body = "prompt" if hasattr(q, "prompt") else "task"  # a code exercise has a task instead
        parts += [str(q.text("title", code)), str(q.text(body, code))]
    return " ".join(parts).lower()


def _browse_row(q: Question, card: StoredCard | None, lang: str = "en", search: str = "") -> BrowseRow:
    title = str(q.text("title", lang))
    if card is None:
        return BrowseRow(q.id, q.topic, q.kind, title, "new", None, 0, False, search)
    s = card.state
    state = "suspended" if s.suspended else STATE_NAMES.get(s.state, "?")
    return BrowseRow(q.id, q.topic, q.kind, title, state, s.due_ms if s.state else None, s.lapses, s.suspended, search)
