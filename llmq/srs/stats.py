"""Progress figures for `llmq stats` and the stats screen: totals, today, a year of daily reviews,
true retention, the due forecast, per-topic mastery, code exercises, the streak.

Every figure is a typed record; `Stats.to_dict()` is the `llmq stats --json` object.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from llmq.srs.daytime import DAY_MS, DayClock
from llmq.srs.queue import Queue, QueueFilter
from llmq.srs.settings import Settings, load_settings
from llmq.store import (
    LEARNING,
    NEW,
    RELEARNING,
    REVIEW,
    AnswerCounts,
    BankCard,
    CardSummary,
    CodeProgress,
    QueueCounts,
    ReviewBucket,
    Store,
    now_ms,
)

HISTORY_DAYS = 365
FORECAST_DAYS = 30
RETENTION_DAYS = 30
MATURE_DAYS = 21  # Anki calls a card mature from a 21-day interval
BUCKET_MS = 900_000  # every time zone's offset is a multiple of 15 minutes


@dataclass(frozen=True, kw_only=True)
class TopicStats:
    cards: int = 0
    new: int = 0
    learning: int = 0
    review: int = 0
    mature: int = 0
    suspended: int = 0
    mastery: float = 0.0  # mean predicted recall now over the topic's cards; a new card counts 0


@dataclass(frozen=True, kw_only=True)
class StateCounts:
    """The bank's cards by state (relearning counts as learning); suspended ones are counted in
    their state and again in `suspended`."""

    new: int = 0
    learning: int = 0
    review: int = 0
    suspended: int = 0
    total: int = 0  # new + learning + review


@dataclass(frozen=True)
class DayReviews:
    date: str  # ISO date of the study day
    reviews: int


@dataclass(frozen=True)
class DayDue:
    date: str  # ISO date of the study day
    due: int


@dataclass(frozen=True, kw_only=True)
class Retention:
    """Anki's true retention: the share of review-state cards answered other than Again."""

    days: int
    reviews: int
    passed: int
    true_retention: float | None  # None: no reviews in the period
    desired_retention: float


