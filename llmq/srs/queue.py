"""The study queue, in Anki's order: learning cards due now, then reviews due today, then new cards
in bank order, within the daily limits; optionally one topic or one kind."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from llmq.srs.daytime import DAY_MS, DayClock
from llmq.srs.settings import Settings
from llmq.store import LEARNING, NEW, RELEARNING, REVIEW, StoredCard
from llmq.store.cards import CARD_COLUMNS, card_from_row


@dataclass(frozen=True)
class QueueFilter:
    topic: str | None = None
    kind: str | None = None

    def sql(self) -> tuple[str, list[object]]:
        """Visible cards: in the bank, not suspended, not buried, matching the filter."""
        where = "present = 1 AND suspended = 0 AND buried_until_ms <= ?"
        args: list[object] = []
        if self.topic is not None:
            where += " AND topic = ?"
            args.append(self.topic)
        if self.kind is not None:
            where += " AND kind = ?"
            args.append(self.kind)
        return where, args


@dataclass(frozen=True)
class QueueCounts:
    """The three numbers Anki shows above the card: new, learning, review still to do today."""

    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass(frozen=True)
class DoneToday:
    new: int  # cards answered for the first time today
    review: int  # answers to cards in the review state today
    total: int


def done_today(conn: sqlite3.Connection, day_start_ms: int) -> DoneToday:
    rows = dict(conn.execute(
        "SELECT state_before, count(*) FROM review_log WHERE kind = 'review' AND undone_ms IS NULL "
        "AND at_ms >= ? GROUP BY state_before", (day_start_ms,)))
    return DoneToday(new=rows.get(NEW, 0), review=rows.get(REVIEW, 0), total=sum(rows.values()))


@dataclass(frozen=True)
class DailyLimits:
    """How many more new cards and reviews today's limits let through."""

    new: int | None  # None: no limit
    review: int | None


def limits_left(conn: sqlite3.Connection, settings: Settings, clock: DayClock, now_ms: int) -> DailyLimits:
    done = done_today(conn, clock.today_start_ms(now_ms))
    review_left = max(0, settings.reviews_per_day - done.review)
    # As in Anki's v3 scheduler, the review limit also caps new cards.
    new_left = max(0, min(settings.new_per_day - done.new, review_left))
    return DailyLimits(new=new_left, review=review_left)


class Queue:
    """Reads the next card and the counts straight from the database, so two windows agree."""

    def __init__(self, settings: Settings, flt: QueueFilter = QueueFilter()) -> None:
        self.settings = settings
        self.filter = flt
        self.clock = DayClock(settings.day_starts_at)

    def _first(self, conn: sqlite3.Connection, cond: str, order: str, args: list[object],
               now_ms: int) -> StoredCard | None:
        where, fargs = self.filter.sql()
        row = conn.execute(
            f"SELECT {CARD_COLUMNS} FROM cards WHERE {cond} AND {where} ORDER BY {order} LIMIT 1",
            [*args, now_ms, *fargs],
        ).fetchone()
        return card_from_row(row) if row else None

    def _count(self, conn: sqlite3.Connection, cond: str, args: list[object], now_ms: int,
               limit: int | None = None) -> int:
        where, fargs = self.filter.sql()
        # The LIMIT stops counting at what the daily limit lets through anyway.
        lim = f"LIMIT {limit}" if limit is not None else ""
        return int(conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM cards WHERE {cond} AND {where} {lim})",
            [*args, now_ms, *fargs],
        ).fetchone()[0])

    def _conditions(self, now_ms: int) -> dict[str, tuple[str, list[object]]]:
        tomorrow = self.clock.next_day_start_ms(now_ms)
        # Due by the minute; but a step of a day or more (interday learning) is due, like a
        # review, for the whole of its day.
        # (The plain `due_ms < ?` lets SQLite use the (state, due_ms) index for the range.)
        learning = (f"state IN ({LEARNING}, {RELEARNING}) AND due_ms < ? AND "
                    f"(due_ms <= ? OR due_ms - last_review_ms >= {DAY_MS})")
        ahead = now_ms + self.settings.learn_ahead_minutes * 60_000
        return {
            "learning": (learning, [tomorrow, now_ms]),
            "review": (f"state = {REVIEW} AND due_ms < ?", [tomorrow]),
            "new": (f"state = {NEW}", []),
            "ahead": (learning, [max(tomorrow, ahead + 1), ahead]),
        }

    def next_card(self, conn: sqlite3.Connection, now_ms: int) -> StoredCard | None:
        left = limits_left(conn, self.settings, self.clock, now_ms)
        c = self._conditions(now_ms)
        plan = [("learning", "due_ms", True), ("review", "due_ms, position", left.review > 0),
                ("new", "position", left.new > 0),
                # nothing else to do: learning cards due within the learn-ahead limit
                ("ahead", "due_ms", True)]
        for name, order, allowed in plan:
            if allowed and (card := self._first(conn, c[name][0], order, c[name][1], now_ms)):
                return card
        return None

    def counts(self, conn: sqlite3.Connection, now_ms: int, limited: bool = True) -> QueueCounts:
        """Cards left to study now; `limited=False` ignores the daily limits (what is due)."""
        left = limits_left(conn, self.settings, self.clock, now_ms) if limited else DailyLimits(None, None)
        c = self._conditions(now_ms)
        return QueueCounts(
            new=self._count(conn, *c["new"], now_ms, limit=left.new),
            learning=self._count(conn, *c["learning"], now_ms),
            review=self._count(conn, *c["review"], now_ms, limit=left.review),
        )

    def next_learning_due_ms(self, conn: sqlite3.Connection, now_ms: int) -> int | None:
        """When the next learning card comes due (for "come back in 12 minutes")."""
        where, fargs = self.filter.sql()
        row = conn.execute(
            f"SELECT min(due_ms) FROM cards WHERE state IN ({LEARNING}, {RELEARNING}) AND {where}",
            [now_ms, *fargs]).fetchone()
        return row[0] if row and row[0] is not None else None
