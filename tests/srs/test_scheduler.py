"""FSRS-6 outcomes: interval previews, steps, Anki's ordering of the buttons, deterministic fuzz."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from llmq.srs import Rating, Settings, format_interval
from llmq.srs.scheduler import Scheduler
from llmq.store import LEARNING, RELEARNING, REVIEW, CardState

T0 = 1_773_000_000_000
DAY = 86_400_000


def test_a_new_card_previews_the_learning_steps() -> None:
    out = Scheduler(Settings()).outcomes(1, CardState(), T0)
    labels = {r.name: o.label for r, o in out.items()}
    assert labels["Again"] == "1m" and labels["Hard"] == "6m" and labels["Good"] == "10m"
    assert labels["Easy"].endswith("d")
    assert [out[r].after.state for r in Rating] == [LEARNING, LEARNING, LEARNING, REVIEW]


def test_learning_steps_are_a_setting() -> None:
    out = Scheduler(Settings(learning_steps=("5m", "30m", "2h"))).outcomes(1, CardState(), T0)
    assert out[Rating.Again].label == "5m" and out[Rating.Good].label == "30m"


def _review_card(stability: float = 10.0, days_ago: int = 10) -> CardState:
    return CardState(state=REVIEW, stability=stability, difficulty=5.0, due_ms=T0, last_review_ms=T0 - days_ago * DAY, reps=5)


def test_forgetting_a_review_card_relearns_and_counts_a_lapse() -> None:
    out = Scheduler(Settings()).outcomes(1, _review_card(), T0)
    again = out[Rating.Again]
    assert again.after.state == RELEARNING and again.label == "10m" and again.after.lapses == 1
    assert all(out[r].after.lapses == 0 for r in (Rating.Hard, Rating.Good, Rating.Easy))


@settings(max_examples=200, deadline=None)
@given(stability=st.floats(0.1, 3000), days_ago=st.integers(0, 4000), key=st.integers(1, 10**6), difficulty=st.floats(1, 10))
def test_better_answers_never_give_shorter_intervals(stability: float, days_ago: int, key: int, difficulty: float) -> None:
    card = replace(_review_card(stability, days_ago), difficulty=difficulty)
    out = Scheduler(Settings()).outcomes(key, card, T0)
    hard, good, easy = (out[r].interval_ms for r in (Rating.Hard, Rating.Good, Rating.Easy))
    assert out[Rating.Again].interval_ms < hard <= good <= easy
    assert max(hard, good, easy) <= 36500 * DAY


def test_the_outcomes_are_the_same_every_time_they_are_computed() -> None:
    s = Scheduler(Settings())
    assert s.outcomes(7, _review_card(40), T0) == s.outcomes(7, _review_card(40), T0)


def test_a_higher_desired_retention_gives_shorter_intervals() -> None:
    card = _review_card(30, 30)
    low = Scheduler(Settings(desired_retention=0.8, fuzz=False)).outcomes(1, card, T0)
    high = Scheduler(Settings(desired_retention=0.95, fuzz=False)).outcomes(1, card, T0)
    assert high[Rating.Good].interval_ms < low[Rating.Good].interval_ms


def test_fuzz_stays_near_the_unfuzzed_interval() -> None:
    card = _review_card(30, 30)
    plain = Scheduler(Settings(fuzz=False)).outcomes(1, card, T0)[Rating.Good].interval_ms // DAY
    fuzzed = {Scheduler(Settings()).outcomes(k, card, T0)[Rating.Good].interval_ms // DAY for k in range(50)}
    assert len(fuzzed) > 1
    assert all(abs(d - plain) <= 0.15 * plain + 1 for d in fuzzed)


def test_interval_labels_read_like_ankis() -> None:
    assert [format_interval(s) for s in (30, 60, 600, 5400, 86400 * 4, 86400 * 45, 86400 * 400)] == [
        "30s",
        "1m",
        "10m",
        "1.5h",
        "4d",
        "1.5mo",
        "1.1y",
    ]