@dataclass(frozen=True, kw_only=True)
class Stats:
    reviews_total: int
    cards_total: int
    due_now: int  # learning cards due now plus reviews due today, not suspended or buried (before daily limits)
    streak_days: int
    reviews_today: int
    time_today_s: float
    queue: QueueCounts  # what a study session would show now, within the limits
    states: StateCounts
    reviews_per_day: list[DayReviews]  # HISTORY_DAYS entries, oldest first
    retention: Retention
    forecast: list[DayDue]  # FORECAST_DAYS entries from today
    topics: dict[str, TopicStats] = field(default_factory=dict)
    code: CodeProgress = field(default_factory=lambda: CodeProgress(0, 0, 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_stats(
    store: Store, bank: Iterable[BankCard] | None = None, *, at_ms: int | None = None, clock: DayClock | None = None
) -> Stats:
    """Stats over the cards of the current bank (`bank`; None: the bank last synced). Cards that
    left the bank keep their history but are not counted."""
    if bank is not None:
        store.sync_bank(bank)
    settings = load_settings(store)
    now = now_ms() if at_ms is None else at_ms
    clock = clock or DayClock(settings.day_starts_at)
    today = clock.day_of(now)
    with store.snapshot():
        days = _review_days(store.reviews_by_bucket(BUCKET_MS), clock)
        queue = Queue(settings, QueueFilter())
        counts = queue.counts(store, now)
        due = queue.counts(store, now, limited=False)
        states, topics, forecast = _cards(store.card_summaries(), settings, clock, now, today)
        since = clock.start_ms(today - timedelta(days=RETENTION_DAYS - 1))
        retention = _retention(store.review_answers_since(since), settings)
        code = store.code_progress()
    first = today - timedelta(days=HISTORY_DAYS - 1)
    return Stats(
        reviews_total=sum(n for n, _ in days.values()),
        cards_total=states.total,
        due_now=due.learning + due.review,
        streak_days=_streak(days, today),
        reviews_today=days.get(today, (0, 0))[0],
        time_today_s=round(days.get(today, (0, 0))[1] / 1000, 1),
        queue=counts,
        states=states,
        reviews_per_day=[
            DayReviews(d.isoformat(), days.get(d, (0, 0))[0]) for d in (first + timedelta(days=i) for i in range(HISTORY_DAYS))
        ],
        retention=retention,
        forecast=forecast,
        topics=topics,
        code=code,
    )


def _review_days(buckets: list[ReviewBucket], clock: DayClock) -> dict[date, tuple[int, int]]:
    """(reviews, total duration ms) per study day, over the whole history. The store counts by
    15-minute bucket; the buckets are then walked once against the local days' start times."""
    out: dict[date, tuple[int, int]] = {}
    if not buckets:
        return out
    day = clock.day_of(buckets[0].start_ms)
    end = clock.start_ms(day + timedelta(days=1))
    for b in buckets:
        if b.start_ms >= end:
            day = clock.day_of(b.start_ms)
            end = clock.start_ms(day + timedelta(days=1))
        count, total = out.get(day, (0, 0))
        out[day] = (count + b.reviews, total + b.duration_ms)
    return out


def _streak(days: dict[date, tuple[int, int]], today: date) -> int:
    """Days in a row with reviews, up to today (today not counted against it until it is over)."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def _retention(answers: AnswerCounts, settings: Settings) -> Retention:
    total, passed = answers.reviews, answers.passed
    return Retention(
        days=RETENTION_DAYS,
        reviews=total,
        passed=passed,
        true_retention=round(passed / total, 4) if total else None,
        desired_retention=settings.desired_retention,
    )


def _cards(
    cards: list[CardSummary], settings: Settings, clock: DayClock, now: int, today: date
) -> tuple[StateCounts, dict[str, TopicStats], list[DayDue]]:
    """One pass over the bank's cards: state counts, per-topic mastery, the due forecast."""
    decay = -settings.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    bounds = [clock.start_ms(today + timedelta(days=i + 1)) for i in range(FORECAST_DAYS)]
    forecast = [0] * FORECAST_DAYS
    names = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "learning"}
    states = {"new": 0, "learning": 0, "review": 0, "suspended": 0}
    topics: dict[str, dict[str, float]] = {}
    for c in cards:
        t = topics.setdefault(c.topic, dict.fromkeys(("cards", "new", "learning", "review", "mature", "suspended", "mastery"), 0))
        t["cards"] += 1
        name = names[c.state]
        t[name] += 1
        states[name] += 1
        if c.suspended:
            t["suspended"] += 1
            states["suspended"] += 1
        if c.state == NEW or c.stability is None or c.last_review_ms is None:
            continue
        if c.due_ms - c.last_review_ms >= MATURE_DAYS * DAY_MS and c.state == REVIEW:
            t["mature"] += 1
        elapsed_days = max(0, (now - c.last_review_ms) // DAY_MS)  # whole days, as fsrs counts them
        t["mastery"] += (1 + factor * elapsed_days / c.stability) ** decay
        if c.suspended:
            continue
        i = bisect_left(bounds, c.due_ms + 1)  # the day whose end is after the due time
        if i < FORECAST_DAYS:
            forecast[i] += 1
    state_counts = StateCounts(**states, total=states["new"] + states["learning"] + states["review"])
    topic_stats = {
        name: TopicStats(
            **{k: int(v) for k, v in t.items() if k != "mastery"},
            mastery=round(t["mastery"] / t["cards"], 4) if t["cards"] else 0.0,
        )
        for name, t in sorted(topics.items())
    }
    days = [DayDue((today + timedelta(days=i)).isoformat(), n) for i, n in enumerate(forecast)]
    return state_counts, topic_stats, days
