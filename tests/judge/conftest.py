"""Shared fixtures: one warm judge for the whole session, and the attention.gqa exercise."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from llmq.judge.client import ExerciseRef, Judge

ROOT = Path(__file__).resolve().parents[2]
GQA = ExerciseRef("attention.gqa", ROOT / "answers" / "attention" / "gqa.py", "grouped_query_attention", timeout_s=10.0)

# A correct solution written the usual way (the answer module's own), the "next submission"
# after hostile ones; tests put bugs into it with str.replace.
GOOD: str = runpy.run_path(str(GQA.answer_path))["_PLAIN"]


@pytest.fixture(scope="session")
def judge() -> Judge:
    j = Judge(jobs=2)
    yield j
    j.close()


@pytest.fixture(scope="session")
def gqa() -> ExerciseRef:
    return GQA
