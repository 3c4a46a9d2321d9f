"""Readiness for an interview on a given date (`llmq plan`, the stats screen's readiness section).

Per topic and overall: the expected share of cards recalled on the date if the user keeps to the
schedule (the reviews of the cards already studied, when due; cards never studied count as not
recalled), and what a daily plan within the minutes given raises it to. The recall figures are
FSRS's retrievability on the date (llmq.srs.forecast); the minutes come from the user's own pace
(llmq.srs.pace).

The plan, day by day until the date: the reviews the schedule holds (always kept), then new cards
spread evenly over the days left, while the day's minutes allow (cards before code exercises, as
they cost far less per card; the topic that stands lowest goes first), as long as the reviews they
bring later still fit each later day. A plan's day lists the code exercises to redo (studied ones that come due) and the new
ones to attempt. Suspended cards are left out.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from llmq.srs.daytime import DayClock
from llmq.srs.forecast import NewCardOutlook, Span, card_outlook, is_new, new_card_outlook
from llmq.srs.pace import Pace, measure_pace
from llmq.srs.scheduler import fsrs_schedulers
from llmq.srs.settings import load_settings
from llmq.store import BankCard, Store, StoredCard, now_ms

_FIT = 1e-9  # minutes: rounding room when a day's load is compared with its budget
MAX_DAYS = 3 * 365  # a date further ahead is refused: the forecast's work grows with the days
MAX_MINUTES = 24 * 60


class PlanInputError(ValueError):
    """A date in the past, or minutes per day that are not a positive number."""


@dataclass(frozen=True, kw_only=True)
class TopicReadiness:
    topic: str
    cards: int  # not suspended
    studied: int
    expected_recall: float  # on the date, keeping to the schedule
    with_plan: float  # on the date, following the plan
    new_planned: int  # new cards and exercises the plan starts in this topic


@dataclass(frozen=True, kw_only=True)
class PlanDay:
    date: str  # ISO date of the study day
    new: int  # new cards (not code) to start
    reviews: int  # card reviews expected (learning steps included; code exercises not)
    exercises: int  # code exercises: redo the due ones, attempt the new ones (listed in exercise_ids)
    minutes: float  # expected minutes: reviews, new cards, exercises
    exercise_ids: list[str] = field(default_factory=list)  # to redo (studied, due that day), then new ones
    new_exercise_ids: list[str] = field(default_factory=list)  # those of exercise_ids attempted for the first time


@dataclass(frozen=True, kw_only=True)
class PlanWarning:
    """`kind`: "too_close" (`count` cards and exercises would still be new on the date; with
    `minutes` a day the plan would start them all, 0: not even with a whole day), "over_budget" (on `count` days the reviews due alone
    take more than the minutes given), "new_limit" (the plan starts up to `count` new cards a day,
    more than the daily limit `limit` in the settings lets through), "no_days" (the date is today)."""

    kind: str
    count: int = 0
    minutes: float = 0.0
    limit: int = 0


@dataclass(frozen=True, kw_only=True)
class Plan:
    date: str
    days: int  # study days before the date (0: the date is today)
    minutes_per_day: float
    overall: float  # expected share recalled on the date, keeping to the schedule
    overall_with_plan: float
    topics: list[TopicReadiness]
    daily: list[PlanDay]
    redo: list[str]  # code exercises that come due before the date, soonest first
    warnings: list[PlanWarning]
    pace: Pace

    def to_dict(self) -> dict[str, Any]:
        """The `llmq plan --json` object (CONTRACTS.md), with a few more fields."""
        return asdict(self)


@dataclass
class _Topic:
    cards: int = 0
    studied: int = 0
    recall: float = 0.0  # summed expected recall, keeping to the schedule
    added: float = 0.0  # summed expected recall of the cards the plan starts
    new_planned: int = 0
    new_cards: list[str] = field(default_factory=list)  # not yet studied, in bank order
    new_code: list[str] = field(default_factory=list)

    def share(self) -> float:
        return (self.recall + self.added) / self.cards if self.cards else 1.0


@dataclass
class _Days:
    """The plan's days as it is made (index = day)."""

    load: list[float]  # expected minutes
    card_reviews: list[float]  # expected reviews of cards (not code); a first sight counts as new
    new: list[int]  # new cards started
    exercise_ids: list[list[str]]  # exercises to redo (due that day) or to attempt

    @classmethod
    def empty(cls, days: int) -> _Days:
        return cls([0.0] * days, [0.0] * days, [0] * days, [[] for _ in range(days)])


