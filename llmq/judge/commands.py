"""What `llmq check` and the judge's half of `llmq verify` do, so the CLI handlers stay one call.

Never imports torch: everything runs through the warm worker (llmq.judge.client).
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

from llmq.judge.client import Cancelled, ExerciseLike, Judge
from llmq.judge.verdict import Verdict, render_text
from llmq.judge.verify import render_text as render_verify
from llmq.judge.verify import verify

EXIT_OK, EXIT_FAIL = 0, 1
WATCH_POLL_S = 0.2


def _print_verdict(verdict: Verdict, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
    else:
        out.write(render_text(verdict) + "\n")
    out.flush()


@contextmanager
def _judge(given: Judge | None) -> Iterator[Judge]:
    """The caller's judge (left running), or a new one closed afterwards."""
    if given is not None:
        yield given
        return
    with Judge() as judge:
        yield judge


def check_file(
    exercise: ExerciseLike,
    path: Path,
    as_json: bool = False,
    seed: int | None = None,
    out: TextIO | None = None,
    judge: Judge | None = None,
) -> int:
    """Judge FILE once: 0 when every check passed, 1 otherwise (CONTRACTS.md exit codes)."""
    out = out or sys.stdout  # looked up now: tests and callers may have replaced it
    with _judge(judge) as running:
        verdict = running.check(exercise, path, seed=seed)
    _print_verdict(verdict, as_json, out)
    return EXIT_OK if verdict.passed else EXIT_FAIL


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def watch_file(
    exercise: ExerciseLike,
    path: Path,
    as_json: bool = False,
    seed: int | None = None,
    out: TextIO | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    judge: Judge | None = None,
) -> int:
    """Judge FILE now and again each time it is saved, until Ctrl-C (or `keep_going` says stop).
    A save during a check cancels it and starts over. Returns the last verdict's exit code."""
    out = out or sys.stdout
    code = EXIT_FAIL
    with _judge(judge) as judge:
        seen = _stamp(path)
        pending = judge.submit(exercise, path, seed=seed)
        if not as_json:
            out.write(f"watching {path} (Ctrl-C to stop)\n")
            out.flush()
        while keep_going():
            if pending is not None and pending.done():
                try:
                    verdict = pending.result()
                    _print_verdict(verdict, as_json, out)
                    code = EXIT_OK if verdict.passed else EXIT_FAIL
                except Cancelled:
                    pass
                pending = None
            now = _stamp(path)
            if now is not None and now != seen:
                seen = now
                if pending is not None:
                    pending.cancel()
                if not as_json:
                    out.write(f"\n{path} changed: checking again\n")
                    out.flush()
                pending = judge.submit(exercise, path, seed=seed)
            time.sleep(WATCH_POLL_S)
    return code


def verify_exercises(
    exercises: Iterable[ExerciseLike], as_json: bool = False, bank_errors: Iterable[str] = (), out: TextIO | None = None, jobs: int | None = None
) -> int:
    """The judge's half of `llmq verify`: 0 when everything holds, 1 otherwise. Runs as many
    submissions at a time as there are cores (up to 4)."""
    out = out or sys.stdout
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    with Judge(jobs=jobs) as judge:
        report = verify(exercises, judge, bank_errors=bank_errors)
    if as_json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        out.write(render_verify(report) + "\n")
    return EXIT_OK if report.ok else EXIT_FAIL
