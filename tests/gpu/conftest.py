"""Fixtures for the GPU track: one warm judge, and the bank's GPU exercises by id."""

from __future__ import annotations

import pytest

from llmq.bank.loader import load_bank
from llmq.judge.client import Judge


@pytest.fixture(scope="session")
def gpu_judge() -> Judge:
    judge = Judge(jobs=2)
    yield judge
    judge.close()


@pytest.fixture(scope="session")
def gpu_exercises() -> dict:
    return {ex.id: ex for ex in load_bank().code_exercises("gpu")}
