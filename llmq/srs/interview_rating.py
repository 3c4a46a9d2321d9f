"""How a mock interview round rates the exercise's card, from the round's results.

The rule (stated in the report and the README):
- no pass within the time (time ran out, gave up, or abandoned): Again;
- a pass at the first run, started within the first half of the time: Easy;
- a pass at the first run, later: Good;
- a pass after one or more failed runs: Hard.
Runs the judge could not run at all (its worker failed) are not the code's failure and do not count.
The follow-up cards are rated as in review: the rating chosen on the rating bar.
"""

from __future__ import annotations

from llmq.srs.scheduler import Rating


def exercise_rating(passed: bool, first_pass_ms: int | None, limit_s: int, failed_runs: int) -> Rating:
    if not passed or first_pass_ms is None:
        return Rating.Again
    if failed_runs:
        return Rating.Hard
    return Rating.Easy if first_pass_ms <= limit_s * 1000 / 2 else Rating.Good


def recalled(rating: int | None) -> bool:
    """A follow-up counts as recalled when rated Hard, Good or Easy; Again (or unanswered) does not."""
    return rating is not None and rating != Rating.Again
