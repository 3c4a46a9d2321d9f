"""Answering: one transaction for the log row and the state, the previewed interval is the one
saved, undo several levels deep, leeches at 8 lapses, reset."""

from __future__ import annotations

import pytest

from llmq.srs import LEECH_TAG, Answered, Rating, Study
from llmq.store import NEW, REVIEW, CardState, Store, StoreError
from tests.store.helpers import DAY_MS, Clock, history, make_bank, open_study


def test_an_answer_saves_the_log_row_and_the_new_state_together() -> None:
    store, study, clock = open_study()
    shown = study.next()
    answered = study.answer(shown, Rating.Good, duration_ms=4200)
    (entry,) = history(store, shown.qid)
    assert entry.kind == "review" and entry.rating == 3 and entry.duration_ms == 4200
    assert entry.at_ms == clock.ms
    assert entry.before == CardState() and entry.after == answered.after
    assert store.card(shown.qid).state == answered.after


def test_the_previewed_interval_is_the_one_saved() -> None:
    _, study, clock = open_study()
    shown = study.next()
    study.answer(shown, Rating.Easy)
    clock.advance(30 * DAY_MS)
    shown = study.next()
    previews = shown.previews
    assert set(previews) == {"Again", "Hard", "Good", "Easy"}
    answered = study.answer(shown, Rating.Good)
    assert answered.after.due_ms - shown.at_ms == shown.outcomes[Rating.Good].interval_ms
    assert previews["Good"].endswith(("d", "mo"))


def test_undo_goes_back_several_answers() -> None:
    store, study, _ = open_study()
    states = []
    for rating in (Rating.Good, Rating.Again, Rating.Hard, Rating.Easy):
        shown = study.next()
        states.append((shown.qid, store.card(shown.qid).state))
        study.answer(shown, rating)
    for qid, before in reversed(states):
        undone = study.undo()
        assert undone.qid == qid and store.card(qid).state == before
    assert study.undo() is None
    rows = store._conn.execute("SELECT count(*), count(undone_ms) FROM review_log").fetchone()
    assert rows == (4, 4)  # still logged, marked undone
    assert study.counts().new == 20  # undone new cards count against today's limit no more


def test_undo_covers_bury_suspend_and_reset() -> None:
    store, study, _ = open_study()
    shown = study.next()
    study.answer(shown, Rating.Easy)
    reviewed = store.card(shown.qid).state
    study.reset(shown.qid)
    assert store.card(shown.qid).state.state == NEW
    study.suspend(shown.qid)
    study.bury(shown.qid)
    assert [study.undo().kind for _ in range(3)] == ["bury", "suspend", "reset"]
    assert store.card(shown.qid).state == reviewed


def test_undo_refuses_when_another_window_changed_the_card_since() -> None:
    bank = make_bank(2)
    store, first, clock = open_study(bank)
    second = Study(store, bank, clock=clock)
    shown = first.next()
    first.answer(shown, Rating.Good)
    second.suspend(shown.qid)
    with pytest.raises(StoreError, match="changed after that answer"):
        first.undo()


def test_an_answer_to_a_card_changed_elsewhere_is_scored_from_its_state_now() -> None:
    bank = make_bank(1)
    store, a, clock = open_study(bank)
    b = Study(store, bank, clock=clock)
    shown_a, shown_b = a.next(), b.next()
    a.answer(shown_a, Rating.Good)
    answered = b.answer(shown_b, Rating.Good)
    assert answered.before.reps == 1 and answered.after.reps == 2
    assert len(history(store, shown_a.qid)) == 2


def _lapse(study: Study, clock: Clock, qid: str) -> Answered:
    shown = study.next()
    assert shown.qid == qid
    if shown.card.state.state != REVIEW:
        study.answer(shown, Rating.Easy)
        clock.advance(400 * DAY_MS)
        shown = study.next()
    answered = study.answer(shown, Rating.Again)
    study.answer(study.show(study.store.card(qid)), Rating.Easy)  # relearned: back to review
    clock.advance(400 * DAY_MS)
    return answered


def test_eight_lapses_make_a_leech_suspended_tagged_and_announced() -> None:
    bank = make_bank(1)
    store, study, clock = open_study(bank)
    qid = bank[0].id
    notices = [_lapse(study, clock, qid).notice for _ in range(7)]
    assert notices == [None] * 7
    shown = study.next()
    answered = study.answer(shown, Rating.Again)
    assert answered.leech and "leech" in answered.notice and qid in answered.notice
    card = store.card(qid).state
    assert card.lapses == 8 and card.suspended and LEECH_TAG in card.tags
    assert study.next() is None


def test_the_leech_threshold_is_a_setting() -> None:
    from llmq.srs import save_settings

    save_settings(Store.open(), leech_threshold=2)
    bank = make_bank(1)
    _, study, clock = open_study(bank)
    assert _lapse(study, clock, bank[0].id).notice is None
    shown = study.next()
    assert study.answer(shown, Rating.Again).leech
