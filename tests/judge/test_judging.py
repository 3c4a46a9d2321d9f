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
from llmq.judge.verdict import render_text
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
    assert len(verdict.checks) == 2 + len(
        judge.submit_describe(GQA.answer_path).result()["checks"]
    )  # loads, no forbidden call, each check


def test_failed_check_message_names_input_errors_index_and_seed(judge: Judge) -> None:
    wrong = GOOD.replace("/ math.sqrt(d)", "")
    verdict = judge.check(GQA, wrong, seed=5)
    assert verdict.status == "fail"
    message = failing_message(verdict)
    for phrase in [
        "values differ at",
        "first differing index [",
        "largest absolute error",
        "largest relative error",
        "input: grouped_query_attention(q=",
        "(1, ",
    ]:
        assert phrase in message, message
    assert message.count("input: ") == 1 and "drawn (shrunk example)" not in message and "seed" not in message
    # Hypothesis's internals travel beside the message (--json, --verbose); the seed once, at the end.
    detail = next(c.detail for c in verdict.checks if c.status == "fail")
    assert detail.startswith("drawn (shrunk example): ")
    text = render_text(verdict)
    assert "drawn (shrunk example)" not in text and "drawn (shrunk example)" in render_text(verdict, verbose=True)
    assert text.count("--seed 5") == 1 and "seed 5: `llmq check attention.gqa FILE --seed 5` reproduces this run" in text


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
    verdict = judge.check(
        GQA,
        GOOD.replace("    rep = q.shape[1]", "    q, k, v = q.double(), k.double(), v.double()\n    rep = q.shape[1]"),
        seed=3,
    )
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


LOOSE_MODULE = """
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
"""


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
    code = (
        "import sys, llmq.judge, llmq.judge.client, llmq.judge.verify, llmq.judge.verdict\n"
        "assert 'torch' not in sys.modules and 'hypothesis' not in sys.modules, 'torch imported'\n"
    )
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


def test_a_driver_that_needs_the_reference_is_a_bank_error(judge: Judge, tmp_path: Path) -> None:
    module = tmp_path / "leaky.py"
    module.write_text(DRIVER_MODULE.replace("return solution(x), solution(x)", "return solution(x), reference(x)"))
    verdict = judge.check(ExerciseRef("tmp.leaky", module, "cumsum"), "def cumsum(x):\n    return x.cumsum(0)\n", seed=1)
    assert verdict.status == "error"
    message = failing_message(verdict)
    assert "`twice` uses `reference`" in message and "never enters the sandbox" in message and "bank bug" in message


def test_an_answer_module_that_hangs_at_import_is_a_bank_error_not_a_timeout(judge: Judge, tmp_path: Path) -> None:
    module = tmp_path / "hangs.py"
    module.write_text("while True:\n    pass\n" + DRIVER_MODULE)
    verdict = judge.check(ExerciseRef("tmp.hangs", module, "cumsum"), "def cumsum(x):\n    return x.cumsum(0)\n", seed=1)
    assert verdict.status == "error"
    assert f"the answer module {module} did not load within 10 s (a bank bug" in failing_message(verdict)
    assert judge.check(GQA, GOOD, seed=1).status == "pass"


def test_an_answer_module_that_raises_at_import_is_a_bank_error(judge: Judge, tmp_path: Path) -> None:
    module = tmp_path / "raises.py"
    module.write_text("raise RuntimeError('broken bank')\n")
    verdict = judge.check(ExerciseRef("tmp.raises", module, "f"), "def f(x):\n    return x\n", seed=1)
    assert verdict.status == "error"
    assert "RuntimeError: broken bank (a bank bug" in failing_message(verdict)


