"""The study queue's reads: how many cards a queue holds, its first card, when the next learning
card is due, and the reviews done since a time.

Only the SQL lives here. Which queues come first and how the daily limits are counted is the
scheduler's business (llmq.srs.queue); it passes the times that decide what is due.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from llmq.store.cards import CARD_COLUMNS, LEARNING, NEW, RELEARNING, REVIEW, StoredCard, card_from_row

# learning: learning cards due now; review: reviews due today; new: never answered (those a failed
# check made due, whose due_ms is set, first); ahead: learning cards due within the learn-ahead
# limit (shown when nothing else is left).
QueueName = Literal["learning", "review", "new", "ahead"]


@dataclass(frozen=True)
class QueueFilter:
    """Optionally only one topic or one kind of question."""

    topic: str | None = None
    kind: str | None = None


@dataclass(frozen=True, kw_only=True)
class DueWindow:
    """The times that decide which cards are due when the queue is read."""

    now_ms: int
    tomorrow_ms: int  # the next study day starts: reviews due before it are due today
    ahead_ms: int  # learning cards due by then may be shown early (learn ahead)
    interday_ms: int  # a learning step at least this long is due, like a review, for its whole day
    today_ms: int = 0  # the study day started: new cards met since then share out the topics' turns


@dataclass(frozen=True)
class QueueCounts:
    """The three numbers Anki shows above the card: new, learning, review still to do today."""

    new: int
    learning: int
    review: int


@dataclass(frozen=True)
class ReviewsDone:
    """Answers (not undone) since a time, by the state the card was in."""

    new: int  # cards answered for the first time
    review: int  # answers to cards in the review state
    total: int


def _visible(flt: QueueFilter, now_ms: int) -> tuple[str, list[object]]:
    """Visible cards: in the bank, not suspended, not buried, matching the filter."""
    where = "present = 1 AND suspended = 0 AND buried_until_ms <= ?"
    args: list[object] = [now_ms]
    if flt.topic is not None:
        where += " AND topic = ?"
        args.append(flt.topic)
    if flt.kind is not None:
        where += " AND kind = ?"
        args.append(flt.kind)
    return where, args


def _condition(queue: QueueName, w: DueWindow) -> tuple[str, list[object], str]:
    """(condition, its arguments, order) of one queue."""
    # Due by the minute; but a step of a day or more (interday learning) is due, like a review,
    # for the whole of its day. (The plain `due_ms < ?` lets SQLite use the (state, due_ms) index.)
    learning = (
        f"state IN ({LEARNING}, {RELEARNING}) AND due_ms < ? AND (due_ms <= ? OR due_ms - last_review_ms >= {int(w.interday_ms)})"
    )
    match queue:
        case "learning":
            return learning, [w.tomorrow_ms, w.now_ms], "due_ms"
        case "review":
            return f"state = {REVIEW} AND due_ms < ?", [w.tomorrow_ms], "due_ms, position"
        case "new":
            return f"state = {NEW}", [], "due_ms = 0, due_ms, position"
        case "ahead":
            return learning, [max(w.tomorrow_ms, w.ahead_ms + 1), w.ahead_ms], "due_ms"
    raise ValueError(f"unknown queue {queue!r}")


def first_card(conn: sqlite3.Connection, queue: QueueName, flt: QueueFilter, w: DueWindow) -> StoredCard | None:
    cond, args, order = _condition(queue, w)
    where, fargs = _visible(flt, w.now_ms)
    if queue == "new" and flt.topic is None:
        # Across topics, new cards take turns: each topic's first, then each topic's second, ...
        # (in bank order within a topic), instead of one topic drained before the next. A topic's
        # turn counts the new cards it has already had today, so the turns go on across sessions.
        row = conn.execute(
            f"WITH met AS (SELECT c.topic AS topic, count(*) AS n FROM review_log r JOIN cards c "
            f"ON c.key = r.card WHERE r.kind = 'review' AND r.undone_ms IS NULL AND r.at_ms >= ? "
            f"AND r.state_before = {NEW} GROUP BY c.topic) "
            f"SELECT {CARD_COLUMNS} FROM (SELECT cards.*, row_number() OVER (PARTITION BY cards.topic "
            f"ORDER BY position) + coalesce((SELECT n FROM met WHERE met.topic = cards.topic), 0) AS turn "
            f"FROM cards WHERE {cond} AND {where}) ORDER BY due_ms = 0, due_ms, turn, position LIMIT 1",
            [w.today_ms, *args, *fargs],
        ).fetchone()
    else:
        row = conn.execute(
            f"SELECT {CARD_COLUMNS} FROM cards WHERE {cond} AND {where} ORDER BY {order} LIMIT 1",
            [*args, *fargs],
        ).fetchone()
    return card_from_row(row) if row else None


def count_cards(conn: sqlite3.Connection, queue: QueueName, flt: QueueFilter, w: DueWindow, limit: int | None = None) -> int:
    cond, args, _ = _condition(queue, w)
    where, fargs = _visible(flt, w.now_ms)
    # The LIMIT stops counting at what the daily limit lets through anyway.
    lim = f"LIMIT {int(limit)}" if limit is not None else ""
    return int(
        conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM cards WHERE {cond} AND {where} {lim})",
            [*args, *fargs],
        ).fetchone()[0]
    )


def next_learning_due_ms(conn: sqlite3.Connection, flt: QueueFilter, now_ms: int) -> int | None:
    where, fargs = _visible(flt, now_ms)
    row = conn.execute(
        f"SELECT min(due_ms) FROM cards WHERE state IN ({LEARNING}, {RELEARNING}) AND {where}",
        fargs,
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def reviews_done_since(conn: sqlite3.Connection, since_ms: int) -> ReviewsDone:
    rows = dict(
        conn.execute(
            "SELECT state_before, count(*) FROM review_log WHERE kind = 'review' AND undone_ms IS NULL "
            "AND at_ms >= ? GROUP BY state_before",
            (since_ms,),
        )
    )
    return ReviewsDone(new=rows.get(NEW, 0), review=rows.get(REVIEW, 0), total=sum(rows.values()))
