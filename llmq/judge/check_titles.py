"""An answer module's check titles in the interface's language, read from its source without
running it: for what shows check names after the judge's verdict is gone (a mock interview's
report, `llmq interview --history`), in a process that never imports torch.

A check is written `@check("English title", zh="中文标题", ...)` (llmq/judge/kit.py); the verdict
carries the same `zh` (Verdict.titles). Here only literal titles are read: a title built at run
time is shown in English, as the judge's own checks are translated by the catalogue
(verdict.check_title).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from llmq.judge.verdict import Verdict, check_title


def zh_titles(answer_path: Path) -> dict[str, str]:
    """{English title: Chinese title} of every `check(...)` call in the module with literal strings
    for both ({} when the file cannot be read or parsed: the names then show in English)."""
    try:
        tree = ast.parse(answer_path.read_text(encoding="utf-8"), filename=str(answer_path))
    except (OSError, SyntaxError, ValueError):
        return {}
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or ast.unparse(node.func).split(".")[-1] != "check" or not node.args:
            continue
        title = node.args[0]
        if not isinstance(title, ast.Constant) or not isinstance(title.value, str):
            continue
        for kw in node.keywords:
            if kw.arg == "zh" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str) and kw.value.value:
                out[title.value] = kw.value.value
    return out


def shown_titles(names: Iterable[str], answer_path: Path | None) -> dict[str, str]:
    """Each check name as a report shows it in the interface's language (check_title's rules,
    with the Chinese titles read from the answer module at `answer_path`)."""
    verdict = Verdict(exercise="", status="pass", titles={"zh": zh_titles(answer_path)} if answer_path else {})
    return {name: check_title(name, verdict) for name in names}
