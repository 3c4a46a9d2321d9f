"""Progress figures for `llmq stats` and the stats screen: totals, today, a year of daily reviews,
true retention, the due forecast, per-topic mastery, code exercises, the streak."""
from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from llmq.srs.daytime import DAY_MS, DayClock
from llmq.srs.queue import Queue, QueueFilter
from llmq.srs.settings import Settings, load_settings
from llmq.store import LEARNING, NEW, RELEARNING, REVIEW, BankCard, Store, now_ms

HISTORY_DAYS = 365
FORECAST_DAYS = 30
RETENTION_DAYS = 30
MATURE_DAYS = 21  # Anki calls a card mature from a 21-day interval


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
class Stats:
    reviews_total: int
    cards_total: int
    due_now: int  # learning cards due now plus reviews due today, not suspended or buried (before daily limits)
    streak_days: int
    reviews_today: int
    time_today_s: float
    queue: dict[str, int]  # what a study session would show now, within the limits
    states: dict[str, int]
    reviews_per_day: list[dict[str, Any]]  # HISTORY_DAYS entries, oldest first: {"date", "reviews"}
    retention: dict[str, Any]
    forecast: list[dict[str, Any]]  # FORECAST_DAYS entries from today: {"date", "due"}
    topics: dict[str, TopicStats] = field(default_factory=dict)
    code: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_stats(store: Store, bank: Iterable[BankCard] | None = None, *, at_ms: int | None = None,
                  clock: DayClock | None = None) -> Stats:
    """Stats over the cards of the current bank (`bank`; None: the bank last synced). Cards that
    left the bank keep their history but are not counted."""
    if bank is not None:
        store.sync_bank(bank)
    settings = load_settings(store)
    now = now_ms() if at_ms is None else at_ms
    clock = clock or DayClock(settings.day_starts_at)
    today = clock.day_of(now)
    with store.reading() as conn:
        days = _review_days(conn, clock, today)
        queue = Queue(settings, QueueFilter())
        counts = queue.counts(conn, now)
        due = queue.counts(conn, now, limited=False)
        states, topics, forecast = _cards(conn, settings, clock, now, today)
        first = today - timedelta(days=HISTORY_DAYS - 1)
        return Stats(
            reviews_total=sum(n for n, _ in days.values()),
            cards_total=states["total"],
            due_now=due.learning + due.review,
            streak_days=_streak(days, today),
            reviews_today=days.get(today, (0, 0))[0],
            time_today_s=round(days.get(today, (0, 0))[1] / 1000, 1),
            queue={"new": counts.new, "learning": counts.learning, "review": counts.review},
            states=states,
            reviews_per_day=[
                {"date": d.isoformat(), "reviews": days.get(d, (0, 0))[0]}
                for d in (first + timedelta(days=i) for i in range(HISTORY_DAYS))
            ],
            retention=_retention(conn, clock, today, settings),
            forecast=forecast,
            topics=topics,
            code=_code(conn),
        )


# Reviews of cards that left the bank are hidden. NOT IN over the (few) absent cards is cheaper
# than joining every log row with its card.
STANDING_REVIEWS = (
    "kind = 'review' AND undone_ms IS NULL AND card NOT IN (SELECT key FROM cards WHERE present = 0)"
)
BUCKET_MS = 900_000  # every time zone's offset is a multiple of 15 minutes


def _review_days(conn: sqlite3.Connection, clock: DayClock, today: date) -> dict[date, tuple[int, int]]:
    """(reviews, total duration ms) per study day, over the whole history. SQLite counts by
    15-minute bucket; the buckets are then walked once against the local days' start times."""
    rows = conn.execute(
        f"SELECT at_ms / {BUCKET_MS} AS b, count(*), sum(duration_ms) FROM review_log "
        f"WHERE {STANDING_REVIEWS} GROUP BY b ORDER BY b").fetchall()
    out: dict[date, tuple[int, int]] = {}
    if not rows:
        return out
    day = clock.day_of(rows[0][0] * BUCKET_MS)
    end = clock.start_ms(day + timedelta(days=1))
    for bucket, n, ms in rows:
        start = bucket * BUCKET_MS
        if start >= end:
            day = clock.day_of(start)
            end = clock.start_ms(day + timedelta(days=1))
        count, total = out.get(day, (0, 0))
        out[day] = (count + n, total + ms)
    return out


