"""`llmq optimize`: fit FSRS-6 weights to the user's own review history, one set for cards and one
for code exercises, and compare them with the default weights on the most recent reviews.

The fit runs in Rust (the `fsrs-rs-python` package, the optimizer Anki uses), so the app's process
never imports torch. Its 21 weights are the same FSRS-6 model as the `fsrs` package that schedules
the reviews (the same formulas and the same bounds, which tests/srs/test_optimize.py checks).

The history follows FSRS's conventions: one sequence of (rating, days since the previous review)
per card, days counted in study days (a day starts at the settings' hour, 4 AM), so reviews on the
same day have 0 days between them; a reset ("forget") starts a new sequence. The most recent fifth
of a set's reviews (by time) is held out: the weights are fitted on the reviews before it, and the
default and the fitted weights predict each held-out review from the card's whole history before it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any

from fsrs_rs_python import FSRS, FSRSItem, FSRSReview

from llmq.l10n import _, ngettext
from llmq.srs.daytime import DayClock
from llmq.srs.evaluate import Metrics, Prediction, measure
from llmq.srs.settings import FSRS6_DEFAULT_PARAMETERS, Settings, load_settings, save_settings
from llmq.store import HistoryEvent, Store, now_ms

SET_NAMES = ("cards", "code")
MIN_REVIEWS = 400  # fewer than this in a set: too little to fit 21 weights; nothing is changed
HELD_OUT = 0.2  # the most recent fifth of a set's reviews

# The `fsrs` package refuses weights outside these bounds (fsrs.scheduler's LOWER_ and
# UPPER_BOUNDS_PARAMETERS, the same as fsrs-rs's clipper); fsrs-rs fits in float32, whose nearest
# value to a bound can lie just outside it, so fitted weights are clamped before they are saved.
_LOWER = (
    0.001,
    0.001,
    0.001,
    0.001,
    1.0,
    0.001,
    0.001,
    0.001,
    0.0,
    0.0,
    0.001,
    0.001,
    0.001,
    0.001,
    0.0,
    0.0,
    1.0,
    0.0,
    0.0,
    0.0,
    0.1,
)
_UPPER = (100.0, 100.0, 100.0, 100.0, 10.0, 4.0, 4.0, 0.75, 4.5, 0.8, 3.5, 5.0, 0.25, 0.9, 4.0, 1.0, 6.0, 2.0, 2.0, 0.8, 0.8)


def set_name(card_kind: str) -> str:
    """Which set of weights schedules a card of this kind."""
    return "code" if card_kind == "code" else "cards"


@dataclass(frozen=True)
class Review:
    """One review in FSRS's terms."""

    at_ms: int
    rating: int  # 1 Again .. 4 Easy
    elapsed_days: int  # study days since the previous review of the sequence; 0 for the first


CardReviews = list[Review]  # one card's reviews from new (or from a reset) on, in order


def sequences(events: Iterable[HistoryEvent], clock: DayClock) -> dict[str, list[CardReviews]]:
    """Each set's review sequences, from the store's history (sorted by card, then time)."""
    out: dict[str, list[CardReviews]] = {name: [] for name in SET_NAMES}
    card: int | None = None
    current: CardReviews = []
    last_day = 0
    for e in events:
        if e.card != card or e.kind == "reset":
            card, current = e.card, []
            out[set_name(e.card_kind)].append(current)
        if e.kind != "review" or e.rating is None:
            continue
        day = clock.day_of(e.at_ms).toordinal()
        current.append(Review(e.at_ms, e.rating, day - last_day if current else 0))
        last_day = day
    return {name: [seq for seq in seqs if seq] for name, seqs in out.items()}


def _fsrs_reviews(seq: CardReviews) -> list[FSRSReview]:
    return [FSRSReview(r.rating, r.elapsed_days) for r in seq]


def training_items(seqs: list[CardReviews], before_ms: int) -> list[FSRSItem]:
    """FSRS's training items from the reviews before `before_ms`: one per review on a later day
    than the one before it, holding the card's reviews up to it; ordered by time as the optimizer
    expects."""
    timed: list[tuple[int, FSRSItem]] = []
    for seq in seqs:
        reviews = _fsrs_reviews(seq)
        for k, r in enumerate(seq):
            if r.at_ms >= before_ms:
                break
            if k > 0 and r.elapsed_days > 0:
                timed.append((r.at_ms, FSRSItem(reviews[: k + 1])))
    timed.sort(key=lambda t: t[0])
    return [item for _, item in timed]


