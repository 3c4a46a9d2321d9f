"""A synthetic user for `llmq plan`: a bank of cards in a few topics (some of them code exercises)
and a history of daily study drawn with llmq's own scheduler, written to a progress database.

Each day the user studies at 10:00 local time (UTC here): the cards that are due, then a few new
ones, each learning step on the same day. A review is recalled with the card's FSRS
retrievability at that moment (answered Good), else forgotten (Again). Durations are drawn
around a set pace, so the plan can measure minutes per card. Everything is seeded.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import fsrs

from llmq.srs.daytime import DAY_MS
from llmq.srs.scheduler import Rating, Scheduler, _to_fsrs
from llmq.srs.settings import Settings
from llmq.store import NEW, CardState, Store
from llmq.store import reviews as review_log

STUDY_HOUR = 10


@dataclass(frozen=True)
class FakeCard:
    id: str
    topic: str
    kind: str


def make_bank(topics: dict[str, tuple[int, int]]) -> list[FakeCard]:
    """{topic: (flashcards, code exercises)} -> cards with ids topic.cN and topic.xN."""
    bank = []
    for topic, (cards, code) in topics.items():
        bank += [FakeCard(f"{topic}.c{i}", topic, "flashcard") for i in range(cards)]
        bank += [FakeCard(f"{topic}.x{i}", topic, "code") for i in range(code)]
    return bank


def day_ms(day: date, hour: int = STUDY_HOUR) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


def recall_probability(settings: Settings, kind: str, key: int, state: CardState, at_ms: int) -> float:
    """FSRS's retrievability of the card at `at_ms` (1 for a same-day step, 0 for a new card)."""
    weights = settings.code_parameters if kind == "code" else settings.parameters
    scheduler = fsrs.Scheduler(parameters=weights, enable_fuzzing=False)
    if state.state == NEW:
        return 0.0
    return float(scheduler.get_card_retrievability(_to_fsrs(key, state, at_ms), datetime.fromtimestamp(at_ms / 1000, UTC)))


def study(
    store: Store,
    bank: list[FakeCard],
    *,
    first_day: date,
    days: int,
    new_per_day: int,
    seed: int = 0,
    stop_new_after: int | None = None,
    seconds: tuple[float, float] = (12.0, 600.0),
) -> None:
    """`days` days of study from `first_day`: due cards, then up to `new_per_day` new ones (in bank
    order) until `stop_new_after` cards have been started. `seconds`: the mean time per card and
    per code exercise. Logged in one transaction, as the app would have logged each answer."""
    rng = random.Random(seed)
    store.sync_bank(bank)
    settings = Settings()
    scheduler = Scheduler(settings)
    config = store.config_id(settings.scheduler_config())
    session = uuid.uuid4().hex
    cards = {c.qid: c for c in store.all_cards()}
    kinds = {c.id: c.kind for c in bank}
    states = {qid: c.state for qid, c in cards.items()}
    started = 0
    with store._writing() as conn:  # private: bulk synthetic history, far faster than one transaction per answer
        for d in range(days):
            day = first_day + timedelta(days=d)
            at = day_ms(day)
            end = at + DAY_MS // 2
            todo = [q for q in states if states[q].state != NEW and states[q].due_ms < end]
            room = new_per_day if stop_new_after is None else max(0, min(new_per_day, stop_new_after - started))
            fresh = [c.id for c in bank if states[c.id].state == NEW][:room]
            started += len(fresh)
            queue = sorted(todo) + fresh
            while queue:
                qid = queue.pop(0)
                state = states[qid]
                at = max(at, state.due_ms if state.state != NEW else at)
                r = recall_probability(settings, kinds[qid], cards[qid].key, state, at)
                rating = Rating.Good if (state.state == NEW or rng.random() < r) else Rating.Again
                outcome = scheduler.outcomes(cards[qid].key, state, at, kinds[qid])[rating]
                mean = seconds[1] if kinds[qid] == "code" else seconds[0]
                spent = int(rng.uniform(0.5, 1.5) * mean * 1000)
                review_log.append(
                    conn,
                    card=cards[qid].key,
                    kind="review",
                    rating=int(rating),
                    at_ms=at,
                    duration_ms=spent,
                    before=state,
                    after=outcome.after,
                    config=config,
                    session=session,
                )
                states[qid] = outcome.after
                at += spent
                if outcome.after.due_ms < end:  # a learning or relearning step: again today
                    queue.append(qid)
