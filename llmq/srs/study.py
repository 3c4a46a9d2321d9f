"""A study session: what the review screen calls. Shows the next card with its four outcomes
computed once (the interval previews), saves an answer in one transaction, undoes, buries, suspends."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from llmq.srs.events import apply_manual, review_outcome
from llmq.srs.queue import Queue, QueueCounts, QueueFilter
from llmq.srs.scheduler import LEECH_TAG, AnswerOutcome, Rating, Scheduler
from llmq.srs.settings import Settings, load_settings
from llmq.store import BankCard, CardState, Store, StoredCard, now_ms


@dataclass(frozen=True, kw_only=True)
class Shown:
    """A card on screen, with what each button would do (computed once, when it was shown)."""

    card: StoredCard
    at_ms: int
    outcomes: dict[Rating, AnswerOutcome]
    config_id: int  # the scheduler configuration the outcomes were computed with
    config_json: str

    @property
    def qid(self) -> str:
        return self.card.qid

    @property
    def previews(self) -> dict[str, str]:
        """Interval labels for the answer buttons: {"Again": "10m", "Hard": "2d", ...}."""
        return {r.name: self.outcomes[r].label for r in Rating}


@dataclass(frozen=True, kw_only=True)
class Answered:
    log_id: int  # the review-log row, committed
    qid: str
    rating: Rating
    before: CardState
    after: CardState
    notice: str | None  # set when the answer made the card a leech

    @property
    def leech(self) -> bool:
        return self.notice is not None


@dataclass(frozen=True, kw_only=True)
class Undone:
    qid: str
    kind: str  # "review" or a manual action
    rating: Rating | None
    restored: CardState


def leech_notice(qid: str, lapses: int) -> str:
    return (
        f"{qid} is a leech: forgotten {lapses} times. It is suspended and tagged "
        f"'{LEECH_TAG}'. Rewrite it or study it another way, then unsuspend it."
    )


class Study:
    """One study session over the current bank. `clock` returns epoch ms (tests pass their own)."""

    def __init__(
        self,
        store: Store,
        bank: Iterable[BankCard],
        *,
        topic: str | None = None,
        kind: str | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.clock = clock
        self.filter = QueueFilter(topic, kind)
        self.session = uuid.uuid4().hex
        self.extra_new = 0  # custom study: new cards beyond today's limit, in this session
        store.sync_bank(bank)
        self.reload_settings()

    def reload_settings(self) -> Settings:
        """Read the settings again (after the user changed them)."""
        self.settings = load_settings(self.store)
        self.scheduler = Scheduler(self.settings)
        self.queue = Queue(self.settings, self.filter)
        self.queue.extra_new = self.extra_new  # custom study survives a settings reload
        self._config_json = self.settings.scheduler_config()
        self._config_id = self.store.config_id(self._config_json)
        return self.settings

    # -- showing ----------------------------------------------------------------------------------
    def next(self) -> Shown | None:
        """The next card to study, or None when the queue is empty for now."""
        now = self.clock()
        card = self.queue.next_card(self.store, now)
        return self.show(card, now) if card else None

    def show(self, card: StoredCard, at_ms: int | None = None) -> Shown:
        at = self.clock() if at_ms is None else at_ms
        return Shown(
            card=card,
            at_ms=at,
            outcomes=self.scheduler.outcomes(card.key, card.state, at, card.kind),
            config_id=self._config_id,
            config_json=self._config_json,
        )

    def counts(self, learn_ahead: bool = False) -> QueueCounts:
        return self.queue.counts(self.store, self.clock(), learn_ahead=learn_ahead)

    def new_waiting(self) -> int:
        """New cards of this session's topic/kind that today's limit holds back (0 if none)."""
        now = self.clock()
        unlimited = self.queue.counts(self.store, now, limited=False).new
        return max(0, unlimited - self.queue.counts(self.store, now).new)

    def study_more_new(self, n: int) -> None:
        """Custom study: let `n` more new cards through in this session, beyond today's limit."""
        self.extra_new += max(0, n)
        self.queue.extra_new = self.extra_new

    def next_learning_due_ms(self) -> int | None:
        return self.queue.next_learning_due_ms(self.store, self.clock())

    # -- answering --------------------------------------------------------------------------------
    def answer(self, shown: Shown, rating: Rating | int, duration_ms: int = 0) -> Answered:
        """Save the answer: the log row and the card's new state commit together."""
        rating = Rating(rating)
        chosen = shown.outcomes[rating]

        def compute(current: StoredCard) -> CardState:
            # Normally the card is as it was shown and the previewed outcome is what is saved;
            # if another window answered it meanwhile, score it from where it is now.
            nonlocal chosen
            if current.state != shown.card.state:
                chosen = review_outcome(rating, current.key, current.state, shown.at_ms, shown.config_json, current.kind)
            return chosen.after

        applied = self.store.apply(
            shown.qid,
            kind="review",
            rating=int(rating),
            at_ms=shown.at_ms,
            duration_ms=duration_ms,
            config=shown.config_id,
            session=self.session,
            compute=compute,
        )
        notice = leech_notice(shown.qid, applied.after.lapses) if chosen.leech else None
        return Answered(
            log_id=applied.log_id, qid=shown.qid, rating=rating, before=applied.before, after=applied.after, notice=notice
        )

    def undo(self) -> Undone | None:
        """Undo this session's last answer or action (repeat to go further back)."""
        result = self.store.undo(self.session, self.clock())
        if result is None:
            return None
        entry, qid = result
        return Undone(qid=qid, kind=entry.kind, rating=Rating(entry.rating) if entry.rating else None, restored=entry.before)

    # -- manual actions ---------------------------------------------------------------------------
    def _act(self, kind: str, qid: str) -> CardState:
        at = self.clock()
        applied = self.store.apply(
            qid,
            kind=kind,
            rating=None,
            at_ms=at,
            duration_ms=0,
            config=self._config_id,
            session=self.session,
            compute=lambda c: apply_manual(kind, c.state, at, self.settings),
        )
        return applied.after

    def bury(self, qid: str) -> CardState:
        """Hide the card until the next day starts (4 AM)."""
        return self._act("bury", qid)

    def unbury(self, qid: str) -> CardState:
        return self._act("unbury", qid)

    def suspend(self, qid: str) -> CardState:
        return self._act("suspend", qid)

    def unsuspend(self, qid: str) -> CardState:
        return self._act("unsuspend", qid)

    def reset(self, qid: str) -> CardState:
        """Forget the card: it becomes new again (its history stays in the log)."""
        return self._act("reset", qid)

    def make_due(self, qids: Iterable[str]) -> list[str]:
        """Cards a failed check teaches: each becomes due now, one logged "due" event each (undo
        takes it back). A studied card is due at once; a new one comes first among today's new
        cards (events.apply_manual). Ids with no card in the store are skipped; returns those made due."""
        done: list[str] = []
        for qid in dict.fromkeys(qids):
            if self.store.card(qid) is not None:
                self._act("due", qid)
                done.append(qid)
        return done
