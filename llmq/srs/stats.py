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
    due_now: int  # learning cards due now plus reviews due today (before daily limits)
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
        per_day = _daily_reviews(conn, clock, today - timedelta(days=HISTORY_DAYS - 1), HISTORY_DAYS)
        queue = Queue(settings, QueueFilter())
        counts = queue.counts(conn, now)
        states, topics, due_now, forecast = _cards(conn, settings, clock, now, today)
        today_row = conn.execute(
            "SELECT count(*), coalesce(sum(duration_ms), 0) FROM review_log r JOIN cards c ON c.key = r.card "
            "WHERE r.kind = 'review' AND r.undone_ms IS NULL AND c.present = 1 AND r.at_ms >= ?",
            (clock.start_ms(today),)).fetchone()
        return Stats(
            reviews_total=int(conn.execute(
                "SELECT count(*) FROM review_log r JOIN cards c ON c.key = r.card "
                "WHERE r.kind = 'review' AND r.undone_ms IS NULL AND c.present = 1").fetchone()[0]),
            cards_total=states["total"],
            due_now=due_now,
            streak_days=_streak(conn, clock, today, per_day),
            reviews_today=int(today_row[0]),
            time_today_s=round(today_row[1] / 1000, 1),
            queue={"new": counts.new, "learning": counts.learning, "review": counts.review},
            states=states,
            reviews_per_day=[{"date": d.isoformat(), "reviews": n} for d, n in per_day],
            retention=_retention(conn, clock, today, settings),
            forecast=forecast,
            topics=topics,
            code=_code(conn),
        )


def _daily_reviews(conn: sqlite3.Connection, clock: DayClock, first: date, days: int) -> list[tuple[date, int]]:
    """Reviews per study day, counted by bisecting the sorted review times at each day's start."""
    bounds = [clock.start_ms(first + timedelta(days=i)) for i in range(days + 1)]
    times = [t for (t,) in conn.execute(
        "SELECT r.at_ms FROM review_log r JOIN cards c ON c.key = r.card WHERE r.kind = 'review' "
        "AND r.undone_ms IS NULL AND c.present = 1 AND r.at_ms >= ? AND r.at_ms < ? ORDER BY r.at_ms",
        (bounds[0], bounds[-1]))]
    cuts = [bisect_left(times, b) for b in bounds]
    return [(first + timedelta(days=i), cuts[i + 1] - cuts[i]) for i in range(days)]


def _streak(conn: sqlite3.Connection, clock: DayClock, today: date, per_day: list[tuple[date, int]]) -> int:
    """Days in a row with reviews, up to today (today not counted against it until it is over)."""
    days = list(reversed(per_day))
    if days and days[0][1] == 0:
        days = days[1:]
    streak = 0
    while True:
        for _, n in days:
            if n == 0:
                return streak
            streak += 1
        if not days:
            return streak
        # a streak as long as the window: keep looking further back, a year at a time
        first = days[-1][0] - timedelta(days=HISTORY_DAYS)
        days = list(reversed(_daily_reviews(conn, clock, first, HISTORY_DAYS)))


def _retention(conn: sqlite3.Connection, clock: DayClock, today: date, settings: Settings) -> dict[str, Any]:
    """Anki's true retention: the share of review-state cards answered other than Again."""
    since = clock.start_ms(today - timedelta(days=RETENTION_DAYS - 1))
    total, passed = conn.execute(
        "SELECT count(*), coalesce(sum(r.rating > 1), 0) FROM review_log r JOIN cards c ON c.key = r.card "
        f"WHERE r.kind = 'review' AND r.undone_ms IS NULL AND c.present = 1 AND r.state_before = {REVIEW} "
        "AND r.at_ms >= ?", (since,)).fetchone()
    return {
        "days": RETENTION_DAYS,
        "reviews": int(total),
        "passed": int(passed),
        "true_retention": round(passed / total, 4) if total else None,
        "desired_retention": settings.desired_retention,
    }


def _cards(conn: sqlite3.Connection, settings: Settings, clock: DayClock, now: int, today: date
           ) -> tuple[dict[str, int], dict[str, TopicStats], int, list[dict[str, Any]]]:
    """One pass over the bank's cards: state counts, per-topic mastery, due now, the forecast."""
    decay = -settings.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    bounds = [clock.start_ms(today + timedelta(days=i + 1)) for i in range(FORECAST_DAYS)]
    forecast = [0] * FORECAST_DAYS
    names = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "learning"}
    states = {"new": 0, "learning": 0, "review": 0, "suspended": 0}
    topics: dict[str, dict[str, float]] = {}
    due_now = 0
    rows = conn.execute(
        "SELECT topic, state, stability, due_ms, last_review_ms, suspended, buried_until_ms FROM cards "
        "WHERE present = 1")
    for topic, state, stability, due, last, suspended, buried in rows:
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
        if buried <= now and (due <= now if state != REVIEW else due < bounds[0]):
            due_now += 1
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
    return states, topic_stats, due_now, days


def _code(conn: sqlite3.Connection) -> dict[str, int]:
    total, attempted, solved = conn.execute(
        "SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM submissions s WHERE s.exercise = c.qid)), 0), "
        "coalesce(sum(EXISTS (SELECT 1 FROM submissions s WHERE s.exercise = c.qid AND s.status = 'pass')), 0) "
        "FROM cards c WHERE c.present = 1 AND c.kind = 'code'").fetchone()
    return {"exercises": int(total), "attempted": int(attempted), "solved": int(solved)}