def retrievability(parameters: tuple[float, ...] | list[float], stability: float, elapsed_days: int) -> float:
    """FSRS-6's forgetting curve: R = (1 + factor * t / S) ** -w20, with factor set so R(S) = 0.9."""
    decay = -parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return float((1 + factor * elapsed_days / stability) ** decay)


def predictions(parameters: tuple[float, ...] | list[float], seqs: list[CardReviews], from_ms: int) -> list[Prediction]:
    """What `parameters` predict for each review at or after `from_ms` that follows a review on an
    earlier day, from the card's memory state after all its reviews before it."""
    model = FSRS(list(parameters))
    scored = [seq for seq in seqs if len(seq) > 1 and seq[-1].at_ms >= from_ms]
    states = model.historical_memory_state_batch([FSRSItem(_fsrs_reviews(seq)) for seq in scored])
    out = []
    for seq, after in zip(scored, states):
        review_count, lapses = 1, 0
        for k, r in enumerate(seq):
            if k > 0 and r.elapsed_days > 0:
                review_count += 1
                if r.at_ms >= from_ms:
                    p = retrievability(parameters, after[k - 1].stability, r.elapsed_days)
                    out.append(Prediction(r.rating > 1, p, r.elapsed_days, review_count, lapses))
                lapses += r.rating == 1
    return out


def held_out_from(seqs: list[CardReviews]) -> int:
    """The time from which the most recent fifth of the reviews lies (epoch ms)."""
    times = sorted(r.at_ms for seq in seqs for r in seq)
    return times[min(len(times) - 1, math.floor(len(times) * (1 - HELD_OUT)))]


def fit(seqs: list[CardReviews], before_ms: int, relearning_steps: int) -> tuple[float, ...]:
    """FSRS-6 weights fitted by fsrs-rs to the reviews before `before_ms`, within the bounds the
    `fsrs` package accepts."""
    items = training_items(seqs, before_ms)
    fitted = FSRS(list(FSRS6_DEFAULT_PARAMETERS)).compute_parameters(
        items, enable_short_term=True, num_relearning_steps=relearning_steps
    )
    return tuple(min(max(round(w, 6), lo), hi) for w, lo, hi in zip(fitted, _LOWER, _UPPER))


def _metrics_dict(m: Metrics | None) -> dict[str, float | None]:
    return {"log_loss": m.log_loss if m else None, "rmse_bins": m.rmse_bins if m else None}


@dataclass(frozen=True)
class SetResult:
    """One set's figures: the default and (with enough reviews) the fitted weights on held-out reviews."""

    name: str  # "cards" or "code"
    reviews: int  # standing reviews in the set
    held_out: int  # held-out reviews scored (those on a later day than the card's review before)
    default: Metrics | None  # None when no review could be scored
    fitted: Metrics | None  # None with fewer than MIN_REVIEWS reviews
    parameters: tuple[float, ...] | None  # the fitted weights
    applied: bool  # saved to the settings by --apply
    in_use_since: str = ""  # the day the weights in use were fitted and saved; "" while they are the defaults
    fit_error: str = ""  # why fsrs-rs could not fit the reviews (e.g. "NotEnoughData"), if it could not

    @property
    def enough(self) -> bool:
        return self.reviews >= MIN_REVIEWS

    @property
    def better(self) -> bool:
        """The fitted weights predict the held-out reviews better (lower log loss) than the defaults."""
        return self.fitted is not None and self.default is not None and self.fitted.log_loss < self.default.log_loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reviews": self.reviews,
            "held_out": self.held_out,
            "default": _metrics_dict(self.default),
            "fitted": _metrics_dict(self.fitted) if self.fitted else None,
            "parameters": list(self.parameters) if self.parameters else None,
            "applied": self.applied,
            "in_use_since": self.in_use_since or None,
            "fit_error": self.fit_error or None,
        }


def optimize_set(name: str, seqs: list[CardReviews], settings: Settings) -> SetResult:
    """Fit one set (if it has enough reviews) and score the default and fitted weights."""
    reviews = sum(len(seq) for seq in seqs)
    in_use_since = settings.code_parameters_fitted_on if name == "code" else settings.parameters_fitted_on
    if reviews == 0:
        return SetResult(name, 0, 0, None, None, None, False, in_use_since)
    cut = held_out_from(seqs)
    scored = predictions(FSRS6_DEFAULT_PARAMETERS, seqs, cut)
    default = measure(scored)
    if reviews < MIN_REVIEWS:
        return SetResult(name, reviews, len(scored), default, None, None, False, in_use_since)
    try:
        weights = fit(seqs, cut, len(settings.relearning_steps))
    except ValueError as err:  # fsrs-rs refuses data it cannot fit (e.g. no second answers on a later day)
        return SetResult(name, reviews, len(scored), default, None, None, False, in_use_since, fit_error=str(err))
    fitted = measure(predictions(weights, seqs, cut))
    return SetResult(name, reviews, len(scored), default, fitted, weights, False, in_use_since)


