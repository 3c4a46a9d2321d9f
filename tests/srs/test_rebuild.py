"""Card state rebuilt from the log equals the live state, and undo restores exactly, for random
sequences of answers, manual actions, undos, settings changes and time passing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmq.srs import Rating, Study, rebuild_states, save_settings
from llmq.store import Store
from tests.store.helpers import Clock, differences, make_bank

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.sampled_from(list(Rating))),
        st.tuples(st.sampled_from(["bury", "suspend", "unsuspend", "reset", "unbury", "make_due"]), st.integers(0, 5)),
        st.tuples(st.just("undo"), st.just(0)),
        st.tuples(st.just("wait"), st.sampled_from([1, 10, 60, 24 * 60, 5 * 24 * 60, 90 * 24 * 60])),
        st.tuples(st.just("retention"), st.sampled_from([0.8, 0.9, 0.95])),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_rebuilt_state_equals_live_state_and_undo_restores_exactly(actions: list[tuple[str, object]]) -> None:
    bank = make_bank(6)
    with tempfile.TemporaryDirectory() as home, Store.open(Path(home) / "progress.db") as store:
        clock = Clock()
        study = Study(store, bank, clock=clock)
        undo_stack: list[tuple[str, object]] = []  # (qid, state before) of each standing action
        for name, arg in actions:
            if name == "answer":
                shown = study.next()
                if shown is not None:
                    undo_stack.append((shown.qid, store.card(shown.qid).state))
                    study.answer(shown, arg)
            elif name == "undo":
                undone = study.undo()
                if undo_stack:
                    qid, before = undo_stack.pop()
                    assert undone is not None and undone.qid == qid
                    assert store.card(qid).state == before
                else:
                    assert undone is None
            elif name == "wait":
                clock.advance(int(arg) * 60_000)
            elif name == "retention":
                save_settings(store, desired_retention=arg)
                study.reload_settings()
            else:
                qid = bank[int(arg)].id
                undo_stack.append((qid, store.card(qid).state))
                if name == "make_due":  # a failed check's teaches= cards
                    assert study.make_due([qid]) == [qid]
                else:
                    getattr(study, name)(qid)
        assert differences(store) == {}
        assert set(rebuild_states(store)) <= {q.id for q in bank}


def test_a_state_that_disagrees_with_the_log_is_found() -> None:
    bank = make_bank(3)
    with Store.open() as store:
        study = Study(store, bank, clock=Clock())
        shown = study.next()
        study.answer(shown, Rating.Good)
        store._conn.execute("UPDATE cards SET stability = 99 WHERE qid = ?", (shown.qid,))
        (qid,) = differences(store)
        assert qid == shown.qid and rebuild_states(store)[qid].stability != 99
