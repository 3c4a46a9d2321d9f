"""Which exercise a mock interview round asks (`llmq interview`), and its follow-up questions.

A round asks a code exercise the user has not mastered: its card is not a mature review card
(FSRS stability under MASTERED_DAYS, Anki's "mature" line) and not suspended. Among those, the
draw is weighted by how often interviews ask to write that piece of code: INTERVIEW_WEIGHTS, a
small explicit list by the bank's tags. The notes the bank is written from ask "implement
multi-head self-attention" outright, and the forward pass around it (RoPE, the norms, softmax and
cross-entropy, KV cache, sampling) is what an interviewer asks next; training and alignment
losses and adapters come after; kernels, distributed code and the rest are asked least in a
general round. The list is ours, a judgement, not a survey: a tag it does not name weighs 1.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from llmq.bank import CodeExercise, Question
from llmq.store import REVIEW, CardState

# Stability (days) from which a review card counts as mastered: Anki calls an interval of 21
# days or more "mature"; FSRS's stability is the interval at which recall falls to 90%.
MASTERED_DAYS = 21.0

# Weight of an exercise by its tags (the largest of its tags' weights; 1 for tags not listed).
INTERVIEW_WEIGHTS: dict[str, float] = {
    # asked outright: the attention block and the pieces of the forward pass around it
    "attention": 3.0,
    "gqa": 3.0,
    "masks": 3.0,
    "rope": 3.0,
    "softmax": 3.0,
    "cross-entropy": 3.0,
    "kv-cache": 3.0,
    # asked next: norms, the FFN, decoding, adapters, the alignment losses
    "rmsnorm": 2.0,
    "layernorm": 2.0,
    "norm": 2.0,
    "swiglu": 2.0,
    "sampling": 2.0,
    "decoding": 2.0,
    "lora": 2.0,
    "loss": 2.0,
    "alignment": 2.0,
    "position": 2.0,
    "transformer": 2.0,
}

# Card kinds a follow-up may be (the review screen's card views): never another code exercise.
FOLLOWUP_KINDS = ("flashcard", "choice", "numeric", "cloze")
MAX_FOLLOWUPS = 4
FALLBACK_FOLLOWUPS = 3


@dataclass(frozen=True)
class Pick:
    """The exercise drawn, the follow-up cards it asks, and what the draw was made from."""

    exercise: CodeExercise
    followups: tuple[str, ...]
    candidates: int  # exercises in scope not yet mastered (0: every one is, so all were drawn from)
    in_scope: int
    seed: int


def mastered(state: CardState | None) -> bool:
    """A review card whose stability reached MASTERED_DAYS (a new or learning card never is)."""
    return state is not None and state.state == REVIEW and (state.stability or 0.0) >= MASTERED_DAYS


def interview_weight(exercise: CodeExercise) -> float:
    return max((INTERVIEW_WEIGHTS.get(tag, 1.0) for tag in exercise.tags), default=1.0)


def in_scope(exercises: Iterable[CodeExercise], topic: str | None, track: str | None) -> list[CodeExercise]:
    return [e for e in exercises if (topic is None or e.topic == topic) and (track is None or e.track == track)]


def pick_exercise(
    exercises: Sequence[CodeExercise],
    states: Mapping[str, CardState],
    questions: Mapping[str, Question],
    seed: int,
) -> Pick | None:
    """Draw one exercise (None when `exercises` is empty). The same seed and the same progress
    draw the same exercise and follow-ups. Suspended exercises are left out unless nothing else is."""
    rng = random.Random(seed)
    active = [e for e in exercises if not (states.get(e.id) and states[e.id].suspended)] or list(exercises)
    if not active:
        return None
    open_ = [e for e in active if not mastered(states.get(e.id))]
    pool = open_ or active
    chosen = rng.choices(pool, weights=[interview_weight(e) for e in pool], k=1)[0]
    return Pick(chosen, followups_for(chosen, questions, rng), len(open_), len(exercises), seed)


def followups_for(exercise: CodeExercise, questions: Mapping[str, Question], rng: random.Random) -> tuple[str, ...]:
    """The exercise's `followups:` that are in the bank (at most four); where it gives fewer than
    two, cards of its topic are added, those sharing a tag first, up to three in all."""
    chosen = [q for q in exercise.followups if q in questions and questions[q].kind in FOLLOWUP_KINDS][:MAX_FOLLOWUPS]
    if len(chosen) >= 2:
        return tuple(chosen)
    tags = set(exercise.tags) - {"implement"}
    same_topic = [q for q in questions.values() if q.topic == exercise.topic and q.kind in FOLLOWUP_KINDS and q.id not in chosen]
    sharing = [q for q in same_topic if tags & set(q.tags)]
    others = [q for q in same_topic if not tags & set(q.tags)]
    rng.shuffle(sharing)
    rng.shuffle(others)
    for q in sharing + others:
        if len(chosen) >= FALLBACK_FOLLOWUPS:
            break
        chosen.append(q.id)
    return tuple(chosen)


@dataclass(frozen=True)
class RoundPlan:
    """What one round will ask, decided before the app opens (`llmq interview`)."""

    exercise: str
    followups: tuple[str, ...]
    limit_s: int
    seed: int
    topic: str | None = None
    track: str | None = None


def default_track(topic: str | None) -> str | None:
    """The track a round draws from when none is asked: the CPU track, or every track of the topic
    asked for (the GPU topic's exercises are all GPU)."""
    return None if topic else "cpu"


def plan_round(
    exercises: Sequence[CodeExercise],
    states: Mapping[str, CardState],
    questions: Mapping[str, Question],
    *,
    minutes: float,
    seed: int,
    topic: str | None = None,
    track: str | None = None,
) -> RoundPlan | None:
    """The round `llmq interview` or the app's "mock interview" starts: an exercise of the topic
    and track drawn (None when there is none), its follow-ups, the time in whole seconds (at
    least one)."""
    pick = pick_exercise(in_scope(exercises, topic, track), states, questions, seed)
    if pick is None:
        return None
    return RoundPlan(pick.exercise.id, pick.followups, max(1, round(minutes * 60)), seed, topic=topic, track=track)
