"""Check titles in Chinese (issue 14): every check of the bundled bank has a `zh=` title, verdicts
carry it beside the English name (which `--json` keeps), and the report and the app show it in
Chinese."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmq import l10n
from llmq.bank.paths import bundled_root
from llmq.judge import commands, kit
from llmq.judge.verdict import NO_FORBIDDEN, CheckResult, Verdict, render_text

CJK = re.compile(r"[\u4e00-\u9fff]")


def _checks(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, English title, zh title or None) of each @check in an answer module's source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func) in ("check", "kit.check") and deco.args:
                    title = ast.literal_eval(deco.args[0])
                    zh = next((ast.literal_eval(k.value) for k in deco.keywords if k.arg == "zh"), None)
                    yield deco.lineno, title, zh


def test_every_check_of_the_bundled_bank_has_a_chinese_title() -> None:
    modules = sorted((bundled_root() / "answers").rglob("*.py"))
    found = [(path, line, title, zh) for path in modules for line, title, zh in _checks(path)]
    assert len(found) > 200, "the bundled bank's checks were not found"
    missing = [
        f"{path.relative_to(bundled_root())}:{line}: @check({title!r}) has no zh= title"
        for path, line, title, zh in found
        if not zh or not CJK.search(zh)
    ]
    assert missing == [], "\n".join(missing)


def test_a_chinese_title_keeps_the_code_and_numbers_of_the_english_one() -> None:
    """What a title says in backticks (code) is byte-identical in the Chinese one."""
    modules = sorted((bundled_root() / "answers").rglob("*.py"))
    wrong = []
    for path in modules:
        for line, title, zh in _checks(path):
            if zh and re.findall(r"`[^`]*`", title) != re.findall(r"`[^`]*`", zh):
                wrong.append(f"{path.relative_to(bundled_root())}:{line}: {zh}")
    assert wrong == [], "\n".join(wrong)


def test_the_check_decorator_keeps_the_chinese_title() -> None:
    @kit.check("matches the reference", zh="与参考实现一致", examples=3)
    def matches(ctx: kit.Ctx) -> None: ...

    spec = matches.__llmq_check__  # type: ignore[attr-defined]
    assert (spec.title, spec.title_zh, spec.examples) == ("matches the reference", "与参考实现一致", 3)


def _verdict() -> Verdict:
    return Verdict(
        exercise="norm.rms_norm",
        status="fail",
        checks=[
            CheckResult(NO_FORBIDDEN, "pass"),
            CheckResult("matches the reference", "fail", "wrong shape: got (2, 3), expected (3, 2)"),
            CheckResult("no Chinese title given", "skip"),
        ],
        titles={"zh": {"matches the reference": "与参考实现一致"}},
    )


def test_the_report_shows_the_chinese_title_in_chinese_and_the_english_one_in_english() -> None:
    verdict = _verdict()
    assert "[FAIL] matches the reference" in render_text(verdict)
    l10n.set_language("zh")
    try:
        text = render_text(verdict)
    finally:
        l10n.set_language("en")
    assert "[FAIL] 与参考实现一致" in text, text
    assert "形状错误：实际 (2, 3)，期望 (3, 2)" in text, text
    assert "no Chinese title given" in text  # a module of one's own without zh titles: English


def test_the_json_keeps_the_english_name_and_carries_the_chinese_beside_it() -> None:
    raw = json.loads(json.dumps(_verdict().to_dict()))
    assert raw["checks"][1]["name"] == "matches the reference"
    assert raw["titles"]["zh"]["matches the reference"] == "与参考实现一致"
    assert Verdict.from_dict(raw).titles == _verdict().titles


@pytest.mark.parametrize("lang", ["zh", "both"])
def test_the_app_shows_the_chinese_titles(lang: str) -> None:
    from llmq.tui.widgets.results import render_verdict

    l10n.set_language(lang)
    try:
        text = render_verdict(_verdict()).plain
    finally:
        l10n.set_language("en")
    assert "与参考实现一致" in text and "matches the reference" not in text, text
    assert "形状错误" in text, text


def test_a_verdict_given_without_the_judge_names_the_checks_in_chinese(tmp_path: Path) -> None:
    """`llmq check` answers a syntax error without starting the judge; its skipped checks are
    titled from the answer module's source, zh titles included."""
    answer = bundled_root() / "answers" / "attention" / "sdpa.py"
    titles = {t: zh for _line, t, zh in _checks(answer)}

    class Exercise:
        id = "attention.sdpa"
        answer_path = str(answer)
        function = "scaled_dot_product_attention"

    verdict = commands.quick_verdict(Exercise(), "def scaled_dot_product_attention(:\n", "bad.py", seed=1)
    assert verdict is not None
    assert verdict.titles["zh"] == titles
    l10n.set_language("zh")
    try:
        text = render_text(verdict)
    finally:
        l10n.set_language("en")
    assert all(f"[skip] {zh}" in text or f"] {zh}" in text for zh in titles.values()), text
