"""The queue in Anki's order and limits: learning due now, then due reviews, then new cards in bank
order; 20 new and 200 reviews a day, reset at 4 AM; bury, suspend, filters, ids leaving the bank."""

from __future__ import annotations

from llmq.srs import Rating, Study, compute_stats, save_settings
from llmq.store import LEARNING, NEW, REVIEW, Store
from tests.store.helpers import DAY_MS, HOUR_MS, Clock, Q, history, local_ms, make_bank, open_study


def test_new_cards_come_in_bank_order() -> None:
    bank = make_bank(10)
    _, study, _ = open_study(bank)
    seen = []
    for _ in range(5):
        shown = study.next()
        seen.append(shown.qid)
        study.bury(shown.qid)
    assert seen == [q.id for q in bank[:5]]


def test_learning_first_then_reviews_then_new() -> None:
    bank = make_bank(6)
    store, study, clock = open_study(bank)
    first = study.next()
    study.answer(first, Rating.Easy)  # straight to review, due in days
    second = study.next()
    study.answer(second, Rating.Again)  # learning, due in 1 minute
    clock.ms = first.outcomes[Rating.Easy].after.due_ms + HOUR_MS  # review now due; learning too
    order = []
    for _ in range(3):
        shown = study.next()
        order.append((shown.qid, shown.card.state.state))
        study.bury(shown.qid)
    assert order == [(second.qid, LEARNING), (first.qid, REVIEW), (bank[2].id, NEW)]


def test_a_learning_card_waits_for_its_step_unless_nothing_else_is_left() -> None:
    bank = make_bank(2)
    _, study, clock = open_study(bank)
    a = study.next()
    study.answer(a, Rating.Good)  # next step: 10 minutes
    assert study.next().qid == bank[1].id
    study.bury(bank[1].id)
    # nothing else: Anki's learn-ahead shows it early (within 20 minutes)
    assert study.next().qid == a.qid
    assert study.counts().learning == 0


def test_twenty_new_cards_a_day_then_more_after_4am() -> None:
    _, study, clock = open_study(make_bank(50))
    clock.ms = local_ms(2026, 3, 10, 22)
    introduced = 0
    while (shown := study.next()) is not None and shown.card.state.state == NEW:
        study.answer(shown, Rating.Easy)
        introduced += 1
    assert introduced == 20
    assert study.counts().new == 0
    clock.ms = local_ms(2026, 3, 11, 3, 59)  # still the same study day
    assert study.counts().new == 0
    clock.ms = local_ms(2026, 3, 11, 4, 0)
    assert study.counts().new == 20


def test_the_daily_limits_are_settings() -> None:
    store = Store.open()
    save_settings(store, new_per_day=3)
    _, study, _ = open_study(make_bank(10))
    assert study.counts().new == 3


def test_the_review_limit_caps_reviews_and_new_cards() -> None:
    store = Store.open()
    save_settings(store, reviews_per_day=4, new_per_day=100)
    _, study, clock = open_study(make_bank(10))
    for _ in range(6):
        study.answer(study.next(), Rating.Easy)
    clock.advance(60 * DAY_MS)  # all six now due
    assert study.counts().review == 4
    for _ in range(4):
        shown = study.next()
        assert shown.card.state.state == REVIEW
        study.answer(shown, Rating.Good)
    assert study.next() is None  # limit reached: no more reviews, and no new cards either


def test_bury_hides_a_card_until_tomorrow_4am() -> None:
    bank = make_bank(1)
    _, study, clock = open_study(bank)
    clock.ms = local_ms(2026, 3, 10, 23)
    study.bury(bank[0].id)
    assert study.next() is None
    clock.ms = local_ms(2026, 3, 11, 3, 59)
    assert study.next() is None
    clock.ms = local_ms(2026, 3, 11, 4, 0)
    assert study.next().qid == bank[0].id


def test_suspended_cards_stay_out_until_unsuspended() -> None:
    bank = make_bank(1)
    _, study, clock = open_study(bank)
    study.suspend(bank[0].id)
    clock.advance(400 * DAY_MS)
    assert study.next() is None
    study.unsuspend(bank[0].id)
    assert study.next().qid == bank[0].id


def test_filter_by_topic_and_by_kind() -> None:
    bank = make_bank(24)
    store = Store.open()
    by_topic = Study(store, bank, topic="norm", clock=Clock())
    by_kind = Study(store, bank, kind="code", clock=Clock())
    both = Study(store, bank, topic="norm", kind="code", clock=Clock())
    assert by_topic.next().card.topic == "norm"
    assert by_kind.next().card.kind == "code"
    assert by_topic.counts().new == sum(q.topic == "norm" for q in bank)
    assert both.counts().new == sum(q.topic == "norm" and q.kind == "code" for q in bank)


def test_editing_a_question_keeps_its_history() -> None:
    bank = make_bank(3)
    store, study, clock = open_study(bank)
    shown = study.next()
    study.answer(shown, Rating.Easy)
    edited = [Q(shown.qid, "renamed-topic", "choice")] + bank[1:]
    Study(store, edited, clock=clock)  # opening a session syncs the edited bank
    card = store.card(shown.qid)
    assert card.topic == "renamed-topic" and card.kind == "choice"
    assert card.state.state == REVIEW and len(history(store, shown.qid)) == 1


def test_a_removed_question_is_hidden_and_its_history_returns_with_it() -> None:
    bank = make_bank(3)
    store, study, clock = open_study(bank)
    gone = study.next()
    study.answer(gone, Rating.Easy)
    clock.advance(60 * DAY_MS)
    without = [q for q in bank if q.id != gone.qid]
    stats = compute_stats(store, without, at_ms=clock.ms)
    assert stats.cards_total == 2 and stats.reviews_total == 0
    s2 = Study(store, without, clock=clock)
    assert s2.next().qid != gone.qid and s2.counts().review == 0
    # it comes back, with its history
    s3 = Study(store, bank, clock=clock)
    assert s3.next().qid == gone.qid and s3.counts().review == 1
    assert compute_stats(store, bank, at_ms=clock.ms).reviews_total == 1


def test_a_learning_step_of_a_day_is_due_all_that_day() -> None:
    save_settings(Store.open(), learning_steps=("1d",))
    bank = make_bank(1)
    _, study, clock = open_study(bank)
    clock.ms = local_ms(2026, 3, 10, 20)
    study.answer(study.next(), Rating.Again)  # due 20:00 tomorrow
    clock.ms = local_ms(2026, 3, 11, 3)
    assert study.next() is None
    clock.ms = local_ms(2026, 3, 11, 5)  # tomorrow's study day has begun
    assert study.next().qid == bank[0].id