def _streak(days: dict[date, tuple[int, int]], today: date) -> int:
    """Days in a row with reviews, up to today (today not counted against it until it is over)."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def _retention(conn: sqlite3.Connection, clock: DayClock, today: date, settings: Settings) -> dict[str, Any]:
    """Anki's true retention: the share of review-state cards answered other than Again."""
    since = clock.start_ms(today - timedelta(days=RETENTION_DAYS - 1))
    total, passed = conn.execute(
        f"SELECT count(*), coalesce(sum(rating > 1), 0) FROM review_log WHERE {STANDING_REVIEWS} "
        f"AND state_before = {REVIEW} AND at_ms >= ?", (since,)).fetchone()
    return {
        "days": RETENTION_DAYS,
        "reviews": int(total),
        "passed": int(passed),
        "true_retention": round(passed / total, 4) if total else None,
        "desired_retention": settings.desired_retention,
    }


def _cards(conn: sqlite3.Connection, settings: Settings, clock: DayClock, now: int, today: date
           ) -> tuple[dict[str, int], dict[str, TopicStats], list[dict[str, Any]]]:
    """One pass over the bank's cards: state counts, per-topic mastery, the due forecast."""
    decay = -settings.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    bounds = [clock.start_ms(today + timedelta(days=i + 1)) for i in range(FORECAST_DAYS)]
    forecast = [0] * FORECAST_DAYS
    names = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "learning"}
    states = {"new": 0, "learning": 0, "review": 0, "suspended": 0}
    topics: dict[str, dict[str, float]] = {}
    rows = conn.execute(
        "SELECT topic, state, stability, due_ms, last_review_ms, suspended FROM cards WHERE present = 1")
    for topic, state, stability, due, last, suspended in rows:
        t = topics.setdefault(topic, dict.fromkeys(
            ("cards", "new", "learning", "review", "mature", "suspended", "mastery"), 0))
        t["cards"] += 1
        name = names[state]
        t[name] += 1
        states[name] += 1
        if suspended:
            t["suspended"] += 1
            states["suspended"] += 1
        if state == NEW or stability is None or last is None:
            continue
        if due - last >= MATURE_DAYS * DAY_MS and state == REVIEW:
            t["mature"] += 1
        elapsed_days = max(0, (now - last) // DAY_MS)  # whole days, as fsrs counts them
        t["mastery"] += (1 + factor * elapsed_days / stability) ** decay
        if suspended:
            continue
        i = bisect_left(bounds, due + 1)  # the day whose end is after `due`
        if i < FORECAST_DAYS:
            forecast[i] += 1
    states["total"] = sum(states[k] for k in ("new", "learning", "review"))
    topic_stats = {
        name: TopicStats(**{k: int(v) for k, v in t.items() if k != "mastery"},
                         mastery=round(t["mastery"] / t["cards"], 4) if t["cards"] else 0.0)
        for name, t in sorted(topics.items())
    }
    days = [{"date": (today + timedelta(days=i)).isoformat(), "due": n} for i, n in enumerate(forecast)]
    return states, topic_stats, days


def _code(conn: sqlite3.Connection) -> dict[str, int]:
    total, attempted, solved = conn.execute(
        "SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM submissions s WHERE s.exercise = c.qid)), 0), "
        "coalesce(sum(EXISTS (SELECT 1 FROM submissions s WHERE s.exercise = c.qid AND s.status = 'pass')), 0) "
        "FROM cards c WHERE c.present = 1 AND c.kind = 'code'").fetchone()
    return {"exercises": int(total), "attempted": int(attempted), "solved": int(solved)}
