"""`llmq stats` figures: the contract's fields, reviews per day, the streak, true retention, the due
forecast, per-topic counts and mastery, code exercises solved and attempted."""

from __future__ import annotations

import json
from datetime import date

from llmq.srs import Rating, compute_stats
from llmq.store import CodeProgress, Store
from tests.store.helpers import DAY_MS, HOUR_MS, local_ms, make_bank, open_study


def test_an_empty_store_has_zeroes() -> None:
    bank = make_bank(8)
    stats = compute_stats(Store.open(), bank).to_dict()
    assert {"reviews_total": 0, "cards_total": 8, "due_now": 0, "streak_days": 0}.items() <= stats.items()
    assert len(stats["reviews_per_day"]) == 365 and len(stats["forecast"]) == 30
    assert stats["retention"]["true_retention"] is None and stats["retention"]["desired_retention"] == 0.9
    json.dumps(stats)  # the --json output


def test_reviews_today_per_day_and_the_streak() -> None:
    store, study, clock = open_study(make_bank(40))
    for day in (7, 8, 9, 11, 12):  # a gap on the 10th
        clock.ms = local_ms(2026, 3, day, 20)
        for _ in range(3):
            study.answer(study.next(), Rating.Good)
    clock.ms = local_ms(2026, 3, 13, 2)  # 2 AM: still the study day of the 12th
    study.answer(study.next(), Rating.Good)
    s = compute_stats(store, at_ms=clock.ms)
    assert s.reviews_total == 16 and s.reviews_today == 4 and s.streak_days == 2
    per_day = {d.date: d.reviews for d in s.reviews_per_day}
    assert per_day["2026-03-12"] == 4 and per_day["2026-03-10"] == 0 and per_day["2026-03-07"] == 3
    assert s.reviews_per_day[-1].date == "2026-03-12"
    # the streak holds until today's study day is over without a review
    clock.ms = local_ms(2026, 3, 13, 20)
    assert compute_stats(store, at_ms=clock.ms).streak_days == 2
    clock.ms = local_ms(2026, 3, 15, 5)
    assert compute_stats(store, at_ms=clock.ms).streak_days == 0


def test_true_retention_counts_review_cards_passed() -> None:
    store, study, clock = open_study(make_bank(10))
    for _ in range(10):
        study.answer(study.next(), Rating.Easy)
    clock.advance(100 * DAY_MS)
    for i in range(10):
        study.answer(study.next(), Rating.Again if i < 2 else Rating.Good)
    r = compute_stats(store, at_ms=clock.ms).retention
    assert (r.reviews, r.passed, r.true_retention) == (10, 8, 0.8)


def test_the_due_forecast_and_due_now() -> None:
    store, study, clock = open_study(make_bank(5))
    outs = []
    for _ in range(5):
        shown = study.next()
        outs.append(study.answer(shown, Rating.Easy).after.due_ms)
    s = compute_stats(store, at_ms=clock.ms)
    assert sum(d.due for d in s.forecast) == 5 and s.due_now == 0
    assert s.forecast[0].date == date.fromtimestamp(clock.ms / 1000).isoformat()
    clock.ms = max(outs) + HOUR_MS
    s = compute_stats(store, at_ms=clock.ms)
    assert s.due_now == 5 and s.forecast[0].due == 5


def test_per_topic_counts_and_mastery() -> None:
    bank = make_bank(6, topics=("a", "b"))
    store, study, clock = open_study(bank)
    study.answer(study.next(), Rating.Easy)  # a card of topic a
    s = compute_stats(store, at_ms=clock.ms)
    a, b = s.topics["a"], s.topics["b"]
    assert (a.cards, a.new, a.review, b.cards, b.new) == (3, 2, 1, 3, 3)
    assert 0.3 < a.mastery <= 1 / 3 + 1e-9 and b.mastery == 0
    clock.advance(200 * DAY_MS)  # forgetting lowers mastery
    assert compute_stats(store, at_ms=clock.ms).topics["a"].mastery < a.mastery


def test_code_exercises_solved_and_attempted() -> None:
    bank = make_bank(12)
    store, _, _ = open_study(bank)
    code = [q.id for q in bank if q.kind == "code"]
    store.add_submission(code[0], "x", {"status": "fail"})
    store.add_submission(code[0], "y", {"status": "pass"})
    store.add_submission(code[1], "z", {"status": "error"})
    assert compute_stats(store).code == CodeProgress(exercises=3, attempted=2, solved=1)
    assert compute_stats(store).to_dict()["code"] == {"exercises": 3, "attempted": 2, "solved": 1}
