"""`llmq verify` when an answer module itself is at fault (raises or hangs at import): a bank error
naming the module, in the text and the JSON, never a traceback, and the other exercises still judged."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from llmq.judge.client import ExerciseRef, JudgeUnavailable
from llmq.judge.commands import verify_exercises
from llmq.judge.verdict import LOADS, CheckResult, Verdict
from llmq.judge.verify import MODULE_LOADS_CHECK, render_verify_report, verify


class _Done:
    """A Pending that already has its answer (or its error)."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error, self.cancelled = value, error, False

    def result(self, timeout: float | None = None) -> Any:
        if self.error is not None:
            raise self.error
        return self.value

    def add_done_callback(self, fn: Any) -> None:
        fn(self)

    def cancel(self) -> None:
        self.cancelled = True


class _FakeJudge:
    """Answers as the worker does for three modules: a good one, one whose describe overran the
    worker's limit (it hangs at import), one the harness could not load when judging."""

    def __init__(self, good: Path, hangs: Path, breaks: Path) -> None:
        self.good, self.hangs, self.breaks = good, hangs, breaks

    def submit_describe(self, answer_path: Path) -> _Done:
        if answer_path == self.hangs:
            return _Done(error=JudgeUnavailable("timed out: the judge stopped the run (it overran its time limit)"))
        return _Done({"checks": ["matches"], "wrong_answers": ["w1"], "alternatives": [], "forbidden": [], "problems": []})

    def submit(self, exercise: ExerciseRef, *args: Any, **kwargs: Any) -> _Done:
        if exercise.answer_path == self.breaks:
            message = f"{self.breaks}: did not finish loading within 10 s (a bank bug; please report)"
            return _Done([Verdict(exercise.id, "error", [CheckResult(MODULE_LOADS_CHECK, "fail", message)])])
        passed = kwargs.get("submission") == "reference"
        return _Done([Verdict(exercise.id, "pass" if passed else "fail", seed=s) for s in kwargs["seeds"]])


def test_modules_that_hang_or_break_at_import_are_bank_errors_naming_them(tmp_path: Path) -> None:
    good, hangs, breaks = (tmp_path / f"{name}.py" for name in ("good", "hangs", "breaks"))
    exercises = [ExerciseRef(f"t.{p.stem}", p, "f") for p in (good, hangs, breaks)]
    report = verify(exercises, _FakeJudge(good, hangs, breaks))  # type: ignore[arg-type]
    assert report.ok is False
    assert [ex.id for ex in report.exercises] == ["t.good", "t.hangs", "t.breaks"]
    ok, hung, broken = report.exercises
    assert ok.ok and ok.wrong_answers_caught == 1
    assert hung.reference == "fail" and broken.reference == "fail"
    assert broken.wrong_answers_caught == 0  # a module that does not load catches nothing
    assert any(str(hangs) in e and "overran its time limit" in e for e in report.bank_errors)
    assert any(str(breaks) in e and "did not finish loading" in e for e in report.bank_errors)
    text = render_verify_report(report)
    assert f"bank error: t.hangs: answer module {hangs} could not be loaded" in text
    assert "FAILED: 1 of 3 exercises hold, 2 bank errors" in text


