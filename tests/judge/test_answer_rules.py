"""The rules an answer module must meet before `llmq verify` trusts it, counted at their
boundaries: one wrong answer too few is reported, exactly enough is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.judge.answer import MIN_WRONG_ANSWERS, load, problems

MODULE = """
from hypothesis import strategies as st
from llmq.judge.kit import check

def reference(x):
    return 2 * x

@check("doubles")
def doubles(ctx):
    x = ctx.randn(ctx.draw(st.integers(1, 4)))
    ctx.assert_close(ctx.call(x), ctx.reference(x))

WRONG_ANSWERS = {WRONG}
ALTERNATIVES = {ALTERNATIVES}
"""
ALTERNATIVE = {"sum of two": "def double(x):\n    return x + x\n"}


def write_module(folder: Path, n_wrong: int, alternatives: dict[str, str] = ALTERNATIVE) -> Path:
    wrong = {f"times {k}": f"def double(x):\n    return {k} * x\n" for k in range(3, 3 + n_wrong)}
    path = folder / "double.py"
    path.write_text(MODULE.replace("{WRONG}", repr(wrong)).replace("{ALTERNATIVES}", repr(alternatives)))
    return path


def test_one_wrong_answer_too_few_is_reported_with_the_count(tmp_path: Path) -> None:
    path = write_module(tmp_path, MIN_WRONG_ANSWERS - 1)
    found = problems(load(path))
    count = MIN_WRONG_ANSWERS - 1
    assert found == [
        f"{path}: WRONG_ANSWERS has {count} {'entry' if count == 1 else 'entries'}; at least {MIN_WRONG_ANSWERS} are required"
    ]


@pytest.mark.parametrize("extra", [0, 1])
def test_enough_wrong_answers_are_not_reported(tmp_path: Path, extra: int) -> None:
    assert problems(load(write_module(tmp_path, MIN_WRONG_ANSWERS + extra))) == []


def test_no_wrong_answers_and_no_alternative_are_both_reported(tmp_path: Path) -> None:
    path = write_module(tmp_path, 0, alternatives={})
    assert problems(load(path)) == [
        f"{path}: WRONG_ANSWERS has 0 entries; at least {MIN_WRONG_ANSWERS} are required",
        f"{path}: ALTERNATIVES is empty; at least one correct answer written differently is required",
    ]


def test_a_wrong_answer_or_alternative_that_does_not_compile_is_reported(tmp_path: Path) -> None:
    # An edit that leaves an indented line behind: "caught" by its syntax error, no check run.
    broken = {"misindented": "def double(x):\n    y = x\n        return 2 * y\n"}
    path = write_module(tmp_path, MIN_WRONG_ANSWERS, alternatives={**ALTERNATIVE, **broken})
    assert problems(load(path)) == [f"{path}: ALTERNATIVES entry 'misindented' is not valid Python (line 3: unexpected indent)"]
    path.write_text(path.read_text().replace("WRONG_ANSWERS = {", f"WRONG_ANSWERS = {{**{broken!r}, ", 1))
    assert f"{path}: WRONG_ANSWERS entry 'misindented' is not valid Python (line 3: unexpected indent)" in problems(load(path))


def test_the_minimum_is_six() -> None:
    """Issue 12: six wrong answers per exercise (docs/answer-modules.md tells writers so)."""
    assert MIN_WRONG_ANSWERS == 6


ORDERED = """
from llmq.judge.kit import check

def reference(x):
    return x

@check("matches the reference")
def zz_plain(ctx):
    pass

@check("a row of zeros gives zeros")
def aa_property(ctx):
    pass

@check("boundary regimes")
def mm_boundaries(ctx):
    pass
"""


def test_checks_run_in_file_order_and_the_first_failure_is_the_summary(tmp_path: Path) -> None:
    """Issue 12 point 4: the plain comparison, written first, runs first, and when it and a later
    property both fail, the verdict's one line names the plain comparison."""
    from llmq.judge.verdict import CheckResult, Verdict, finish

    path = tmp_path / "ordered.py"
    path.write_text(ORDERED)
    titles = [c.title for c in load(path).checks]
    assert titles == ["matches the reference", "a row of zeros gives zeros", "boundary regimes"]
    verdict = Verdict(
        "t.ordered", "fail", [CheckResult(titles[0], "fail", "float32-sized error"), CheckResult(titles[1], "fail", "not zeros")]
    )
    assert finish(verdict, 0.0).summary == "matches the reference: float32-sized error"
