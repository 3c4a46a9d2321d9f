"""Math as the app shows it (issue 13, point 12): binomials, operator spacing, nested scripts,
and `llmq verify`'s check that no rendered text still holds LaTeX."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmq.bank import load_bank
from llmq.tui.latex_check import latex_issues
from llmq.tui.mathtext import latex_to_text, render_math, unknown_macros
from tests.bank.sample_bank import TOPIC_YAML, write_bank


@pytest.mark.parametrize(
    ("latex", "shown"),
    [
        (r"\binom{n}{k}", "C(n, k)"),
        (r"y = \operatorname{softmax}(x)", "y = softmax(x)"),
        (r"\tfrac1K\textstyle\sum_k p_k", "1/K∑_k p_k"),
        (r"\binom{K}{2}", "C(K, 2)"),  # was "K2"
        (r"\tbinom{16}{2} = 120", "C(16, 2) = 120"),
        (r"1 - \binom{n-c}{k} \big/ \binom{n}{k}", "1 - C(n-c, k)/ C(n, k)"),
        (r"-\frac{1}{\binom{K}{2}}", "-1/C(K, 2)"),
        (r"\log\sigma(x)", "log σ(x)"),  # was "logσ(x)"
        (r"\sin\theta", "sin θ"),
        (r"\log\frac{a}{b}", "log a/b"),
        (r"\log_2\theta", "log_2 θ"),
        (r"\max_{i} x_i", "max_i x_i"),
        (r"\log(x) + \exp\left(y\right)", "log(x) + exp(y)"),  # no space before a bracket
        (r"O(n \log n)", "O(n log n)"),
        (r"W_{q_{h}}", "W_(q_h)"),  # was "W_q_h"
        (r"a_{t_{k+1}}", "a_(t_(k+1))"),  # was "a_t_(k+1)"
        (r"e^{x_{i}}", "e^(x_i)"),
        (r"\mathbb{E}_{(x,y)}[r]", "𝔼_(x,y)[r]"),  # one pair of brackets, not two
        (r"\arg\max_\theta f", "arg max_θ f"),  # was "max_θ f": \arg vanished
        (r"\operatorname*{arg\,max}_x f", "arg max_x f"),
        (r"i \bmod W", "i mod W"),  # was "i W"
    ],
)
def test_math_reads_as_text(latex: str, shown: str) -> None:
    assert latex_to_text(latex) == shown


def test_operator_names_and_style_switches_are_known() -> None:
    """They render (as their argument, or as nothing), so verify must not call them raw LaTeX."""
    assert unknown_macros(r"\operatorname{lse}(z) + \textstyle\sum_k x_k + \displaystyle y") == []
    assert unknown_macros(r"\foo{x}") == ["\\foo"]


def test_binomials_in_the_bundled_bank_read_as_text() -> None:
    texts = [
        getattr(q, f)
        for q in load_bank().questions.values()
        for f in ("prompt", "answer", "explanation")
        if r"\binom" in getattr(q, f, "")
    ]
    assert texts, "the bundled bank has cards with \\binom"
    for text in texts:
        shown = render_math(text)
        assert "\\binom" not in shown and "C(" in shown, shown


def test_latex_issues_names_file_line_card_and_field(tmp_path: Path) -> None:
    root = write_bank(tmp_path, TOPIC_YAML.replace("answer: It is $x$.", r"answer: It is $\foo{x}$ and $y$."))
    bank = load_bank(roots=[root])
    issues = latex_issues(list(bank.questions.values()))
    assert issues == [
        f"{root / 'questions' / 'demo.yaml'}:4: demo.card: answer still shows LaTeX once rendered: "
        f"'\\\\foo'; write it in a form the app renders (see docs/bank-format.md) or as `code`"
    ]


def test_the_bundled_bank_shows_no_latex() -> None:
    bank = load_bank()
    assert latex_issues(list(bank.questions.values())) == []


def test_verify_reports_a_card_that_would_show_latex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`llmq verify` passes the rendering problems to the judge's report as bank errors (the judge
    itself, which would check every bundled exercise, is replaced: its own tests cover it)."""
    from llmq import cli
    from llmq.judge import commands

    root = write_bank(tmp_path / "mine", TOPIC_YAML.replace("answer: It is $x$.", r"answer: It is $\foo{x}$."))
    seen: dict[str, list[str]] = {}

    def judge_half(exercises, as_json=False, bank_errors=(), **_: object) -> int:
        seen["bank_errors"] = list(bank_errors)
        return 1 if seen["bank_errors"] else 0

    monkeypatch.setattr(commands, "verify_exercises", judge_half)
    assert cli.main(["verify", "--bank", str(root)]) == 1
    out = capsys.readouterr().out
    where = f"{root / 'questions' / 'demo.yaml'}:4: demo.card: answer still shows LaTeX once rendered: '\\\\foo'"
    assert "1 text would show raw LaTeX:" in out and where in out
    assert len(seen["bank_errors"]) == 1 and seen["bank_errors"][0].startswith(where)
