"""`llmq check` and `llmq verify` as a user runs them: exit codes, JSON, the report, --seed, --watch."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest

from llmq.cli import main
from llmq.judge import jail
from llmq.judge.commands import verify_exercises, watch_file
from tests.judge.conftest import GOOD, GQA

WRONG = GOOD.replace("diagonal=1", "diagonal=2")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_json_of_a_correct_solution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solution = tmp_path / "gqa.py"
    solution.write_text(GOOD)
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--json", "--seed", "3")
    verdict = json.loads(out)
    assert code == 0
    assert verdict["exercise"] == "attention.gqa" and verdict["status"] == "pass" and verdict["seed"] == 3
    assert isinstance(verdict["elapsed_s"], float)
    assert all(set(c) >= {"name", "status", "message"} and c["status"] == "pass" for c in verdict["checks"])
    assert verdict["isolation"] == jail.isolation_level()  # what this machine can do, nothing more


def test_check_of_a_wrong_solution_exits_1_and_reproduces_with_its_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    solution = tmp_path / "gqa.py"
    solution.write_text(WRONG)
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--json", "--seed", "9")
    first = json.loads(out)
    assert code == 1 and first["status"] == "fail"
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--json", "--seed", "9")
    assert [c["message"] for c in json.loads(out)["checks"]] == [c["message"] for c in first["checks"]]


def test_check_report_without_json_lists_each_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solution = tmp_path / "gqa.py"
    solution.write_text(WRONG)
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--seed", "9")
    assert code == 1
    assert "attention.gqa: FAIL" in out and "[PASS] uses no forbidden call" in out
    assert "[FAIL] matches the reference" in out and "values differ" in out and "--seed 9" in out
    # Point 6 of issue 12: the input once per failing check, hypothesis's internals only with
    # --verbose (and in --json), the seed line once at the end.
    assert "input: grouped_query_attention(" in out and "drawn (shrunk example)" not in out
    assert out.count("--seed 9") == 1 and out.rstrip().splitlines()[-2].strip().startswith("seed 9:")
    assert out.count("sandbox: ") == 1
    said = "sandbox: full isolation" if jail.isolation_level() == "full" else "sandbox: limits only"
    assert said in out


@pytest.mark.slow  # starts a judge of its own
def test_without_isolation_every_verdict_says_limits_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(jail.ENV_SWITCH, "limits-only")  # what a system without user namespaces gets
    solution = tmp_path / "gqa.py"
    solution.write_text(GOOD)
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--json", "--seed", "3")
    assert code == 0 and json.loads(out)["isolation"] == "limits-only"
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--seed", "3")
    assert "sandbox: limits only — this system cannot isolate; the submission could read your files" in out


def test_check_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "attention.nope", str(tmp_path / "x.py"))
    assert code == 2 and "unknown question id" in err
    code, _, err = run(capsys, "check", "attention.gqa", str(tmp_path / "missing.py"))
    assert code == 2 and "missing.py" in err


@pytest.mark.slow  # starts processes of its own or moves a gigabyte
def test_watch_checks_again_when_the_file_is_saved(tmp_path: Path) -> None:
    solution = tmp_path / "gqa.py"
    solution.write_text(WRONG)
    out = io.StringIO()
    stop = threading.Event()

    def save_fix_then_stop() -> None:
        deadline = time.monotonic() + 60
        while "FAIL" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.1)
        solution.write_text(GOOD + "\n# fixed\n")
        while "PASS  (" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=save_fix_then_stop, daemon=True).start()
    code = watch_file(GQA, solution, seed=1, out=out, keep_going=lambda: not stop.is_set())
    text = out.getvalue()
    assert "attention.gqa: FAIL" in text and "changed: checking again" in text and "attention.gqa: PASS" in text
    assert code == 0


def test_verify_json_for_gqa() -> None:
    out = io.StringIO()
    assert verify_exercises([GQA], as_json=True, out=out) == 0
    report = json.loads(out.getvalue())
    assert report["ok"] is True and report["bank_errors"] == []
    (entry,) = report["exercises"]
    assert entry["id"] == "attention.gqa" and entry["reference"] == "pass"
    assert entry["wrong_answers_caught"] == entry["wrong_answers_total"] >= 3


WEAK_MODULE = """
import torch
from hypothesis import strategies as st
from llmq.judge.kit import check

def reference(x):
    return x.abs()

@check("keeps the shape")
def shape_only(ctx):
    x = ctx.randn(ctx.draw(st.integers(1, 4)))
    out = ctx.call(x)
    if out.shape != x.shape:
        ctx.fail("wrong shape")