def optimize(store: Store, *, apply: bool = False, tz: tzinfo | None = None, today: date | None = None) -> list[SetResult]:
    """Fit and score both sets; with `apply`, save each set's fitted weights that beat the defaults
    (dated with today's study day). Sets with fewer than MIN_REVIEWS reviews are never changed."""
    settings = load_settings(store)
    clock = DayClock(settings.day_starts_at, tz)
    by_set = sequences(store.optimizer_history(), clock)
    results = [optimize_set(name, by_set[name], settings) for name in SET_NAMES]
    if not apply:
        return results
    day = (today or clock.day_of(now_ms())).isoformat()
    changes: dict[str, Any] = {}
    out = []
    for r in results:
        if r.better and r.parameters is not None:
            prefix = "code_" if r.name == "code" else ""
            changes[f"{prefix}parameters"] = r.parameters
            changes[f"{prefix}parameters_fitted_on"] = day
            r = replace(r, applied=True, in_use_since=day)
        out.append(r)
    if changes:
        save_settings(store, **changes)
    return out


def needs_fit(store: Store) -> list[tuple[str, int]]:
    """Sets with at least MIN_REVIEWS reviews and no fitted weights yet: (name, reviews), for the
    app's suggestion to run `llmq optimize`."""
    settings = load_settings(store)
    counts = dict.fromkeys(SET_NAMES, 0)
    for card_kind, n in store.review_counts_by_kind().items():
        counts[set_name(card_kind)] += n
    fitted_on = {"cards": settings.parameters_fitted_on, "code": settings.code_parameters_fitted_on}
    return [(name, n) for name, n in counts.items() if n >= MIN_REVIEWS and not fitted_on[name]]


# --- the text report ---------------------------------------------------------------------------


def _set_title(name: str) -> str:
    return _("Cards") if name == "cards" else _("Code exercises")


def _pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded to `width` terminal columns (a Chinese character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    space = " " * max(0, width - columns)
    return space + text if right else text + space


def format_results(results: list[SetResult], *, applied_requested: bool) -> str:
    """`llmq optimize` without --json: per set, the default and fitted weights side by side."""
    lines = []
    for r in results:
        count = ngettext("{n} review", "{n} reviews", r.reviews).format(n=r.reviews)
        lines.append(f"{_set_title(r.name)}: {count}")
        if r.in_use_since and not r.applied:
            lines.append("  " + _("In use: weights fitted on {day}.").format(day=r.in_use_since))
        if r.default is not None:
            held = ngettext(
                "held out: the most recent fifth, {n} review scored",
                "held out: the most recent fifth, {n} reviews scored",
                r.held_out,
            ).format(n=r.held_out)
            lines.append(f"  {held}")
            lines.append("  " + _pad("", 10) + _pad(_("log loss"), 10, right=True) + _pad(_("RMSE (bins)"), 14, right=True))
            rows = [(_("default"), r.default)] + ([(_("fitted"), r.fitted)] if r.fitted else [])
            lines.extend(f"  {_pad(label, 10)}{m.log_loss:>10.4f}  {m.rmse_bins * 100:>11.2f}%" for label, m in rows)
        if not r.enough:
            lines.append("  " + _("At least {min} reviews are needed to fit weights; nothing changed.").format(min=MIN_REVIEWS))
        elif r.fit_error:
            lines.append("  " + _("fsrs-rs could not fit these reviews ({reason}); nothing changed.").format(reason=r.fit_error))
        elif r.fitted is None or r.default is None:
            lines.append(
                "  "
                + _(
                    "No held-out review came a day or more after the card's review before it: nothing to compare; nothing changed."
                )
            )
        elif r.applied:
            lines.append("  " + _("Saved: these weights schedule this set from now on."))
        elif not r.better:
            lines.append("  " + _("The fitted weights are not better on the held-out reviews; nothing changed."))
        elif not applied_requested:
            lines.append("  " + _("The fitted weights are better. Run `llmq optimize --apply` to use them."))
        lines.append("")
    return "\n".join(lines).rstrip("\n")
