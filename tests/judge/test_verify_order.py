"""`llmq verify` hands the worker its longest runs first (GPU-track runs, then the references and
alternatives that run every check, wrong answers last), so both cores stay busy to the end; the
report still lists the exercises, answers and seeds in bank order, each with its own verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmq.judge.verdict import CheckResult, Verdict
from llmq.judge.verify import parallelism, render_verify_report, verify


@dataclass(frozen=True)
class _Exercise:
    id: str
    answer_path: Path
    function: str = "f"
    timeout_s: float = 10.0
    track: str = "cpu"


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self, timeout: float | None = None) -> Any:
        return self.value

    def add_done_callback(self, fn: Any) -> None:
        fn(self)

    def cancel(self) -> None:
        pass


class _RecordingJudge:
    """Records the order of submissions; every wrong answer named "lucky" passes under seed 1 only."""

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = jobs
        self.queued: list[tuple[str, str, str, int]] = []
        self.described: list[Path] = []
        self.series: list[int] = []  # how many seeds each submit asked for

    def submit_describe(self, answer_path: Path) -> _Done:
        self.described.append(answer_path)
        return _Done({"checks": ["matches"], "wrong_answers": ["w1", "lucky"], "alternatives": ["a1"], "problems": []})

    def submit(self, exercise: _Exercise, *args: Any, **kwargs: Any) -> _Done:
        """A series: one verdict per seed, in order (Judge.submit with `seeds`)."""
        kind, name, seeds = kwargs["submission"], kwargs.get("name", ""), kwargs["seeds"]
        self.series.append(len(seeds))
        verdicts = []
        for seed in seeds:
            self.queued.append((exercise.id, kind, name, seed))
            passes = kind != "wrong" or (name == "lucky" and seed == 1)
            check = CheckResult("matches", "pass" if passes else "fail", "")
            verdicts.append(Verdict(exercise.id, "pass" if passes else "fail", [check], seed=seed, cpu_s=0.25))
        return _Done(verdicts)


def test_the_longest_runs_are_queued_first_and_the_report_keeps_bank_order(tmp_path: Path) -> None:
    exercises = [
        _Exercise("cpu.a", tmp_path / "a.py"),
        _Exercise("gpu.b", tmp_path / "b.py", track="gpu"),
        _Exercise("cpu.c", tmp_path / "c.py"),
    ]
    judge = _RecordingJudge()
    report = verify(exercises, judge, seeds=(0, 1, 2))  # type: ignore[arg-type]

    kinds = [(ex, kind) for ex, kind, _, _ in judge.queued]
    gpu_full = [k for k in kinds if k[0] == "gpu.b" and k[1] != "wrong"]
    assert kinds[: len(gpu_full)] == gpu_full  # the GPU exercise's reference and alternative first
    assert [k[1] for k in kinds[-12:]] == ["wrong"] * 12  # the CPU wrong answers last
    assert [k[0] for k in kinds[-12:]] == ["cpu.a"] * 6 + ["cpu.c"] * 6  # in bank order
    assert {s for ex, _, _, s in judge.queued if ex == "gpu.b"} == {0, 1}  # the GPU track's two seeds
    assert len(judge.queued) == 2 * 4 * 3 + 4 * 2  # every submission once
    assert sorted(judge.series) == [2] * 4 + [3] * 8  # each submission as one series of its seeds

    assert [ex.id for ex in report.exercises] == ["cpu.a", "gpu.b", "cpu.c"]
    for ex in report.exercises:  # each answer judged on its own verdicts, not another's
        assert ex.reference == "pass" and ex.alternatives_passed == 1
        assert ex.wrong_answers_caught == 1 and ex.wrong_answers_total == 2
    assert report.bank_errors == [
        f"{ex}: wrong answer 'lucky' is caught only by luck: it passes every check under seed 1 "
        f"(caught under {seeds}); make a check cover its regime every run"
        for ex, seeds in (("cpu.a", "seeds 0, 2"), ("gpu.b", "seed 0"), ("cpu.c", "seeds 0, 2"))
    ]


def test_several_workers_share_the_runs_each_run_once_and_the_report_says_how_many(tmp_path: Path) -> None:
    exercises = [_Exercise(f"cpu.{name}", tmp_path / f"{name}.py") for name in "abcd"]
    judges = [_RecordingJudge(jobs=2), _RecordingJudge(jobs=2)]
    report = verify(exercises, judges, seeds=(0, 1, 2))  # type: ignore[arg-type]

    first, second = (set(j.queued) for j in judges)
    assert not first & second  # no run judged twice
    assert len(first | second) == len(judges[0].queued) + len(judges[1].queued) == 4 * 4 * 3
    assert abs(len(first) - len(second)) <= 3  # each run where one just finished: here, in turn
    # each worker gets long runs (references, alternatives) as well as short ones (wrong answers)
    for judge in judges:
        kinds = {kind for _, kind, _, _ in judge.queued}
        assert "wrong" in kinds and kinds & {"reference", "alternative"}
    assert sorted(judges[0].described + judges[1].described) == sorted(ex.answer_path for ex in exercises)
    assert (report.workers, report.jobs) == (2, 4)
    assert [ex.id for ex in report.exercises] == ["cpu.a", "cpu.b", "cpu.c", "cpu.d"]
    assert [ex.cpu_s for ex in report.exercises] == [4 * 3 * 0.25] * 4  # each exercise's own 12 runs' CPU
    last = render_verify_report(report).splitlines()[-1]
    assert last.startswith("FAILED: 0 of 4 exercises hold, 4 bank errors (")  # each has a "lucky" wrong answer
    assert last.endswith(" s, 4 submissions at a time on 2 workers)")


class _Held(_Done):
    """A run that is still going when verify hands out the next ones (it never says it is done)."""

    def add_done_callback(self, fn: Any) -> None:
        pass


class _StuckJudge(_RecordingJudge):
    """A worker busy with long runs for the whole of verify's handing out."""

    def submit(self, exercise: _Exercise, *args: Any, **kwargs: Any) -> _Done:
        return _Held(super().submit(exercise, *args, **kwargs).value)


