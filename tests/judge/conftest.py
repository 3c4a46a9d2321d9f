"""Shared fixtures: one warm judge for the whole session, and the attention.gqa exercise."""
from __future__ import annotations

from pathlib import Path

import pytest

from llmq.judge.client import ExerciseRef, Judge

ROOT = Path(__file__).resolve().parents[2]
GQA = ExerciseRef("attention.gqa", ROOT / "answers" / "attention" / "gqa.py", "grouped_query_attention", timeout_s=10.0)

# A correct solution written the plain way, used as "the next submission" after hostile ones.
GOOD = '''
import math
import torch

def grouped_query_attention(q, k, v, causal=True):
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    t, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if causal:
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
'''


@pytest.fixture(scope="session")
def judge() -> Judge:
    j = Judge(jobs=2)
    yield j
    j.close()


@pytest.fixture(scope="session")
def gqa() -> ExerciseRef:
    return GQA
