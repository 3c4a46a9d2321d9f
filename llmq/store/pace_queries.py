"""Time spent per answer, for `llmq plan`'s minutes per card: standing reviews of the bank's cards
with a recorded duration, by code exercise or card and by first sight or later review.

Only the SQL lives here; llmq.srs.pace turns the sums into minutes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from llmq.store.cards import NEW


@dataclass(frozen=True)
class AnswerTimes:
    """Answers of one sort and their total duration, each capped (a card left open while the
    user was away would otherwise count as minutes of study)."""

    code: bool  # code exercises (else every other kind of card)
    first: bool  # the card's first answer (it was new)
    answers: int
    total_ms: int


def answer_times(conn: sqlite3.Connection, cap_ms: int, code_cap_ms: int) -> list[AnswerTimes]:
    rows = conn.execute(
        "SELECT c.kind = 'code' AS code, r.state_before = ? AS first, count(*), "
        "sum(min(r.duration_ms, CASE WHEN c.kind = 'code' THEN ? ELSE ? END)) "
        "FROM review_log r JOIN cards c ON c.key = r.card "
        "WHERE r.kind = 'review' AND r.undone_ms IS NULL AND c.present = 1 AND r.duration_ms > 0 GROUP BY code, first",
        (NEW, code_cap_ms, cap_ms),
    )
    return [AnswerTimes(bool(code), bool(first), int(n), int(total)) for code, first, n, total in rows]