CLIENT = """
import os, sys, time
sys.path.insert(0, {root!r})
from llmq.judge.client import Judge
judge = Judge()
print(judge.ping(timeout=120)["pid"], flush=True)
if os.fork() == 0:  # a child that holds the worker's stdin open, as a forked helper of an app would
    time.sleep(15)
    os._exit(0)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead worker waits as a zombie until init collects it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow  # starts processes of its own
def test_a_worker_whose_client_was_killed_exits() -> None:
    client = subprocess.Popen([sys.executable, "-c", CLIENT.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(client.stdout.readline())
        assert _running(worker)
        client.kill()
        client.wait()
        for _ in range(100):  # polled for up to 10 s; it goes within about a second
            if not _running(worker):
                break
            time.sleep(0.1)
        assert not _running(worker), "the judge's worker outlived its client"
    finally:
        client.kill()
        client.wait()


def test_a_solution_path_that_is_not_a_regular_file_or_too_big_is_refused(judge: Judge, tmp_path: Path) -> None:
    from llmq.judge.client import SourceRefused

    with pytest.raises(SourceRefused, match="not a regular file"):
        judge.submit(GQA, Path("/dev/zero"))
    big = tmp_path / "big.py"
    big.write_text("#" * (1024 * 1024 + 1))
    with pytest.raises(SourceRefused, match="at most 1 MiB"):
        judge.submit(GQA, big)


def _worker_answer(nonce_sent: str) -> dict:
    """What the worker tells its client when a harness's verdict line carries `nonce_sent`
    ("right": the job's own nonce): the worker's own code path, with a child that has exited."""
    import json
    import selectors

    from llmq.judge import worker as worker_mod

    out_r, out_w = os.pipe()
    worker = worker_mod.Worker(out_w, jobs=1)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.close(w)
    job = worker_mod.Job(7, "check", {"request": {"exercise": "attention.gqa", "seed": 3}}, pid=pid, fd=r)
    job.nonce = worker.nonces.new()
    right = worker.nonces.page[job.nonce * 16 : (job.nonce + 1) * 16].hex()  # what the harness got
    worker.running[r] = job
    worker.selector.register(r, selectors.EVENT_READ, job)
    sent = right if nonce_sent == "right" else nonce_sent
    job.buf += json.dumps({"nonce": sent, "verdict": {"exercise": "attention.gqa", "status": "pass", "checks": []}}).encode()
    worker.finished(job)
    answer = json.loads(os.read(out_r, 1 << 16))
    os.close(out_r)
    os.close(out_w)
    return answer["verdict"]


def test_a_verdict_without_the_jobs_nonce_is_refused() -> None:
    assert _worker_answer("right")["status"] == "pass"
    forged = _worker_answer("00" * 16)
    assert forged["status"] == "crash"
    assert forged["checks"][0]["message"] == "the verdict channel carried something that is not the harness's verdict"


def test_the_worker_gets_only_the_environment_it_needs() -> None:
    from llmq.judge.client import worker_environment

    env = worker_environment(
        {
            "API_TOKEN": "secret",
            "AWS_SECRET_ACCESS_KEY": "k",
            "PATH": "/usr/bin",
            "HOME": "/home/u",
            "LLMQ_SANDBOX": "limits-only",
            "TRITON_INTERPRET": "1",
            "LC_ALL": "C",
        }
    )
    assert env == {"PATH": "/usr/bin", "HOME": "/home/u", "LLMQ_SANDBOX": "limits-only", "TRITON_INTERPRET": "1", "LC_ALL": "C"}


@pytest.mark.parametrize(
    "line, words",
    [
        ("    q.requires_grad_()\n", "modified its input `q` in place (requires_grad was False, now True"),
        ("    k.grad = torch.zeros_like(k)\n", "modified its input `k` in place (its .grad was None, now a float"),
        ("    v.set_(v.clone())\n", "modified its input `v` in place (its storage was replaced"),
    ],
)
def test_changing_an_input_besides_its_values_is_named(judge: Judge, line: str, words: str) -> None:
    source = GOOD.replace(SIG, SIG + line)
    assert source != GOOD
    verdict = judge.check(GQA, source, seed=2)
    assert verdict.status == "fail"
    assert words in failing_message(verdict), failing_message(verdict)


def test_the_worker_keeps_no_descriptor_per_check(judge: Judge) -> None:
    """`llmq verify` runs some 2000 checks on one worker: a descriptor kept per check (the jail's
    pidfd once was) ends in harnesses that crash on descriptors past 1023."""
    judge.check(GQA, GOOD, seed=1)
    judge.ping()  # answered after the worker has started its spare sandbox for the next check
    pid = judge.worker_pid()
    before = len(os.listdir(f"/proc/{pid}/fd"))
    for seed in range(12):
        judge.check(GQA, SIG + "    return q.clone()\n", seed=seed)
    judge.ping()
    assert len(os.listdir(f"/proc/{pid}/fd")) <= before + 1