WRONG_ANSWERS = {"returns x unchanged": "def absolute(x):\\n    return x.clone()\\n"}
ALTERNATIVES = {"square root of the square": "def absolute(x):\\n    return (x * x).sqrt()\\n"}
"""


def test_verify_reports_weak_checks_and_missing_wrong_answers(tmp_path: Path) -> None:
    from llmq.judge.client import ExerciseRef

    module = tmp_path / "absolute.py"
    module.write_text(WEAK_MODULE)
    out = io.StringIO()
    assert verify_exercises([ExerciseRef("tmp.absolute", module, "absolute")], as_json=True, out=out) == 1
    report = json.loads(out.getvalue())
    (entry,) = report["exercises"]
    assert report["ok"] is False and entry["reference"] == "pass"
    assert entry["wrong_answers_caught"] == 0 and entry["wrong_answers_total"] == 1
    problems = "\n".join(entry["problems"])
    assert "'returns x unchanged' passes every check (the checks are too weak)" in problems
    assert "WRONG_ANSWERS has 1 entry; at least 6 are required" in problems


BROKEN = {  # source -> (status, the check that fails, words of its message)
    "syntax error": (
        GOOD.replace("def grouped_query_attention(q, k, v, causal=True):", "def grouped_query_attention(q, k, v, causal=True)"),
        "error",
        "solution loads and defines `grouped_query_attention`",
        "SyntaxError",
    ),
    "missing function": (
        GOOD.replace("def grouped_query_attention(", "def gqa("),
        "error",
        "solution loads and defines `grouped_query_attention`",
        "defines no function named",
    ),
    "forbidden import": (
        "from torch.nn.functional import scaled_dot_product_attention\n" + GOOD,
        "fail",
        "uses no forbidden call",
        "scaled_dot_product_attention",
    ),
}


class _NoJudge:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the judge's worker was started for a file it would refuse unrun")


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_files_are_answered_without_starting_the_worker(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import llmq.judge.commands as commands

    source, status, failing, words = BROKEN[kind]
    solution = tmp_path / "gqa.py"
    solution.write_text(source)
    monkeypatch.setattr(commands, "Judge", _NoJudge)
    out = io.StringIO()
    assert commands.check_file(GQA, solution, as_json=True, seed=4, out=out) == 1
    verdict = json.loads(out.getvalue())
    assert verdict["status"] == status and verdict["seed"] == 4
    (bad,) = [c for c in verdict["checks"] if c["status"] == "fail"]
    assert bad["name"] == failing and words in bad["message"]
    assert verdict["ran"] is False and verdict["isolation"] == "limits-only"  # the JSON never claims more
    text = io.StringIO()
    commands.check_file(GQA, solution, seed=4, out=text)
    # The report says no sandbox was needed, not that this system cannot isolate (it can).
    assert "sandbox: not used — the solution was refused before it ran" in text.getvalue()
    assert "cannot isolate" not in text.getvalue()


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_quick_answer_is_the_judges_answer(kind: str, judge) -> None:
    from llmq.judge.commands import quick_verdict

    source, *_ = BROKEN[kind]
    quick = quick_verdict(GQA, source, "solution.py", seed=4)
    slow = judge.check(GQA, source, seed=4)
    assert quick is not None
    assert (quick.status, quick.summary) == (slow.status, slow.summary)
    assert [(c.name, c.status, c.message) for c in quick.checks] == [(c.name, c.status, c.message) for c in slow.checks]
    # The judge loads the module in the sandbox to find a missing function; the others never run.
    assert slow.ran is (kind == "missing function") and quick.ran is False


def test_a_file_that_may_run_code_at_load_is_left_to_the_judge() -> None:
    from llmq.judge.commands import quick_verdict

    for source in ("import numpy\ndef other(x):\n    return x\n", "x = 1 / 0\n", "globals()['grouped_query_attention'] = len\n"):
        assert quick_verdict(GQA, source, "solution.py") is None


def test_checking_a_broken_file_imports_no_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    solution = tmp_path / "gqa.py"
    solution.write_text(BROKEN["syntax error"][0])
    code = (
        "import sys, io\n"
        "from llmq.judge.commands import check_file\n"
        "from llmq.judge.client import ExerciseRef\n"
        f"GQA = ExerciseRef('attention.gqa', __import__('pathlib').Path({str(GQA.answer_path)!r}), 'grouped_query_attention')\n"
        f"assert check_file(GQA, __import__('pathlib').Path({str(solution)!r}), out=io.StringIO()) == 1\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_check_leaves_no_hypothesis_folder_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    solution = tmp_path / "gqa.py"
    solution.write_text(WRONG)  # a failing run: hypothesis shrinks, the most it ever does
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, "check", "attention.gqa", str(solution), "--seed", "2")
    assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gqa.py"]


def test_check_verbose_adds_what_hypothesis_drew(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solution = tmp_path / "gqa.py"
    solution.write_text(WRONG)
    code, out, _ = run(capsys, "check", "attention.gqa", str(solution), "--seed", "9", "--verbose")
    assert code == 1 and "drawn (shrunk example): " in out and out.count("--seed 9") == 1
