"""How well a memory model's predicted recall matches what happened: log loss and RMSE(bins), the
two measures the open srs-benchmark (open-spaced-repetition/srs-benchmark) ranks models by."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Predictions are clipped this far from 0 and 1 before the logarithm, as sklearn's log_loss does
# for float64 (its eps is the dtype's machine epsilon), so one confident miss is costly, not infinite.
_EPS = 2.220446049250313e-16


@dataclass(frozen=True)
class Prediction:
    """One review that the model predicted: the outcome and what the review's bin needs."""

    recalled: bool  # rated Hard, Good or Easy (Again is a lapse)
    p: float  # predicted probability of recall
    elapsed_days: int  # study days since the card's previous review (> 0: same-day reviews are not scored)
    review_count: int  # srs-benchmark's `i`: the card's reviews on a later day than the one before, this one included, plus 1
    lapses: int  # earlier Again answers given on a later day than the review before them


@dataclass(frozen=True)
class Metrics:
    log_loss: float
    rmse_bins: float


def log_loss(predictions: Sequence[Prediction]) -> float:
    """The mean negative log-likelihood of the outcomes (binary cross-entropy)."""
    total = 0.0
    for x in predictions:
        p = min(max(x.p, _EPS), 1 - _EPS)
        total -= math.log(p) if x.recalled else math.log(1 - p)
    return total / len(predictions)


def _bin(x: float, base: float, scale: float, digits: int) -> float:
    """srs-benchmark's logarithmic bins: `round(scale * base ** floor(log(x) / log(base)), digits)`."""
    return round(scale * base ** math.floor(math.log(x) / math.log(base)), digits)


def review_bin(x: Prediction) -> tuple[float, float, float]:
    """The bin of a review for RMSE(bins): (elapsed days, review count, lapses), each binned."""
    return (
        _bin(max(x.elapsed_days, 1e-6), 3.62, 2.48, 2),
        _bin(x.review_count, 1.89, 1.99, 0),
        _bin(x.lapses, 1.73, 1.65, 0) if x.lapses else 0.0,
    )


def rmse_bins(predictions: Sequence[Prediction]) -> float:
    """RMSE(bins) as srs-benchmark defines it (utils.py `rmse_matrix`, with the features of
    features/base.py): reviews are grouped by (elapsed days, review count, lapses), each on a
    logarithmic scale; in each group the mean outcome is compared with the mean prediction, and the
    squared differences are averaged weighted by the group's size. The same bins as fsrs-rs's
    `FSRSItem::r_matrix_index`, so the figure matches `FSRS.evaluate` on the same reviews.
    """
    groups: dict[tuple[float, float, float], list[float]] = {}  # bin -> [reviews, recalled, sum of p]
    for x in predictions:
        g = groups.setdefault(review_bin(x), [0.0, 0.0, 0.0])
        g[0] += 1
        g[1] += x.recalled
        g[2] += x.p
    total = sum(n for n, _, _ in groups.values())
    squared = sum(n * (recalled / n - p / n) ** 2 for n, recalled, p in groups.values())
    return math.sqrt(squared / total)


def measure(predictions: Sequence[Prediction]) -> Metrics | None:
    """Both measures, or None when there is nothing to measure."""
    if not predictions:
        return None
    return Metrics(log_loss=log_loss(predictions), rmse_bins=rmse_bins(predictions))