def compute_plan(
    store: Store,
    target: date,
    minutes_per_day: float,
    bank: Iterable[BankCard] | None = None,
    *,
    at_ms: int | None = None,
    clock: DayClock | None = None,
) -> Plan:
    """The plan for an interview on `target` with `minutes_per_day` of study a day, over the cards
    of the current bank (`bank`; None: the bank last synced). Raises PlanInputError for a date in
    the past or more than MAX_DAYS ahead, or minutes that are not positive or more than a day's."""
    if not 0 < minutes_per_day <= MAX_MINUTES:
        raise PlanInputError(f"minutes per day must be more than 0 and at most {MAX_MINUTES}, not {minutes_per_day}")
    if bank is not None:
        store.sync_bank(bank)
    settings = load_settings(store)
    now = now_ms() if at_ms is None else at_ms
    clock = clock or DayClock(settings.day_starts_at)
    today = clock.day_of(now)
    days = (target - today).days
    if not 0 <= days <= MAX_DAYS:
        raise PlanInputError(f"{target.isoformat()} is not between today ({today.isoformat()}) and {MAX_DAYS} days from it")
    span = Span(now_ms=now, day0_ms=clock.start_ms(today), days=days)
    with store.snapshot():
        cards = sorted((c for c in store.all_cards() if c.present and not c.state.suspended), key=lambda c: c.position)
        pace = measure_pace(store)
    schedulers = fsrs_schedulers(settings)

    topics: dict[str, _Topic] = {}
    for c in cards:
        t = topics.setdefault(c.topic, _Topic())
        t.cards += 1
        if is_new(c.state):
            (t.new_code if c.kind == "code" else t.new_cards).append(c.qid)
    plan_days = _Days.empty(days)
    redo = _forecast_studied(cards, topics, plan_days, span, schedulers, pace)
    over_budget = sum(1 for x in plan_days.load if x > minutes_per_day + _FIT)
    # A new card's forecast depends only on how many days it has before the date: one per weights.
    outlooks = {code: new_card_outlook(schedulers[code], span) for code in (False, True)}
    before = copy.deepcopy((topics, plan_days))  # for the warning's minutes, planned again
    _plan_new_cards(topics, plan_days, minutes_per_day, pace, outlooks)

    warnings: list[PlanWarning] = []
    if days == 0:
        warnings.append(PlanWarning(kind="no_days"))
    left = sum(len(t.new_cards) + len(t.new_code) for t in topics.values())
    if left and days:
        warnings.append(
            PlanWarning(kind="too_close", count=left, minutes=_minutes_for_all(*before, minutes_per_day, pace, outlooks))
        )
    if over_budget:
        warnings.append(PlanWarning(kind="over_budget", count=over_budget))
    if days and max(plan_days.new) > settings.new_per_day:
        warnings.append(PlanWarning(kind="new_limit", count=max(plan_days.new), limit=settings.new_per_day))

    total = sum(t.cards for t in topics.values())
    first_attempts = {c.qid for c in cards if c.kind == "code" and is_new(c.state)}
    return Plan(
        date=target.isoformat(),
        days=days,
        minutes_per_day=minutes_per_day,
        overall=round(sum(t.recall for t in topics.values()) / total, 4) if total else 0.0,
        overall_with_plan=round(sum(t.recall + t.added for t in topics.values()) / total, 4) if total else 0.0,
        topics=[
            TopicReadiness(
                topic=name,
                cards=t.cards,
                studied=t.studied,
                expected_recall=round(t.recall / t.cards, 4) if t.cards else 0.0,
                with_plan=round((t.recall + t.added) / t.cards, 4) if t.cards else 0.0,
                new_planned=t.new_planned,
            )
            for name, t in topics.items()
        ],
        daily=[
            PlanDay(
                date=(today + timedelta(days=d)).isoformat(),
                new=plan_days.new[d],
                reviews=round(plan_days.card_reviews[d]),
                exercises=len(plan_days.exercise_ids[d]),
                minutes=round(plan_days.load[d], 1),
                exercise_ids=plan_days.exercise_ids[d],
                new_exercise_ids=[x for x in plan_days.exercise_ids[d] if x in first_attempts],
            )
            for d in range(days)
        ],
        redo=redo,
        warnings=warnings,
        pace=pace,
    )


