"""`check(..., teaches=[card ids])` on the judge's side (issue 17 point 2): the kit keeps the ids,
refuses a bare string, and the worker's describe of a module reports each check's teaches."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.judge import harness
from llmq.judge.kit import check

MODULE = """\
from llmq.judge.kit import check


def reference(x):
    return 2 * x


@check("doubles a number", teaches=["demo.card", "demo.pick"])
def doubles(ctx):
    ctx.assert_equal(ctx.call(3), 6)


@check("teaches nothing")
def plain(ctx):
    ctx.assert_equal(ctx.call(0), 0)
"""


def test_describe_reports_each_checks_teaches(tmp_path: Path) -> None:
    path = tmp_path / "code.py"
    path.write_text(MODULE)
    plan = harness.describe(str(path))
    assert plan["checks"] == ["doubles a number", "teaches nothing"]
    assert plan["teaches"] == {"doubles a number": ["demo.card", "demo.pick"]}


def test_a_bare_string_is_refused_when_the_module_loads() -> None:
    with pytest.raises(TypeError, match=r"teaches= takes a list of card ids, e\.g\. teaches=\['norm.rmsnorm_eps'\]"):
        check("t", teaches="norm.rmsnorm_eps")
    with pytest.raises(TypeError, match="each entry is a card id"):
        check("t", teaches=[""])
