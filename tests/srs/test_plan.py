"""`llmq plan`'s forecast and plan: the expected recall on a date is FSRS's retrievability after the
schedule's reviews, checked against a simulation of those reviews; the plan raises it within the
minutes given, warns when the date is too close, and measures the user's own pace."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fsrs
import pytest

from llmq.srs.daytime import DAY_MS, DayClock
from llmq.srs.forecast import Span, card_outlook, new_card_outlook
from llmq.srs.pace import DEFAULT_S, measure_pace
from llmq.srs.plan import MAX_DAYS, PlanInputError, compute_plan
from llmq.srs.plan_date import parse_date, save_plan, saved_plan
from llmq.srs.scheduler import Rating, Scheduler, _to_fsrs, fsrs_schedulers
from llmq.srs.settings import Settings
from llmq.store import CardState, Store, StoredCard
from tests.srs.synthetic_user import day_ms, make_bank, study

CLOCK = DayClock(4, UTC)
FIRST_DAY = date(2026, 3, 1)
HISTORY_DAYS = 120
TODAY = FIRST_DAY + timedelta(days=HISTORY_DAYS)
NOW = day_ms(TODAY, 9)
# The simulation draws every review's recall and the recall on the date; its mean over RUNS runs
# of each card has a standard error of about 0.003 here. The forecast must be within TOLERANCE of
# it (about 4 standard errors).
RUNS = 60
TOLERANCE = 0.015


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A user four months in: 4 topics of 12 cards and 3 exercises, 2 new a day until 40 started."""
    store = Store.open(Path(tmp_path_factory.mktemp("plan")) / "progress.db")
    bank = make_bank({"attention": (12, 3), "norm": (12, 3), "moe": (12, 3), "rlhf": (12, 3)})
    study(store, bank, first_day=FIRST_DAY, days=HISTORY_DAYS, new_per_day=2, stop_new_after=40, seed=3)
    return store


def _simulate(card: StoredCard, target: date, rng: random.Random) -> tuple[bool, int]:
    """One run of `card` from now to the date with llmq's own scheduler (fuzz and all): each review
    when due, recalled with FSRS's retrievability at that moment (Good) or not (Again); then
    whether it is recalled at noon on the date, and how many reviews it took."""
    settings = Settings()
    scheduler = Scheduler(settings)
    cards, code = fsrs_schedulers(settings)
    model = code if card.kind == "code" else cards
    state: CardState = card.state
    end = CLOCK.start_ms(target)
    reviews = 0
    while (at := max(state.due_ms, NOW)) < end:
        r = model.get_card_retrievability(_to_fsrs(card.key, state, at), datetime.fromtimestamp(at / 1000, UTC))
        rating = Rating.Good if rng.random() < r else Rating.Again
        state = scheduler.outcomes(card.key, state, at, card.kind)[rating].after
        reviews += 1
    moment = datetime.fromtimestamp((end + 8 * 3_600_000) / 1000, UTC)
    return rng.random() < model.get_card_retrievability(_to_fsrs(card.key, state, end), moment), reviews


@pytest.mark.parametrize("days", [20, 180])
def test_forecast_matches_a_simulation_of_the_schedule(user: Store, days: int) -> None:
    target = TODAY + timedelta(days=days)
    plan = compute_plan(user, target, 30, at_ms=NOW, clock=CLOCK)
    rng = random.Random(days)
    cards = [c for c in user.all_cards() if not c.state.suspended]
    recalled = reviews = 0
    studied = [c for c in cards if c.state.state != 0]
    for card in studied:
        for _ in range(RUNS):
            hit, n = _simulate(card, target, rng)
            recalled += hit
            reviews += n
    simulated = recalled / (RUNS * len(cards))  # never-studied cards count as not recalled
    assert abs(plan.overall - simulated) <= TOLERANCE, (plan.overall, simulated)
    # The check can fail: over half a year, recall without the schedule's reviews (retrievability
    # decaying from today) is far from the simulation.
    model = fsrs_schedulers(Settings())[0]
    moment = datetime.fromtimestamp((CLOCK.start_ms(target) + 8 * 3_600_000) / 1000, UTC)
    unreviewed = sum(model.get_card_retrievability(_to_fsrs(c.key, c.state, NOW), moment) for c in studied) / len(cards)
    if days >= 180:
        assert abs(unreviewed - simulated) > 3 * TOLERANCE
    # The reviews the forecast expects before the date (what the plan's minutes are made of)
    # match the simulation's within 10% and one review.
    span = Span(now_ms=NOW, day0_ms=CLOCK.start_ms(TODAY), days=days)
    schedulers = fsrs_schedulers(Settings())
    expected = sum(sum(card_outlook(schedulers[c.kind == "code"], c.key, c.state, span).reviews) for c in studied)
    assert abs(expected - reviews / RUNS) <= 0.1 * expected + 1, (expected, reviews / RUNS)


