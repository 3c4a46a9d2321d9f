"""The bundled bank as a user meets it: complete, cited, and true to the contracts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from llmq.bank import Bank, Choice, CodeExercise, Flashcard, load_bank
from llmq.bank.coverage import DOC, coverage_markdown
from llmq.bank.model import NOTE_SOURCES
from llmq.bank.paths import bundled_root

# CONTRACTS.md, "Exercises with a fixed interface": id -> the function a solution defines.
FIXED_EXERCISES = {
    "attention.sdpa": "scaled_dot_product_attention",
    "attention.repeat_kv": "repeat_kv",
    "attention.gqa": "grouped_query_attention",
    "position.rope": "apply_rope",
    "norm.rms_norm": "rms_norm",
    "norm.layer_norm": "layer_norm",
    "ffn.swiglu": "swiglu",
    "position.alibi_slopes": "alibi_slopes",
    "softmax.softmax": "softmax",
    "loss.cross_entropy": "cross_entropy",
    "sampling.top_k": "top_k_filter",
    "sampling.top_p": "top_p_filter",
    "peft.lora_forward": "lora_forward",
    "alignment.dpo_loss": "dpo_loss",
    "memory.zero": "zero_memory_bytes",
    "memory.kv_cache": "kv_cache_bytes",
    "params.llama": "llama_param_count",
    "tokenizer.bpe_train": "bpe_train",
    "gpu.rms_norm_triton": "rms_norm",
    "gpu.ddp_average_gradients": "average_gradients",
}
# The topics of NOTES.md's topic map, as the bank names them.
NOTES_TOPICS = [
    "attention",
    "position",
    "norm",
    "ffn",
    "moe",
    "transformer",
    "tokenizer",
    "models",
    "training",
    "peft",
    "alignment",
    "prompting",
    "applications",
    "scaling",
    "quantization",
    "distributed",
    "inference",
]
CITATION = re.compile(r"(19|20)\d\d|arXiv|https?://", re.IGNORECASE)


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(roots=[bundled_root()])


def test_counts_per_kind_reach_the_targets(bank: Bank) -> None:
    counts = Counter(q.kind for q in bank.questions.values())
    assert counts["flashcard"] >= 300, counts
    assert counts["choice"] >= 60, counts
    assert counts["numeric"] >= 12, counts
    assert counts["code"] >= 40, counts


@pytest.mark.parametrize("topic", NOTES_TOPICS)
def test_every_topic_of_the_notes_has_questions(bank: Bank, topic: str) -> None:
    kinds = Counter(q.kind for q in bank.questions.values() if q.topic == topic)
    assert kinds["flashcard"] + kinds["choice"] >= 5, (topic, kinds)


def test_every_note_is_a_source(bank: Bank) -> None:
    notes = Counter(q.note for q in bank.questions.values())
    assert all(notes[n] >= 5 for n in NOTE_SOURCES), notes


def test_every_question_cites_a_checkable_source(bank: Bank) -> None:
    uncited = [q.id for q in bank.questions.values() if not any(CITATION.search(r) for r in q.refs)]
    assert not uncited


def test_answers_explain_rather_than_name(bank: Bank) -> None:
    terse = [
        q.id
        for q in bank.questions.values()
        if isinstance(q, Flashcard) and len(q.answer.split()) < 25 or isinstance(q, Choice) and len(q.explanation.split()) < 20
    ]
    assert not terse


def test_no_question_is_asked_twice(bank: Bank) -> None:
    def asked(q) -> str:  # a choice question is its prompt with its options
        text = getattr(q, "prompt", getattr(q, "task", "")) + " ".join(getattr(q, "options", ()))
        return " ".join(text.split()).lower()

    prompts = Counter(asked(q) for q in bank.questions.values())
    assert [p[:60] for p, n in prompts.items() if n > 1] == []


def test_choice_questions_have_plausible_distractors(bank: Bank) -> None:
    for q in bank.by_kind("choice"):
        assert isinstance(q, Choice)
        assert len(q.options) >= 3 and len(q.correct) < len(q.options), q.id


@pytest.mark.parametrize("qid,function", sorted(FIXED_EXERCISES.items()))
def test_fixed_exercises_exist_with_their_contract_function(bank: Bank, qid: str, function: str) -> None:
    exercise = bank.questions.get(qid)
    assert isinstance(exercise, CodeExercise), f"{qid} missing"
    assert exercise.function == function
    assert exercise.track == ("gpu" if qid.startswith("gpu.") else "cpu")
    assert len(exercise.hints) >= 2


def test_every_code_exercise_has_hints_wrong_answers_and_an_alternative(bank: Bank) -> None:
    import ast

    lacking = []
    for q in bank.code_exercises():
        tree = ast.parse(q.answer_path.read_text())
        names = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
        if len(q.hints) < 2 or not {"WRONG_ANSWERS", "ALTERNATIVES"} <= names:
            lacking.append(q.id)
    assert not lacking


def test_coverage_doc_is_current(bank: Bank) -> None:
    doc = Path(bundled_root()) / DOC
    assert doc.read_text(encoding="utf-8") == coverage_markdown(bank), (
        "docs/coverage.md is stale: run `python -m llmq.bank.coverage --write`"
    )
