"""`llmq optimize`: FSRS-6 weights fitted to a history drawn from known weights come out close to
them and predict held-out reviews better than the defaults; --apply saves them and the scheduler
uses them; a set with fewer than 400 reviews is left alone; the measures are srs-benchmark's."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
from fsrs_rs_python import FSRS, FSRSItem, FSRSReview

from llmq.srs import Rating, Study
from llmq.srs.daytime import DayClock
from llmq.srs.evaluate import Prediction, log_loss, review_bin, rmse_bins
from llmq.srs.optimize import held_out_from, predictions, sequences
from llmq.srs.scheduler import Scheduler
from llmq.srs.settings import FSRS6_DEFAULT_PARAMETERS, Settings, load_settings
from llmq.store import REVIEW, CardState, HistoryEvent, Store
from tests.srs.synthetic_history import TRUE_WEIGHTS, SimReview, simulate, write_history

REPO = Path(__file__).resolve().parents[2]
UTC_CLOCK = DayClock(4, UTC)


def optimize_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # TZ=UTC: the synthetic reviews are at 10:00 UTC, so the study day (from 4 AM local) is the UTC date.
    env = {**os.environ, "TZ": "UTC", "LLMQ_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "llmq", "optimize", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def optimize_after(history: list[SimReview], *args: str, kind: str = "flashcard") -> str:
    """Log `history` (cards of `kind`), run `llmq optimize ARGS`, return what it printed."""
    with Store.open() as store:
        write_history(store, history, kind=kind, prefix=kind)
    out = optimize_cli(*args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def rms_gap(a: list[Prediction], b: list[Prediction]) -> float:
    """Root mean square difference between two models' predicted recall on the same reviews."""
    return math.sqrt(sum((x.p - y.p) ** 2 for x, y in zip(a, b, strict=True)) / len(a))


# --- the fit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history() -> list[SimReview]:
    return simulate(20_000, TRUE_WEIGHTS, seed=0)


def test_fit_recovers_known_weights_and_beats_the_defaults(history: list[SimReview]) -> None:
    cards, code = json.loads(optimize_after(history, "--json"))["sets"]
    with Store.open() as store:
        events = store.optimizer_history()
    assert (cards["name"], cards["reviews"], cards["applied"]) == ("cards", 20_000, False)
    assert (code["name"], code["reviews"], code["fitted"], code["applied"]) == ("code", 0, None, False)

    # Better than the defaults on the held-out fifth, by both measures.
    assert cards["fitted"]["log_loss"] < cards["default"]["log_loss"]
    assert cards["fitted"]["rmse_bins"] < cards["default"]["rmse_bins"]

    # Close to the known weights. Measured where it matters, on what the weights predict: single
    # weights are loosely pinned down by a year of reviews (several trade off against each other,
    # and fsrs-rs pulls them towards the defaults), the recall they predict is not. On the held-out
    # reviews the fitted weights' predicted recall is within 0.03 (root mean square) of the known
    # weights', under 70% of the defaults' gap, and their log loss within 0.005 of the known
    # weights' (the best any weights can expect). With seeds 0-7 the worst were 0.029, 64% and 0.0031.
    seqs = sequences(events, UTC_CLOCK)["cards"]
    cut = held_out_from(seqs)
    known = predictions(TRUE_WEIGHTS, seqs, cut)
    fitted = predictions(cards["parameters"], seqs, cut)
    default = predictions(FSRS6_DEFAULT_PARAMETERS, seqs, cut)
    assert len(known) == cards["held_out"]
    assert rms_gap(fitted, known) < 0.03
    assert rms_gap(fitted, known) < 0.7 * rms_gap(default, known)
    assert cards["fitted"]["log_loss"] - log_loss(known) < 0.005
    # The first four weights (the stability after a new card's first answer) come out in order.
    w = cards["parameters"]
    assert w[0] < w[1] < w[2] < w[3]


