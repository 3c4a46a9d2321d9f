"""The rating a code (or numeric) card's result suggests; the UI shows it and the user may change it."""

from __future__ import annotations

from dataclasses import dataclass

from llmq.srs.scheduler import Rating


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
