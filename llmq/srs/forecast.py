"""Expected recall on a future day, by FSRS: a card's retrievability on that day after the reviews
its schedule holds before then, averaged over how those reviews may go.

The forecast is FSRS's own model run forward, not a new one. Each review the schedule holds
before the day is a branch: recalled with the card's retrievability at that moment (answered
Good), else forgotten (answered Again, then relearned). Same-day steps (learning, relearning)
have a retrievability of 1 in FSRS, so they pass. The walk follows the `fsrs` package's
scheduler (without fuzz) branch by branch and sums, weighted by each branch's probability,
the retrievability on the day and the reviews done on each day before it. Where the forgotten
branch would be less likely than `PRUNE`, the review's outcome is drawn instead (recalled with
probability r, from a generator seeded by the card): the sum stays an unbiased estimate of the
expectation while the walk stays small, and the same card gives the same forecast every time
(tests/srs/test_plan.py compares the forecast with a simulation of the schedule).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import fsrs

from llmq.srs.daytime import DAY_MS
from llmq.srs.scheduler import _to_fsrs
from llmq.store import NEW, CardState

PRUNE = 1e-2  # a forgotten branch less likely than this is drawn, not followed
# A new card's forecast is computed once and stands for every new card the plan starts: followed
# further, so that one draw does not sway them all together.
NEW_CARD_PRUNE = 1e-3
# Into the study day (noon when it starts at 4 AM): when the date's recall is measured and a
# card the plan starts is first studied.
STUDY_HOUR_MS = 8 * 3_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Span:
    """The days of a forecast: day 0 is today (it starts at `day0_ms`); reviews happen before the
    date's study day starts, and recall is measured on that day at `STUDY_HOUR_MS` into it (the
    time of day at which a card first studied on a day of the plan is taken to be studied)."""

    now_ms: int
    day0_ms: int  # when study day 0 starts
    days: int  # the date is day `days`

    @property
    def end_ms(self) -> int:
        """The start of the date's study day: the plan's reviews happen before it."""
        return self.day0_ms + self.days * DAY_MS

    def moment(self, day: int) -> datetime:
        """The time recall is measured on day `day` (and new cards are first studied)."""
        return _utc(self.day0_ms + day * DAY_MS + STUDY_HOUR_MS)

    def day(self, ms: int) -> int:
        return (ms - self.day0_ms) // DAY_MS


@dataclass(frozen=True)
class Outlook:
    """One card's forecast: expected retrievability on the date and expected reviews on each
    day before it (index = day)."""

    recall: float
    reviews: list[float]


@dataclass(frozen=True)
class NewCardOutlook:
    """A card first studied on some day d, as a function of the days h from d to the date:
    `recall[h]` (h = 0..days) and `reviews[k]`, its expected reviews k days after d (k = 0 is
    the first sight and its learning steps)."""

    recall: list[float]
    reviews: list[float]


# (a state, its probability, when it was reached, when its next review is)
_State = tuple[fsrs.Card, float, int, int]


def _ms(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS


def _utc(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _walk(
    scheduler: fsrs.Scheduler,
    card: fsrs.Card,
    start_ms: int,
    span: Span,
    seed: int,
    prune: float = PRUNE,
    states: list[_State] | None = None,
) -> Outlook:
    """Follow `card` from `start_ms` (its first review: now, or when due) through every review
    before the date; see the module's docstring. `states` collects every state reached."""
    rng = random.Random(seed)
    reviews = [0.0] * span.days
    recall = 0.0
    target = span.moment(span.days)
    stack: list[tuple[fsrs.Card, float, int]] = [(card, 1.0, start_ms)]  # (card, probability, next review)
    while stack:
        c, p, at_ms = stack.pop()
        if states is not None and c.last_review is not None:
            states.append((c, p, _ms(c.last_review), at_ms))
        if at_ms >= span.end_ms:
            recall += p * scheduler.get_card_retrievability(c, target)
            continue
        reviews[span.day(at_ms)] += p
        at = _utc(at_ms)
        r = 1.0 if c.stability is None else scheduler.get_card_retrievability(c, at)
        if r < 1.0 and p * (1.0 - r) >= prune:  # both branches
            failed, _ = scheduler.review_card(c, fsrs.Rating.Again, review_datetime=at)
            stack.append((failed, p * (1.0 - r), max(_ms(failed.due), at_ms)))
            p *= r
            rating = fsrs.Rating.Good
        else:  # one branch, drawn
            rating = fsrs.Rating.Good if r >= 1.0 or rng.random() < r else fsrs.Rating.Again
        after, _ = scheduler.review_card(c, rating, review_datetime=at)
        stack.append((after, p, max(_ms(after.due), at_ms)))
    return Outlook(recall=recall, reviews=reviews)


def card_outlook(scheduler: fsrs.Scheduler, key: int, state: CardState, span: Span) -> Outlook:
    """The forecast for a studied card (not new) from its saved state, following its schedule:
    first review when due (now if overdue)."""
    card = _to_fsrs(key, state, span.now_ms)
    return _walk(scheduler, card, max(state.due_ms, span.now_ms), span, seed=key)


def new_card_outlook(scheduler: fsrs.Scheduler, span: Span) -> NewCardOutlook:
    """The forecast for a new card first studied on day 0 and then kept to its schedule, for
    every number of days h = 0..span.days left to the date (a card first studied on day d has
    `span.days - d` left). Its first answer is taken as Good."""
    start_ms = _ms(span.moment(0))
    card = fsrs.Card(card_id=1, state=fsrs.State.Learning, step=0, due=_utc(start_ms))
    states: list[_State] = []
    outlook = _walk(scheduler, card, start_ms, span, 0, NEW_CARD_PRUNE, states)
    recall = [0.0] * (span.days + 1)
    for c, p, reached_ms, next_ms in states:
        # This state is the card's on day h if it was reached before day h and its next review
        # is not before day h.
        for h in range(span.day(reached_ms) + 1, min(span.days, span.day(next_ms)) + 1):
            recall[h] += p * scheduler.get_card_retrievability(c, span.moment(h))
    return NewCardOutlook(recall=recall, reviews=outlook.reviews)


def is_new(state: CardState) -> bool:
    return state.state == NEW or state.stability is None
