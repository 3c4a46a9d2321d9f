"""A review history drawn from known FSRS-6 weights, for testing and timing `llmq optimize`.

The `fsrs` package's scheduler, run with the known weights, says when each card is due; the
learner comes back on the due day or a few days late, and recalls with the probability that the
known weights give at that moment (then Hard, Good or Easy in Anki-like proportions); otherwise
answers Again. Learning steps give same-day reviews, as in real use. Everything is seeded.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import fsrs

from llmq.store import CardState, Store
from llmq.store import reviews as review_log

# Weights a learner might have: faster forgetting of new cards answered Again/Hard, slower of
# Easy ones, a flatter forgetting curve (w20) and bigger gains on success (w8) than the defaults.
TRUE_WEIGHTS: tuple[float, ...] = (
    0.6, 2.5, 6.0, 20.0,
    6.4133, 0.8334, 3.0194, 0.001,
    1.3, 0.1666, 0.796, 2.0, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729,
    0.5425, 0.0912, 0.0658, 0.35,
)  # fmt: skip

START = datetime(2026, 1, 5, 10, tzinfo=UTC)  # 10:00 UTC: learning steps never cross the 4 AM day start


@dataclass(frozen=True)
class SimReview:
    card: int  # 0-based card number
    at: datetime
    rating: int


def simulate(n_reviews: int, weights: tuple[float, ...] = TRUE_WEIGHTS, seed: int = 0, span_days: int = 365) -> list[SimReview]:
    """About `n_reviews` reviews of new cards introduced over `span_days`, each reviewed until the
    span ends. Returns them sorted by time."""
    rng = random.Random(seed)
    scheduler = fsrs.Scheduler(parameters=weights, desired_retention=0.85, enable_fuzzing=False)
    end = START + timedelta(days=span_days)
    out: list[SimReview] = []
    card = 0
    while len(out) < n_reviews:
        c = fsrs.Card(card_id=card + 1, due=START)
        now = START + timedelta(days=rng.randrange(0, span_days * 3 // 4))
        first = True
        while now < end:
            if first:
                rating = rng.choices((1, 2, 3, 4), (0.2, 0.15, 0.5, 0.15))[0]
                first = False
            elif rng.random() < scheduler.get_card_retrievability(c, now):
                rating = rng.choices((2, 3, 4), (0.15, 0.75, 0.10))[0]
            else:
                rating = 1
            c, _ = scheduler.review_card(c, fsrs.Rating(rating), review_datetime=now)
            out.append(SimReview(card, now, rating))
            wait = c.due - now
            if wait >= timedelta(days=1):  # a review: back anywhere from a little early to much later
                wait = timedelta(days=max(1, round(wait.days * rng.uniform(0.7, 2.5))))
            now += wait
        card += 1
    out.sort(key=lambda r: r.at)
    return out[:n_reviews]


@dataclass(frozen=True)
class _Card:
    id: str
    topic: str
    kind: str


def write_history(store: Store, history: list[SimReview], kind: str = "flashcard", prefix: str = "sim") -> None:
    """Log `history` as answered reviews of cards of `kind` (ids `prefix.cN`), in one transaction.
    The optimizer reads only the log's times and ratings, so the card states logged are placeholders."""
    cards = sorted({r.card for r in history})
    existing = [_Card(c.qid, c.topic, c.kind) for c in store.all_cards() if c.present]
    store.sync_bank(existing + [_Card(f"{prefix}.c{n}", prefix, kind) for n in cards])
    keys = {c.qid: c.key for c in store.all_cards()}
    config = store.config_id("{}")
    session = uuid.uuid4().hex
    with store._writing() as conn:  # private: bulk synthetic history, far faster than answering each card
        for r in history:
            review_log.append(
                conn,
                card=keys[f"{prefix}.c{r.card}"],
                kind="review",
                rating=r.rating,
                at_ms=int(r.at.timestamp() * 1000),
                duration_ms=5000,
                before=CardState(),
                after=CardState(),
                config=config,
                session=session,
            )