def test_apply_saves_the_fitted_weights_and_the_scheduler_uses_them(history: list[SimReview]) -> None:
    out = optimize_after(history, "--apply")
    assert "Saved: these weights schedule this set from now on." in out
    assert "Code exercises: 0 reviews" in out
    with Store.open() as store:
        settings = load_settings(store)
    today = datetime.now(UTC) - timedelta(hours=4)
    assert settings.parameters_fitted_on in {today.date().isoformat(), (today + timedelta(days=1)).date().isoformat()}
    assert settings.parameters != FSRS6_DEFAULT_PARAMETERS
    assert (settings.code_parameters, settings.code_parameters_fitted_on) == (FSRS6_DEFAULT_PARAMETERS, "")

    # A card in review, 10 days after a review: the fitted weights schedule it, code keeps the defaults.
    t = 1_800_000_000_000
    card = CardState(state=REVIEW, stability=10.0, difficulty=5.0, due_ms=t, last_review_ms=t - 10 * 86_400_000, reps=3)
    scheduler = Scheduler(settings)
    as_card = scheduler.outcomes(1, card, t, "flashcard")[Rating.Good]
    as_code = scheduler.outcomes(1, card, t, "code")[Rating.Good]
    defaults = Scheduler(Settings()).outcomes(1, card, t, "flashcard")[Rating.Good]
    assert as_code == defaults
    assert as_card.after.stability != defaults.after.stability

    # Running it again says which weights are in use.
    again = optimize_cli()
    assert f"In use: weights fitted on {settings.parameters_fitted_on}." in again.stdout


def test_fewer_than_400_reviews_say_how_many_and_change_nothing() -> None:
    out = optimize_after(simulate(399, seed=3), "--apply", kind="code")
    assert "Code exercises: 399 reviews" in out
    assert "At least 400 reviews are needed to fit weights; nothing changed." in out
    data = json.loads(optimize_cli("--apply", "--json").stdout)["sets"]
    assert [(s["name"], s["reviews"], s["fitted"], s["applied"]) for s in data] == [
        ("cards", 0, None, False),
        ("code", 399, None, False),
    ]
    assert data[1]["default"]["log_loss"] > 0  # the defaults are still scored on the held-out reviews
    with Store.open() as store:
        assert store.settings() == {}


def test_a_history_of_one_day_has_nothing_to_compare_and_changes_nothing() -> None:
    day = datetime(2026, 3, 1, 10, tzinfo=UTC)
    crammed = [SimReview(card, day + timedelta(minutes=k), 3) for card in range(100) for k in range(4)]
    out = optimize_after(crammed, "--apply")
    assert "Cards: 400 reviews" in out
    assert "nothing to compare; nothing changed." in out
    with Store.open() as store:
        assert store.settings() == {}


# --- reading the history -----------------------------------------------------------------------


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_days_are_study_days_and_a_reset_starts_over() -> None:
    events = [
        HistoryEvent(1, "flashcard", "review", 1, _ms("2026-03-01T10:00")),
        HistoryEvent(1, "flashcard", "review", 3, _ms("2026-03-01T10:10")),  # same day: 0
        HistoryEvent(1, "flashcard", "review", 3, _ms("2026-03-02T03:30")),  # before 4 AM: still March 1st
        HistoryEvent(1, "flashcard", "review", 3, _ms("2026-03-02T04:30")),  # March 2nd: 1 day
        HistoryEvent(1, "flashcard", "reset", None, _ms("2026-03-03T09:00")),
        HistoryEvent(1, "flashcard", "review", 4, _ms("2026-03-03T09:05")),  # new again: 0
        HistoryEvent(1, "flashcard", "review", 3, _ms("2026-03-10T09:05")),
        HistoryEvent(2, "code", "review", 3, _ms("2026-03-01T12:00")),
    ]
    seqs = sequences(events, UTC_CLOCK)
    assert [[(r.rating, r.elapsed_days) for r in s] for s in seqs["cards"]] == [
        [(1, 0), (3, 0), (3, 0), (3, 1)],
        [(4, 0), (3, 7)],
    ]
    assert [[(r.rating, r.elapsed_days) for r in s] for s in seqs["code"]] == [[(3, 0)]]