def test_verify_with_the_real_judge_reports_a_module_that_raises_at_import(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('this answer module is broken on purpose')\n")
    out = io.StringIO()
    assert verify_exercises([ExerciseRef("tmp.broken", broken, "f")], as_json=True, out=out) == 1
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    (error,) = report["bank_errors"]
    assert str(broken) in error and "broken on purpose" in error
    (entry,) = report["exercises"]
    assert entry["id"] == "tmp.broken" and entry["reference"] == "fail"


def test_verify_with_the_real_judge_reports_a_module_that_hangs_at_import(tmp_path: Path) -> None:
    hangs = tmp_path / "hangs.py"
    hangs.write_text("while True:\n    pass\n")
    out = io.StringIO()
    assert verify_exercises([ExerciseRef("tmp.hangs", hangs, "f")], out=out) == 1
    text = out.getvalue()
    assert f"bank error: tmp.hangs: {hangs}" in text and "Traceback" not in text
    assert "FAILED: 0 of 1 exercise holds, 1 bank error" in text


class _LuckyJudge(_FakeJudge):
    """A bank where wrong answer "w1" slips through under seed 3 only."""

    def __init__(self) -> None:
        self.seeds: list[int] = []

    def submit_describe(self, answer_path: Path) -> _Done:
        return _Done(
            {"checks": ["matches"], "wrong_answers": ["w1", "w2"], "alternatives": ["a1"], "forbidden": [], "problems": []}
        )

    def submit(self, exercise: ExerciseRef, *args: Any, **kwargs: Any) -> _Done:
        verdicts = []
        for seed in kwargs["seeds"]:
            self.seeds.append(seed)
            lucky = kwargs.get("name") == "w1" and seed == 3
            passed = kwargs.get("submission") in ("reference", "alternative") or lucky
            verdicts.append(Verdict(exercise.id, "pass" if passed else "fail", seed=seed))
        return _Done(verdicts)


def test_a_wrong_answer_caught_under_some_seeds_only_is_a_bank_error_naming_it(tmp_path: Path) -> None:
    judge = _LuckyJudge()
    report = verify([ExerciseRef("t.lucky", tmp_path / "lucky.py", "f")], judge)  # type: ignore[arg-type]
    assert sorted(set(judge.seeds)) == [0, 1, 2, 3, 4] and len(judge.seeds) == 4 * 5  # reference, w1, w2, a1
    assert report.ok is False
    (error,) = report.bank_errors
    assert error.startswith("t.lucky: wrong answer 'w1' is caught only by luck") and "under seed 3 " in error
    (ex,) = report.exercises
    assert ex.wrong_answers_caught == 1 and ex.wrong_answers_total == 2 and ex.reference == "pass"


def test_the_gpu_track_runs_two_seeds(tmp_path: Path) -> None:
    judge = _LuckyJudge()
    ref = ExerciseRef("t.gpu", tmp_path / "gpu.py", "f")
    gpu = type("GpuRef", (), {"id": ref.id, "answer_path": ref.answer_path, "function": "f", "timeout_s": 10.0, "track": "gpu"})()
    report = verify([gpu], judge)  # type: ignore[arg-type, list-item]
    assert sorted(set(judge.seeds)) == [0, 1] and report.ok  # seed 3, w1's lucky one, is not among them


class _UnloadableJudge(_LuckyJudge):
    """Wrong answer "w2" does not load (a syntax error): every seed "fails" before any check runs."""

    def submit(self, exercise: ExerciseRef, *args: Any, **kwargs: Any) -> _Done:
        if kwargs.get("name") != "w2":
            return super().submit(exercise, *args, **kwargs)
        loads = CheckResult(
            LOADS.format(function="f"), "fail", '  File "solution.py", line 7\nIndentationError: unexpected indent'
        )
        return _Done([Verdict(exercise.id, "error", [loads], seed=s) for s in kwargs["seeds"]])


def test_a_wrong_answer_that_does_not_load_is_a_bank_error_not_a_catch(tmp_path: Path) -> None:
    report = verify([ExerciseRef("t.unloadable", tmp_path / "u.py", "f")], _UnloadableJudge(), seeds=(0, 1))  # type: ignore[arg-type]
    assert report.ok is False
    assert report.bank_errors == [
        "t.unloadable: wrong answer 'w2' does not load, so it fails with no check run (it tests nothing): "
        "IndentationError: unexpected indent"
    ]
    (ex,) = report.exercises
    assert ex.wrong_answers_caught == 1 and ex.wrong_answers_total == 2  # w1 (lucky under seed 3 only) counts, w2 does not
