"""A failure teaches the card behind it (issue 17 point 2), the scheduling half: `make_due` logs a
"due" event per card (append-only, undoable, replayed by rebuild) and the queue shows the card now:
a studied card at once, a never-studied one first among today's new cards."""

from __future__ import annotations

from llmq.srs import Rating, Study
from llmq.store import NEW, REVIEW, Store
from tests.store.helpers import DAY_MS, Clock, differences, history, make_bank, open_study


def _studied(study: Study, store: Store, clock: Clock, qid: str) -> None:
    """Answer cards Easy until `qid` is in review, due days from now."""
    while store.card(qid).state.state != REVIEW:
        shown = study.next()
        study.answer(shown, Rating.Easy)
    assert store.card(qid).state.due_ms > clock.ms + DAY_MS


def test_a_studied_card_a_check_teaches_is_the_next_card_and_undo_takes_it_back() -> None:
    store, study, clock = open_study(make_bank(3))
    qid = make_bank(3)[0].id
    _studied(study, store, clock, qid)
    for q in make_bank(3)[1:]:  # the rest out of the way: nothing else left to study now
        study.suspend(q.id)
    assert study.next() is None
    before = store.card(qid).state

    assert study.make_due([qid, "no.such_card"]) == [qid]  # an id with no card is skipped

    after = store.card(qid).state
    assert after.due_ms == clock.ms and after.stability == before.stability and after.state == REVIEW
    assert [e.kind for e in history(store, qid)][-1] == "due"
    assert study.next().qid == qid and study.counts().review == 1
    assert differences(store) == {}  # the log replays to the same state
    undone = study.undo()
    assert undone is not None and undone.kind == "due" and store.card(qid).state == before
    assert study.next() is None


def test_a_never_studied_card_comes_first_among_new_cards_and_stays_new() -> None:
    bank = make_bank(12)
    store, study, _ = open_study(bank)
    first = study.next().qid
    last = bank[-1].id  # last in bank order
    assert first != last
    study.make_due([last])
    card = store.card(last)
    assert card.state.state == NEW and card.state.stability is None
    assert study.next().qid == last
    assert differences(store) == {}


def test_a_buried_card_comes_back_a_suspended_one_stays_suspended() -> None:
    bank = make_bank(4)
    store, study, clock = open_study(bank)
    buried, suspended = bank[0].id, bank[1].id
    study.bury(buried)
    study.suspend(suspended)
    study.make_due([buried, suspended])
    assert store.card(buried).state.buried_until_ms == 0 and study.next().qid == buried
    assert store.card(suspended).state.suspended