def _forecast_studied(
    cards: list[StoredCard], topics: dict[str, _Topic], plan_days: _Days, span: Span, schedulers: tuple[Any, Any], pace: Pace
) -> list[str]:
    """Each studied card's forecast: its expected recall into its topic, its expected reviews into
    the days; an exercise is listed on the day it comes due. Returns the exercises due before the
    date, soonest first."""
    redo: list[tuple[int, str]] = []
    for c in cards:
        if is_new(c.state):
            continue
        code = c.kind == "code"
        t = topics[c.topic]
        t.studied += 1
        outlook = card_outlook(schedulers[code], c.key, c.state, span)
        t.recall += outlook.recall
        minutes = pace.review_minutes(code)
        for d, n in enumerate(outlook.reviews):
            plan_days.load[d] += n * minutes
            if not code:
                plan_days.card_reviews[d] += n
        first = max(0, span.day(c.state.due_ms))
        if code and first < span.days:
            plan_days.exercise_ids[first].append(c.qid)
            redo.append((c.state.due_ms, c.qid))
    return [qid for _due, qid in sorted(redo)]


def _plan_new_cards(
    topics: dict[str, _Topic], plan_days: _Days, minutes_per_day: float, pace: Pace, outlooks: dict[bool, NewCardOutlook]
) -> None:
    """Fill each day's remaining minutes with new cards, then new code exercises (see the module's
    docstring). Updates the days in place and each topic's `added` recall."""
    days = len(plan_days.load)
    # minutes a card started on some day costs k days later, and its card reviews then
    costs = {code: [_cost(k, n, code, pace) for k, n in enumerate(o.reviews)] for code, o in outlooks.items()}
    reviews = [n - (1 if k == 0 else 0) for k, n in enumerate(outlooks[False].reviews)]  # the first sight counts as new
    for d in range(days):
        for code in (False, True):
            outlook, cost = outlooks[code], costs[code]
            # Spread evenly over the days left: starting them all on the first days would pile
            # their reviews onto the same later days.
            left = sum(len(t.new_code if code else t.new_cards) for t in topics.values())
            for _ in range(-(-left // (days - d))):
                waiting = [t for t in topics.values() if (t.new_code if code else t.new_cards)]
                if not waiting or not _fits(d, cost, minutes_per_day, plan_days.load):
                    break
                topic = min(waiting, key=_Topic.share)  # the topic that stands lowest goes first
                qid = (topic.new_code if code else topic.new_cards).pop(0)
                topic.added += outlook.recall[days - d]
                topic.new_planned += 1
                for k in range(days - d):
                    plan_days.load[d + k] += cost[k]
                    if not code:
                        plan_days.card_reviews[d + k] += reviews[k]
                if code:
                    plan_days.exercise_ids[d].append(qid)
                else:
                    plan_days.new[d] += 1


def _cost(k: int, reviews: float, code: bool, pace: Pace) -> float:
    """Minutes a card started on some day costs k days later (k = 0: its first sight and steps)."""
    if k == 0:
        return pace.first_minutes(code) + (reviews - 1) * pace.review_minutes(code)
    return reviews * pace.review_minutes(code)


def _fits(d: int, cost: list[float], budget: float, load: list[float]) -> bool:
    """Whether a card started on day d (costing `cost[k]` minutes k days later) fits that day's
    minutes and keeps every later day that is within its minutes within them."""
    limit = budget + _FIT
    if load[d] + cost[0] > limit:
        return False
    return all(load[d + k] + cost[k] <= limit or load[d + k] > limit for k in range(1, len(load) - d))


def _minutes_for_all(
    topics: dict[str, _Topic], plan_days: _Days, given: float, pace: Pace, outlooks: dict[bool, NewCardOutlook]
) -> float:
    """Whole minutes a day, within 5% of the fewest, with which the plan starts every card by the
    date (found by planning again from `topics` and `plan_days` as they were before the new cards:
    doubling, then halving the gap), or 0 when not even a whole day's minutes would."""

    def leaves_new(minutes: float) -> bool:
        left, days = copy.deepcopy((topics, plan_days))
        _plan_new_cards(left, days, minutes, pace, outlooks)
        return any(t.new_cards or t.new_code for t in left.values())

    low, high = math.floor(given), max(1, math.ceil(given)) * 2
    while leaves_new(high):
        if high >= MAX_MINUTES:
            return 0.0
        low, high = high, min(high * 2, MAX_MINUTES)
    while high - low > max(1, high // 20):  # to 5%: the figure is an estimate of expectations
        middle = (low + high) // 2
        low, high = (middle, high) if leaves_new(middle) else (low, middle)
    return float(high)
