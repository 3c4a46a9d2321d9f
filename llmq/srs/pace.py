"""Minutes per answer for `llmq plan`: measured from the user's own review durations where the log
has enough of them, else stated defaults.

Four figures: a card's first sight, a card's later review, a code exercise's first attempt, a
code exercise redone. Each is the mean of the logged durations, each capped (an answer left open
while the user was away would count as study) once at least `MIN_ANSWERS` answers of its sort
have a duration.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmq.store import Store

MIN_ANSWERS = 20
CAP_MS = 5 * 60_000  # a card answer counts at most 5 minutes
CODE_CAP_MS = 90 * 60_000  # a code exercise at most 90
# Defaults where the log has too few durations: a new card is read, then seen again at each
# learning step (counted as reviews); an exercise is a short interview question.
DEFAULT_S = {"new": 30.0, "review": 10.0, "code_new": 20 * 60.0, "code_review": 10 * 60.0}


@dataclass(frozen=True)
class Rate:
    seconds: float  # per answer
    measured_from: int  # answers it was measured from; 0: the default

    @property
    def minutes(self) -> float:
        return self.seconds / 60


@dataclass(frozen=True)
class Pace:
    new: Rate  # a card's first sight
    review: Rate  # a card's later answer (learning steps and reviews)
    code_new: Rate  # a code exercise's first attempt
    code_review: Rate  # a code exercise redone

    def review_minutes(self, code: bool) -> float:
        return (self.code_review if code else self.review).minutes

    def first_minutes(self, code: bool) -> float:
        return (self.code_new if code else self.new).minutes


def measure_pace(store: Store) -> Pace:
    """The user's pace from the review log (see the module's docstring)."""
    rates = {name: Rate(seconds, 0) for name, seconds in DEFAULT_S.items()}
    for t in store.answer_times(CAP_MS, CODE_CAP_MS):
        name = ("code_" if t.code else "") + ("new" if t.first else "review")
        if t.answers >= MIN_ANSWERS:
            rates[name] = Rate(round(t.total_ms / t.answers / 1000, 1), t.answers)
    return Pace(**rates)
