"""What a user sees from the judge: verdicts, messages, seeds, bank errors, and the gqa exercise."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmq.judge.client import Cancelled, ExerciseRef, Judge
from llmq.judge.verify import verify
from tests.judge.conftest import GOOD, GQA, ROOT

SIG = "def grouped_query_attention(q, k, v, causal=True):\n"


def failing_message(verdict) -> str:
    return next(c.message for c in verdict.checks if c.status == "fail")


def test_correct_solution_passes_every_check(judge: Judge) -> None:
    verdict = judge.check(GQA, GOOD, seed=11)
    assert verdict.status == "pass"
    assert [c.status for c in verdict.checks] == ["pass"] * len(verdict.checks)
    assert verdict.seed == 11 and verdict.exercise == "attention.gqa"
    assert len(verdict.checks) == 6


def test_failed_check_message_names_input_errors_index_and_seed(judge: Judge) -> None:
    wrong = GOOD.replace("/ math.sqrt(d)", "")
    verdict = judge.check(GQA, wrong, seed=5)
    assert verdict.status == "fail"
    message = failing_message(verdict)
    for phrase in ["values differ at", "first differing index [", "largest absolute error",
                   "largest relative error", "input: grouped_query_attention(q=", "(1, ",
                   "drawn (shrunk example)", "seed: 5", "--seed 5"]:
        assert phrase in message, message


def test_same_seed_reproduces_the_run_exactly(judge: Judge) -> None:
    wrong = GOOD.replace("diagonal=1", "diagonal=2")
    first, second = (judge.check(GQA, wrong, seed=1234) for _ in range(2))
    assert first.status == second.status == "fail"
    assert [c.message for c in first.checks] == [c.message for c in second.checks]


def test_shapes_are_never_broadcast(judge: Judge) -> None:
    # (B, H, 1, D) would broadcast against (B, H, T, D): it must fail on its shape.
    averaged = "return (torch.softmax(scores, dim=-1) @ v).mean(dim=2, keepdim=True)"
    verdict = judge.check(GQA, GOOD.replace("return torch.softmax(scores, dim=-1) @ v", averaged), seed=3)
    assert verdict.status == "fail"
    assert "wrong shape" in failing_message(verdict)


def test_wrong_dtype_is_named(judge: Judge) -> None:
    verdict = judge.check(GQA, GOOD.replace("    rep = q.shape[1]", "    q, k, v = q.double(), k.double(), v.double()\n    rep = q.shape[1]"), seed=3)
    assert verdict.status == "fail"
    assert "wrong dtype: got float64, expected float" in "\n".join(c.message for c in verdict.checks)


def test_returning_an_input_is_refused(judge: Judge) -> None:
    verdict = judge.check(GQA, SIG + "    return q\n", seed=3)
    assert verdict.status == "fail"
    assert "returned its input `q`" in failing_message(verdict)


def test_non_tensor_result_is_named(judge: Judge) -> None:
    verdict = judge.check(GQA, SIG + "    return [1, 2]\n", seed=3)
    assert verdict.status == "fail"
    assert "returned a list" in failing_message(verdict)


def test_gqa_reference_wrong_answers_and_alternatives_hold(judge: Judge) -> None:
    report = verify([GQA], judge)
    (ex,) = report.exercises
    assert report.ok, ex.problems
    assert ex.reference == "pass"
    assert ex.wrong_answers_total >= 3 and ex.wrong_answers_caught == ex.wrong_answers_total
    assert ex.alternatives_total >= 1 and ex.alternatives_passed == ex.alternatives_total


LOOSE_MODULE = '''
import torch
from hypothesis import strategies as st
from llmq.judge.kit import check

TOLERANCES = {torch.float32: (0.5, 100.0)}
WRONG_ANSWERS = {}
ALTERNATIVES = {}

def reference(x):
    return 2 * x

@check("matches the reference")
def matches(ctx):
    n = ctx.draw(st.integers(1, 5))
    x = ctx.randn(n)
    ctx.assert_close(ctx.call(x), ctx.reference(x))
'''


def test_a_tolerance_that_accepts_zeros_is_a_bank_error_not_a_pass(judge: Judge, tmp_path: Path) -> None:
    module = tmp_path / "double.py"
    module.write_text(LOOSE_MODULE)
    exercise = ExerciseRef("tmp.double", module, "double")
    verdict = judge.check(exercise, "import torch\ndef double(x):\n    return torch.zeros_like(x)\n", seed=1)
    assert verdict.status == "error"
    assert "all-zero output" in failing_message(verdict)
    module.write_text(LOOSE_MODULE.replace("(0.5, 100.0)", "(1.0, 0.0)"))
    verdict = judge.check(exercise, "def double(x):\n    return 2 * x\n", seed=1)
    assert verdict.status == "error"
    assert "accepts zeros" in failing_message(verdict)


def test_the_client_never_imports_torch() -> None:
    code = ("import sys, llmq.judge, llmq.judge.client, llmq.judge.verify, llmq.judge.verdict\n"
            "assert 'torch' not in sys.modules and 'hypothesis' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_cancel_stops_a_running_check_and_the_worker_goes_on(judge: Judge) -> None:
    pid = judge.ping()["pid"]
    pending = judge.submit(GQA, SIG + "    while True:\n        pass\n", seed=1, timeout_s=60)
    time.sleep(0.5)
    pending.cancel()
    with pytest.raises(Cancelled):
        pending.result(timeout=30)
    assert judge.check(GQA, GOOD, seed=1).status == "pass"
    assert judge.ping()["pid"] == pid


@pytest.mark.slow  # starts processes of its own or moves a gigabyte
def test_the_worker_is_restarted_when_it_dies() -> None:
    with Judge() as judge:
        first = judge.ping()["pid"]
        os.kill(first, signal.SIGKILL)
        verdict = judge.check(GQA, GOOD, seed=1)
        assert verdict.status == "pass"
        assert judge.ping()["pid"] != first
        assert judge.restarts == 1


DRIVER_MODULE = '''
import torch
from hypothesis import strategies as st
from llmq.judge.kit import check, sandboxed

WRONG_ANSWERS = {}
ALTERNATIVES = {}

def reference(x):
    return x.cumsum(0)

@sandboxed
def twice(solution, x):
    """Runs inside the sandbox, next to the solution: calls it twice, returns both results."""
    return solution(x), solution(x)

@check("the same answer twice, and the right one")
def deterministic(ctx):
    n = ctx.draw(st.integers(1, 6))
    x = ctx.randn(n, dtype=torch.float64)
    first, second = ctx.run("twice", x)
    ctx.assert_equal(first, second)
    ctx.assert_close(first, ctx.reference(x))
'''


def test_a_sandboxed_driver_runs_next_to_the_solution(judge: Judge, tmp_path: Path) -> None:
    module = tmp_path / "cumsum.py"
    module.write_text(DRIVER_MODULE)
    exercise = ExerciseRef("tmp.cumsum", module, "cumsum")
    good = judge.check(exercise, "def cumsum(x):\n    return x.cumsum(0)\n", seed=1)
    assert good.status == "pass", good.summary
    flaky = "import random\ndef cumsum(x):\n    return x.cumsum(0) + random.random()\n"
    verdict = judge.check(exercise, flaky, seed=1)
    assert verdict.status == "fail" and "wrong result" in failing_message(verdict)