@dataclass(frozen=True)
class Q:
    id: str = "t.q"
    topic: str = "t"
    kind: str = "flashcard"


def test_undone_reviews_are_not_history() -> None:
    now = [_ms("2026-03-01T10:00")]
    with Store.open() as store:
        study = Study(store, [Q()], clock=lambda: now[0])
        shown = study.next()
        assert shown is not None
        study.answer(shown, Rating.Good)
        now[0] += 600_000
        shown = study.next()
        assert shown is not None
        study.answer(shown, Rating.Again)
        study.undo()
        history = store.optimizer_history()
        assert [(e.kind, e.rating) for e in history] == [("review", 3)]
        assert store.review_counts_by_kind() == {"flashcard": 1}


# --- the measures --------------------------------------------------------------------------------


def test_rmse_bins_groups_reviews_as_srs_benchmark_does() -> None:
    def bin_of(days: int, count: int, lapses: int) -> tuple[float, float, float]:
        return review_bin(Prediction(True, 0.5, days, count, lapses))

    # srs-benchmark's bins, worked by hand: days 2.48 * 3.62**floor(log_3.62 d), rounded to 2 places;
    # review count 1.99 * 1.89**floor(log_1.89 i) and lapses 1.65 * 1.73**floor(log_1.73 l), rounded.
    assert [bin_of(d, 2, 0)[0] for d in (1, 3, 4, 13, 14, 47, 48)] == [2.48, 2.48, 8.98, 8.98, 32.5, 32.5, 117.65]
    assert [bin_of(1, i, 0)[1] for i in (2, 3, 4, 6, 7)] == [4, 4, 7, 7, 13]
    assert [bin_of(1, 2, n)[2] for n in (0, 1, 2, 3, 5, 6)] == [0, 2, 3, 5, 5, 9]

    # Within a bin the mean outcome is compared with the mean prediction; bins weigh by their size.
    same = [Prediction(True, 0.9, d, 2, 0) for d in (1, 2, 3)] + [Prediction(False, 0.9, 3, 2, 0)]  # 3/4 vs 0.9
    apart = [Prediction(True, 0.5, 4, 2, 0)]  # 1 vs 0.5
    assert rmse_bins(same + apart) == pytest.approx(math.sqrt((4 * 0.15**2 + 1 * 0.5**2) / 5))


def test_log_loss() -> None:
    preds = [Prediction(True, 0.8, 1, 2, 0), Prediction(False, 0.8, 1, 2, 0)]
    assert log_loss(preds) == pytest.approx(-(math.log(0.8) + math.log(0.2)) / 2)


# --- fsrs-rs and the fsrs package are the same model ---------------------------------------------


def test_fsrs_rs_weights_mean_the_same_to_the_fsrs_package() -> None:
    """The weights fsrs-rs fits are the ones the fsrs package schedules with: the same memory state
    after the same reviews (days apart, and the same day), and within the package's bounds."""
    reviews = [(3, 0), (3, 0), (3, 2), (1, 9), (3, 0), (2, 3), (4, 12)]
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    for weights in (FSRS6_DEFAULT_PARAMETERS, TRUE_WEIGHTS):
        scheduler = fsrs.Scheduler(parameters=weights, enable_fuzzing=False)  # refuses weights out of its bounds
        card = fsrs.Card(card_id=1, due=start)
        at = start
        for k, (rating, days) in enumerate(reviews):
            at += timedelta(days=days, minutes=10 if days == 0 and k else 0)
            card, _ = scheduler.review_card(card, fsrs.Rating(rating), review_datetime=at)
        state = FSRS(list(weights)).memory_state(FSRSItem([FSRSReview(r, d) for r, d in reviews]))
        assert state.stability == pytest.approx(card.stability, rel=1e-4)
        assert state.difficulty == pytest.approx(card.difficulty, rel=1e-4)
