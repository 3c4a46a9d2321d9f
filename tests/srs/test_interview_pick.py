"""Which exercise a mock interview asks: one not mastered (FSRS), weighted by the interview list,
the same for the same seed; its follow-ups from the bank, or cards of its topic where it has none."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from llmq.bank import CodeExercise, load_bank
from llmq.srs.interview_pick import followups_for, interview_weight, mastered, pick_exercise
from llmq.store import LEARNING, REVIEW, CardState

BANK = load_bank(())
ATTENTION = [e for e in BANK.code_exercises("cpu") if e.topic == "attention"]
MATURE = CardState(state=REVIEW, stability=30.0)


def test_mastered_means_a_mature_review_card() -> None:
    assert mastered(MATURE)
    assert not mastered(CardState(state=REVIEW, stability=20.9))
    assert not mastered(CardState(state=LEARNING, stability=50.0))
    assert not mastered(None)


def test_a_mastered_exercise_is_not_asked_while_others_are_open() -> None:
    open_one = ATTENTION[0]
    states = {e.id: MATURE for e in ATTENTION if e is not open_one}
    picks = {pick_exercise(ATTENTION, states, BANK.questions, seed).exercise.id for seed in range(30)}  # type: ignore[union-attr]
    assert picks == {open_one.id}
    everything = {e.id: MATURE for e in ATTENTION}
    pick = pick_exercise(ATTENTION, everything, BANK.questions, 1)
    assert pick is not None and pick.candidates == 0  # all mastered: drawn from all, and it says so


def test_the_same_seed_draws_the_same_and_weights_count() -> None:
    exercises = BANK.code_exercises("cpu")
    first = pick_exercise(exercises, {}, BANK.questions, 42)
    again = pick_exercise(exercises, {}, BANK.questions, 42)
    assert first is not None and again is not None
    assert (first.exercise.id, first.followups) == (again.exercise.id, again.followups)
    gqa = BANK.questions["attention.gqa"]
    assert isinstance(gqa, CodeExercise) and interview_weight(gqa) == 3.0
    low = replace(gqa, id="x.low", tags=("implement", "kernels"))
    drawn = Counter(pick_exercise([gqa, low], {}, BANK.questions, s).exercise.id for s in range(600))  # type: ignore[union-attr]
    assert 0.65 < drawn["attention.gqa"] / 600 < 0.85  # 3 : 1


def test_followups_from_the_bank_or_from_the_topic() -> None:
    gqa = BANK.questions["attention.gqa"]
    assert isinstance(gqa, CodeExercise)
    assert followups_for(gqa, BANK.questions, random.Random(0)) == gqa.followups
    bare = replace(gqa, followups=())
    chosen = followups_for(bare, BANK.questions, random.Random(0))
    assert len(chosen) == 3 and all(BANK.questions[q].topic == "attention" for q in chosen)
    assert all(BANK.questions[q].kind != "code" for q in chosen)