def test_runs_go_where_a_slot_is_free_not_to_a_busy_worker(tmp_path: Path) -> None:
    exercises = [_Exercise(f"cpu.{name}", tmp_path / f"{name}.py") for name in "abcd"]
    busy, idle = _StuckJudge(jobs=2), _RecordingJudge(jobs=2)
    report = verify(exercises, [busy, idle], seeds=(0, 1, 2))  # type: ignore[arg-type]
    assert len(busy.series) == 2 + 1  # its two slots and one run waiting, no more
    assert len(busy.series) + len(idle.series) == 4 * 4  # every submission once, as one series
    assert [ex.id for ex in report.exercises] == ["cpu.a", "cpu.b", "cpu.c", "cpu.d"]
    assert all(ex.reference == "pass" and ex.wrong_answers_caught == 1 for ex in report.exercises)


class _CutShort:
    """A judge whose series stop after their first seed (as when a sandbox ends), and which
    judges single seeds as asked."""

    jobs = 2

    def __init__(self) -> None:
        self.asked: list[tuple[str, tuple[int, ...]]] = []

    def submit_describe(self, answer_path: Path) -> Any:
        return _Done({"checks": ["matches"], "wrong_answers": ["w1"], "alternatives": [], "problems": []})

    def submit(self, exercise: Any, *args: Any, **kwargs: Any) -> Any:
        seeds = tuple(kwargs["seeds"])
        self.asked.append((kwargs["submission"], seeds))
        passes = kwargs["submission"] == "reference"
        return _Done([Verdict(exercise.id, "pass" if passes else "fail", seed=seeds[0])])


def test_verify_judges_the_seeds_a_series_left_one_by_one(tmp_path: Path) -> None:
    judge = _CutShort()
    report = verify([_Exercise("t.cut", tmp_path / "cut.py")], judge, seeds=(0, 1, 2))  # type: ignore[arg-type]
    assert sorted(judge.asked) == sorted(
        [("reference", (0, 1, 2)), ("wrong", (0, 1, 2))] + [(kind, (s,)) for kind in ("reference", "wrong") for s in (1, 2)]
    )
    (ex,) = report.exercises
    assert report.ok and ex.reference == "pass" and ex.wrong_answers_caught == 1


def test_one_run_per_core_each_on_a_worker_of_its_own_at_most_eight() -> None:
    assert parallelism(2) == (2, 1)  # this project's 2-core machine: 2 runs on 2 workers
    assert parallelism(1) == (1, 1)
    assert parallelism(None) == (1, 1)  # os.cpu_count() may not know
    assert parallelism(3) == (3, 1)
    assert parallelism(64) == (8, 1)
