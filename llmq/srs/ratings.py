"""The rating a code (or numeric) card's result suggests; the UI shows it and the user may change it."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmq.srs.scheduler import Rating
from llmq.store import Submission


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """How one go at a code exercise went, from showing the card to the result."""

    passed: bool
    failed_submissions: int = 0  # submissions before the passing one that did not pass
    hints_used: int = 0
    gave_up: bool = False
    revealed_reference: bool = False


def suggested_rating(attempt: Attempt) -> Rating:
    """Passed at the first submission: Good; passed after failed submissions or hints: Hard;
    gave up, revealed the reference, or never passed: Again."""
    if attempt.gave_up or attempt.revealed_reference or not attempt.passed:
        return Rating.Again
    if attempt.failed_submissions or attempt.hints_used:
        return Rating.Hard
    return Rating.Good


def attempt_from_submissions(submissions: Sequence[Submission], *, hints_used: int = 0,
                             gave_up: bool = False, revealed_reference: bool = False) -> Attempt:
    """Read an attempt from the submissions made since the card was shown (oldest first):
    the first passing one counts; those before it are the failures."""
    failed = 0
    for sub in submissions:
        if sub.passed:
            return Attempt(passed=True, failed_submissions=failed, hints_used=hints_used,
                           gave_up=gave_up, revealed_reference=revealed_reference)
        failed += 1
    return Attempt(passed=False, failed_submissions=failed, hints_used=hints_used, gave_up=gave_up,
                   revealed_reference=revealed_reference)
