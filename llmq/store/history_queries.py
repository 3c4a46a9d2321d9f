"""The review history as the FSRS optimizer reads it: every standing review (undone rows left out)
and every reset ("forget", after which a card starts again from new), with the kind of its card.

Only the SQL lives here; llmq.srs.optimize turns these records into FSRS's training items.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class HistoryEvent:
    """One standing review or reset of a card."""

    card: int  # cards.key
    card_kind: str  # the bank's kind of the card: "flashcard", "code", ...
    kind: str  # "review" or "reset"
    rating: int | None  # 1-4 for a review, None for a reset
    at_ms: int


def optimizer_history(conn: sqlite3.Connection) -> list[HistoryEvent]:
    """Standing reviews and resets of every card (in the bank or not: the memory they show is the
    user's either way), by card, then in the order they happened."""
    rows = conn.execute(
        "SELECT l.card, c.kind, l.kind, l.rating, l.at_ms FROM review_log l JOIN cards c ON c.key = l.card "
        "WHERE l.undone_ms IS NULL AND l.kind IN ('review', 'reset') ORDER BY l.card, l.at_ms, l.id"
    )
    return [HistoryEvent(int(card), str(kind), str(event), rating, int(at)) for card, kind, event, rating, at in rows]


def review_counts_by_kind(conn: sqlite3.Connection) -> dict[str, int]:
    """Standing reviews per kind of card: {"flashcard": 812, "code": 40, ...}."""
    rows = conn.execute(
        "SELECT c.kind, count(*) FROM review_log l JOIN cards c ON c.key = l.card "
        "WHERE l.kind = 'review' AND l.undone_ms IS NULL GROUP BY c.kind"
    )
    return {str(kind): int(n) for kind, n in rows}
