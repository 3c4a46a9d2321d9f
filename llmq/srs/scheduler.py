"""FSRS-6 through the `fsrs` package: the four outcomes of answering a card, with Anki's touches
(deterministic fuzz, Hard < Good < Easy for review cards, lapse and leech counting)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum

import fsrs
from fsrs.scheduler import FUZZ_RANGES

from llmq.srs.daytime import DAY_MS, DAY_S
from llmq.srs.settings import Settings, parse_step
from llmq.store import NEW, REVIEW, CardState

LEECH_TAG = "leech"


class Rating(IntEnum):
    """The answer buttons, numbered as Anki's keys 1-4 (and fsrs.Rating's values)."""

    Again = 1
    Hard = 2
    Good = 3
    Easy = 4


@dataclass(frozen=True, kw_only=True)
class AnswerOutcome:
    """What answering a card with `rating` does: its state after, and the interval on the button."""

    rating: Rating
    after: CardState
    interval_ms: int  # from the review to the new due time
    leech: bool  # this answer made the card a leech (it is now suspended and tagged)

    @property
    def label(self) -> str:
        return format_interval(self.interval_ms / 1000)


def format_interval(seconds: float) -> str:
    """Anki's button labels: 45s, 10m, 1.5h, 4d, 2.3mo, 1.1y."""

    def short(x: float) -> str:
        return f"{x:.1f}".removesuffix(".0")

    if seconds < 60:
        return f"{max(1, round(seconds))}s"
    if seconds < 3600:
        return f"{round(seconds / 60)}m"
    if seconds < DAY_S:
        return f"{short(seconds / 3600)}h"
    days = seconds / DAY_S
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{short(days / 30)}mo"
    return f"{short(days / 365)}y"


def _utc(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def fsrs_schedulers(settings: Settings) -> tuple[fsrs.Scheduler, fsrs.Scheduler]:
    """The `fsrs` schedulers for cards and for code exercises (llmq optimize fits their weights
    apart), configured by `settings`. Without fsrs's fuzz: llmq's own (seeded per card and
    review, so that the log replays to the same state) is added by Scheduler."""
    cards, code = (
        fsrs.Scheduler(
            parameters=parameters,
            desired_retention=settings.desired_retention,
            learning_steps=[timedelta(seconds=parse_step(s)) for s in settings.learning_steps],
            relearning_steps=[timedelta(seconds=parse_step(s)) for s in settings.relearning_steps],
            maximum_interval=settings.maximum_interval,
            enable_fuzzing=False,
        )
        for parameters in (settings.parameters, settings.code_parameters)
    )
    return cards, code


class Scheduler:
    """Computes outcomes for one scheduler configuration (a Settings)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fsrs, self._fsrs_code = fsrs_schedulers(settings)

    def outcomes(self, card_key: int, state: CardState, at_ms: int, card_kind: str = "") -> dict[Rating, AnswerOutcome]:
        """What each button would do, computed once for the interval previews and the answer.
        `card_kind` "code" schedules with the code exercises' weights."""
        fsrs_card = _to_fsrs(card_key, state, at_ms)
        at = _utc(at_ms)
        days: dict[Rating, int] = {}
        results: dict[Rating, fsrs.Card] = {}
        scheduler = self._fsrs_code if card_kind == "code" else self._fsrs
        for rating in Rating:
            new, _ = scheduler.review_card(fsrs_card, fsrs.Rating(rating), review_datetime=at)
            results[rating] = new
            if new.state == fsrs.State.Review:
                days[rating] = (new.due - at).days
        rng = random.Random(card_key * 1_000_003 + state.reps)
        self._fuzz_and_order(days, rng, state.state == REVIEW)
        out = {}
        for rating, new in results.items():
            due_ms = at_ms + days[rating] * DAY_MS if rating in days else _ms(new.due)
            out[rating] = self._outcome(rating, state, new, at_ms, due_ms)
        return out

    def _fuzz_and_order(self, days: dict[Rating, int], rng: random.Random, was_review: bool) -> None:
        for rating in sorted(days):
            days[rating] = self._fuzz(days[rating], rng) if self.settings.fuzz else days[rating]
        if was_review and {Rating.Hard, Rating.Good, Rating.Easy} <= days.keys():
            # As Anki does with FSRS: a better answer never gives a shorter interval.
            cap = self.settings.maximum_interval
            days[Rating.Hard] = min(days[Rating.Hard], days[Rating.Good])
            days[Rating.Good] = min(max(days[Rating.Good], days[Rating.Hard] + 1), cap)
            days[Rating.Easy] = min(max(days[Rating.Easy], days[Rating.Good] + 1), cap)

    def _fuzz(self, interval: int, rng: random.Random) -> int:
        """fsrs's fuzz ranges, drawn from a generator seeded by the card and its review count."""
        if interval < 2.5:
            return interval
        delta = 1.0
        for r in FUZZ_RANGES:
            delta += r["factor"] * max(min(float(interval), r["end"]) - r["start"], 0.0)
        high = min(round(interval + delta), self.settings.maximum_interval)
        low = min(max(2, round(interval - delta)), high)
        return rng.randint(low, high)

    def _outcome(self, rating: Rating, before: CardState, new: fsrs.Card, at_ms: int, due_ms: int) -> AnswerOutcome:
        lapse = before.state == REVIEW and rating == Rating.Again
        lapses = before.lapses + int(lapse)
        threshold = self.settings.leech_threshold
        # Anki: a leech at the threshold, and again every half threshold after it.
        leech = lapse and threshold > 0 and lapses >= threshold and ((lapses - threshold) % max(1, threshold // 2) == 0)
        after = replace(
            before,
            state=int(new.state),
            step=new.step,
            stability=new.stability,
            difficulty=new.difficulty,
            due_ms=due_ms,
            last_review_ms=at_ms,
            reps=before.reps + 1,
            lapses=lapses,
        )
        if leech:
            after = replace(after, suspended=True).with_tag(LEECH_TAG, True)
        return AnswerOutcome(rating=rating, after=after, interval_ms=due_ms - at_ms, leech=leech)


def _to_fsrs(card_key: int, s: CardState, at_ms: int) -> fsrs.Card:
    if s.state == NEW:  # fsrs has no "new": a new card is Learning at step 0 with no memory state
        return fsrs.Card(card_id=card_key, state=fsrs.State.Learning, step=0, due=_utc(at_ms))
    return fsrs.Card(
        card_id=card_key,
        state=fsrs.State(s.state),
        step=s.step,
        stability=s.stability,
        difficulty=s.difficulty,
        due=_utc(s.due_ms),
        last_review=_utc(s.last_review_ms) if s.last_review_ms is not None else None,
    )
