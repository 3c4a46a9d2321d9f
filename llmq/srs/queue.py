"""The study queue, in Anki's order: learning cards due now, then reviews due today, then new cards
in bank order (taking turns across topics when no topic is chosen), within the daily limits;
optionally one topic or one kind. Custom study lets more new cards through for one session.

The cards are read through the store's named queue reads; this module decides the order, the
times that make a card due, and the limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmq.srs.daytime import DAY_MS, DayClock
from llmq.srs.settings import Settings
from llmq.store import DueWindow, QueueCounts, QueueFilter, QueueName, Store, StoredCard

__all__ = ["DailyLimits", "Queue", "QueueCounts", "QueueFilter", "limits_left"]


@dataclass(frozen=True)
class DailyLimits:
    """How many more new cards and reviews today's limits let through."""

    new: int | None  # None: no limit
    review: int | None


def limits_left(store: Store, settings: Settings, clock: DayClock, now_ms: int, extra_new: int = 0) -> DailyLimits:
    """`extra_new`: new cards allowed beyond today's limit (custom study)."""
    done = store.reviews_done_since(clock.today_start_ms(now_ms))
    review_left = max(0, settings.reviews_per_day - done.review)
    # As in Anki's v3 scheduler, the review limit also caps new cards.
    new_left = max(0, min(settings.new_per_day - done.new, review_left)) + max(0, extra_new)
    return DailyLimits(new=new_left, review=review_left)


class Queue:
    """Reads the next card and the counts straight from the database, so two windows agree."""

    def __init__(self, settings: Settings, flt: QueueFilter | None = None) -> None:
        self.settings = settings
        self.filter = flt if flt is not None else QueueFilter()
        self.clock = DayClock(settings.day_starts_at)
        self.extra_new = 0  # custom study: new cards beyond today's limit, for this queue only

    def window(self, now_ms: int) -> DueWindow:
        return DueWindow(
            now_ms=now_ms,
            tomorrow_ms=self.clock.next_day_start_ms(now_ms),
            today_ms=self.clock.today_start_ms(now_ms),
            ahead_ms=now_ms + self.settings.learn_ahead_minutes * 60_000,
            interday_ms=DAY_MS,
        )

    def next_card(self, store: Store, now_ms: int) -> StoredCard | None:
        with store.snapshot():
            left = limits_left(store, self.settings, self.clock, now_ms, self.extra_new)
            window = self.window(now_ms)
            plan: list[tuple[QueueName, bool]] = [
                ("learning", True),
                ("review", bool(left.review)),
                ("new", bool(left.new)),
                ("ahead", True),  # nothing else to do: learning cards due within the learn-ahead limit
            ]
            for queue, allowed in plan:
                if allowed and (card := store.queue_head(queue, self.filter, window)):
                    return card
        return None

    def counts(self, store: Store, now_ms: int, limited: bool = True, learn_ahead: bool = False) -> QueueCounts:
        """Cards left to study now; `limited=False` ignores the daily limits (what is due);
        `learn_ahead=True` counts the learning cards due within the learn-ahead limit too (what a
        session will still show, as Anki's header counts them)."""
        with store.snapshot():
            left = limits_left(store, self.settings, self.clock, now_ms, self.extra_new) if limited else DailyLimits(None, None)
            window = self.window(now_ms)
            return QueueCounts(
                new=store.queue_size("new", self.filter, window, limit=left.new),
                learning=store.queue_size("ahead" if learn_ahead else "learning", self.filter, window),
                review=store.queue_size("review", self.filter, window, limit=left.review),
            )

    def next_learning_due_ms(self, store: Store, now_ms: int) -> int | None:
        """When the next learning card comes due (for "come back in 12 minutes")."""
        return store.next_learning_due_ms(self.filter, now_ms)
