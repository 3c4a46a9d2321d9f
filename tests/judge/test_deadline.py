"""A check that runs out of time is a timeout, wherever the deadline passes: inside a call to the
submission, or between two examples (before the next one draws anything, where hypothesis used
to report the harness's own stop as FlakyStrategyDefinition, "a bug in the answer module")."""

from __future__ import annotations

import time
import types
from typing import Any, NoReturn

import pytest
from hypothesis import strategies as st

from llmq.judge import harness
from llmq.judge.client import Judge
from llmq.judge.kit import CheckSpec, Ctx, SandboxGone
from tests.judge.conftest import GOOD, GQA


class _Box:
    """The harness's end of a sandbox, as run_check uses it: a deadline, and expire()."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.dead: SandboxGone | None = None

    def expire(self, status: str, message: str) -> NoReturn:
        self.dead = SandboxGone(status, message)
        raise self.dead


def _slow_examples(ctx: Ctx) -> None:
    ctx.draw(st.tuples(st.integers(1, 3), st.integers(0, 2**31 - 2)))
    time.sleep(0.1)  # one example's work: calls into the sandbox, the reference


def test_a_deadline_passed_between_examples_is_a_timeout_not_a_bug_of_the_module() -> None:
    spec = CheckSpec("a check", _slow_examples, examples=10)
    request = harness.Request(exercise="x", answer_path="/dev/null", function="f", timeout_s=0.25)
    answer: Any = types.SimpleNamespace(module=types.SimpleNamespace(), path=types.SimpleNamespace(name="x.py"))
    with pytest.raises(SandboxGone) as gone:
        harness.run_check(spec, request, answer, _Box(0.25))  # type: ignore[arg-type]
    assert gone.value.status == "timeout" and "took longer than 0.25 s" in gone.value.message


def test_a_solution_too_slow_for_the_time_limit_gets_a_timeout_verdict(judge: Judge) -> None:
    sleepy = GOOD.replace("import math", "import math\nimport time", 1)
    sleepy = sleepy.replace("def grouped_query_attention(", "def _gqa(", 1)
    sleepy += "\n\ndef grouped_query_attention(*args, **kwargs):\n    time.sleep(0.12)\n    return _gqa(*args, **kwargs)\n"
    verdict = judge.check(GQA, sleepy, seed=2, timeout_s=1.5)
    assert verdict.status == "timeout", verdict.summary
    assert "took longer than 1.5 s" in verdict.summary and "FlakyStrategyDefinition" not in verdict.summary
