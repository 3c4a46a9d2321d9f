"""The progress figures' reads: reviews per time bucket, answers to review cards, a light summary
of every card in the bank, code exercises attempted and solved.

Only the SQL lives here; llmq.srs.stats turns these records into days, retention and mastery.
Reviews of cards that left the bank are not counted.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from llmq.store.cards import REVIEW

# NOT IN over the (few) absent cards is cheaper than joining every log row with its card.
STANDING_REVIEWS = "kind = 'review' AND undone_ms IS NULL AND card NOT IN (SELECT key FROM cards WHERE present = 0)"


@dataclass(frozen=True)
class ReviewBucket:
    """Reviews whose time falls in [start_ms, start_ms + bucket length)."""

    start_ms: int
    reviews: int
    duration_ms: int


@dataclass(frozen=True)
class AnswerCounts:
    """Answers to cards in the review state, and how many of them were not Again."""

    reviews: int
    passed: int


@dataclass(frozen=True)
class CardSummary:
    """What the figures need of one card in the bank."""

    topic: str
    state: int
    stability: float | None
    due_ms: int
    last_review_ms: int | None
    suspended: bool


@dataclass(frozen=True)
class CodeProgress:
    """Code exercises in the bank: how many, how many have a submission, how many one that passed."""

    exercises: int
    attempted: int
    solved: int


def reviews_by_bucket(conn: sqlite3.Connection, bucket_ms: int) -> list[ReviewBucket]:
    """Reviews and their total duration per time bucket, oldest first, over the whole history."""
    rows = conn.execute(
        f"SELECT at_ms / {int(bucket_ms)} AS b, count(*), sum(duration_ms) FROM review_log "
        f"WHERE {STANDING_REVIEWS} GROUP BY b ORDER BY b"
    )
    return [ReviewBucket(int(b) * bucket_ms, int(n), int(ms)) for b, n, ms in rows]


def review_answers_since(conn: sqlite3.Connection, since_ms: int) -> AnswerCounts:
    total, passed = conn.execute(
        f"SELECT count(*), coalesce(sum(rating > 1), 0) FROM review_log WHERE {STANDING_REVIEWS} "
        f"AND state_before = {REVIEW} AND at_ms >= ?",
        (since_ms,),
    ).fetchone()
    return AnswerCounts(int(total), int(passed))


def card_summaries(conn: sqlite3.Connection) -> list[CardSummary]:
    rows = conn.execute("SELECT topic, state, stability, due_ms, last_review_ms, suspended FROM cards WHERE present = 1")
    return [
        CardSummary(topic, state, stability, due, last, bool(suspended)) for topic, state, stability, due, last, suspended in rows
    ]


def code_progress(conn: sqlite3.Connection) -> CodeProgress:
    total, attempted, solved = conn.execute(
        "SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM submissions s WHERE s.exercise = c.qid)), 0), "
        "coalesce(sum(EXISTS (SELECT 1 FROM submissions s WHERE s.exercise = c.qid AND s.status = 'pass')), 0) "
        "FROM cards c WHERE c.present = 1 AND c.kind = 'code'"
    ).fetchone()
    return CodeProgress(int(total), int(attempted), int(solved))