def test_new_card_forecast_matches_a_simulation() -> None:
    """A card first studied on day 0 (answered Good), then reviewed when due: its recall h days
    later, forecast for every h at once, against runs of the scheduler."""
    span = Span(now_ms=NOW, day0_ms=CLOCK.start_ms(TODAY), days=60)
    model = fsrs_schedulers(Settings())[0]
    outlook = new_card_outlook(model, span)
    rng = random.Random(7)
    runs = 3000
    for h in (3, 20, 60):
        hits = 0
        for _ in range(runs):
            card = fsrs.Card(card_id=1, due=span.moment(0))
            at = span.moment(0)
            card, _ = model.review_card(card, fsrs.Rating.Good, review_datetime=at)
            end = span.moment(h) - timedelta(hours=8)
            while card.due < end:
                at = card.due
                good = rng.random() < model.get_card_retrievability(card, at)
                card, _ = model.review_card(card, fsrs.Rating.Good if good else fsrs.Rating.Again, review_datetime=at)
            hits += rng.random() < model.get_card_retrievability(card, span.moment(h))
        assert abs(outlook.recall[h] - hits / runs) <= TOLERANCE, (h, outlook.recall[h], hits / runs)


def test_the_plan_raises_readiness_within_the_minutes(user: Store) -> None:
    plan = compute_plan(user, TODAY + timedelta(days=30), 25, at_ms=NOW, clock=CLOCK)
    assert plan.days == 30 and len(plan.daily) == 30
    assert [d.date for d in plan.daily[:2]] == [TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat()]
    assert plan.overall_with_plan > plan.overall + 0.1  # 20 cards were never studied
    for t in plan.topics:
        assert t.with_plan >= t.expected_recall
    assert sum(t.new_planned for t in plan.topics) == sum(d.new for d in plan.daily) + sum(
        1 for d in plan.daily for x in d.exercise_ids if x not in plan.redo
    )
    over = next((w for w in plan.warnings if w.kind == "over_budget"), None)
    assert over is None and all(d.minutes <= 25 for d in plan.daily)
    # the redo list: studied exercises due before the date, each on the day it comes due
    for qid in plan.redo:
        assert qid.split(".")[1].startswith("x")
        assert any(qid in d.exercise_ids for d in plan.daily)


def test_too_close_a_date_warns_and_says_what_it_would_take(user: Store) -> None:
    plan = compute_plan(user, TODAY + timedelta(days=3), 5, at_ms=NOW, clock=CLOCK)
    warning = next(w for w in plan.warnings if w.kind == "too_close")
    assert warning.count > 0 and warning.minutes > 5
    # the minutes it names are enough: planned with them, every card is started by the date
    enough = compute_plan(user, TODAY + timedelta(days=3), warning.minutes, at_ms=NOW, clock=CLOCK)
    assert not [w for w in enough.warnings if w.kind == "too_close"]
    assert sum(t.new_planned for t in enough.topics) == sum(t.cards - t.studied for t in enough.topics)
    roomy = compute_plan(user, TODAY + timedelta(days=60), 240, at_ms=NOW, clock=CLOCK)
    assert not [w for w in roomy.warnings if w.kind == "too_close"]
    assert roomy.overall_with_plan > plan.overall_with_plan


def test_the_date_today_plans_nothing_and_says_so(user: Store) -> None:
    plan = compute_plan(user, TODAY, 30, at_ms=NOW, clock=CLOCK)
    assert plan.daily == [] and plan.overall_with_plan == plan.overall
    assert [w.kind for w in plan.warnings] == ["no_days"]


@pytest.mark.parametrize(
    ("target", "minutes"),
    [
        (TODAY - timedelta(days=1), 30),
        (TODAY + timedelta(days=MAX_DAYS + 1), 30),
        (TODAY + timedelta(days=5), 0),
        (TODAY + timedelta(days=5), 24 * 60 + 1),
        (TODAY + timedelta(days=5), float("nan")),
    ],
)
def test_bad_input_is_refused(user: Store, target: date, minutes: float) -> None:
    with pytest.raises(PlanInputError):
        compute_plan(user, target, minutes, at_ms=NOW, clock=CLOCK)


def test_pace_is_measured_from_the_users_durations(user: Store, tmp_path: Path) -> None:
    pace = measure_pace(user)  # the synthetic user spends 6-18 s a card, 5-15 min an exercise
    assert 10 <= pace.review.seconds <= 14 and pace.review.measured_from > 100
    assert 500 <= pace.code_review.seconds <= 700
    with Store.open(tmp_path / "fresh.db") as fresh:
        assert measure_pace(fresh).review.seconds == DEFAULT_S["review"]
        assert measure_pace(fresh).review.measured_from == 0


def test_the_date_is_saved_and_read_back(tmp_path: Path) -> None:
    with Store.open(tmp_path / "p.db") as store:
        assert saved_plan(store) is None
        save_plan(store, date(2027, 5, 1), 45)
        saved = saved_plan(store)
        assert saved is not None and saved.date == date(2027, 5, 1) and saved.minutes_per_day == 45


@pytest.mark.parametrize("text", ["2027-1-5", "2027-02-30", "tomorrow", "2027-01-05T10:00", ""])
def test_malformed_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_json_shape(user: Store) -> None:
    d = compute_plan(user, TODAY + timedelta(days=7), 30, at_ms=NOW, clock=CLOCK).to_dict()
    assert isinstance(d["date"], str) and isinstance(d["overall"], float)
    assert set(d["topics"][0]) >= {"topic", "expected_recall", "with_plan"}
    assert set(d["daily"][0]) >= {"date", "new", "reviews", "exercises", "minutes"}


def test_span_days_line_up_with_study_days() -> None:
    span = Span(now_ms=NOW, day0_ms=CLOCK.start_ms(TODAY), days=3)
    assert span.day(NOW) == 0 and span.day(span.end_ms) == 3 and span.day(span.end_ms - 1) == 2
    assert span.end_ms - span.day0_ms == 3 * DAY_MS
