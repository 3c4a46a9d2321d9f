"""Every card of the bundled bank, as the app renders it: no raw LaTeX is ever left on screen."""

from __future__ import annotations

import re

import pytest

from llmq.bank import load_bank
from llmq.bank.numeric import instantiate
from llmq.tui.mathtext import render_math

BANK = load_bank()
# Outside code, a backslash-word (\frac, \sqrt) or a dollar-delimited span means LaTeX leaked through.
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_LATEX_LEFT = re.compile(r"\\[A-Za-z]{2,}|\$[^$\s][^$]*\$")


def _texts(q) -> list[tuple[str, str]]:
    if q.kind == "numeric":
        shown = instantiate(q)
        return [("prompt", shown.prompt), ("solution", shown.solution)]
    fields = {"flashcard": ("prompt", "answer"), "choice": ("prompt", "explanation"), "code": ("task",)}[q.kind]
    texts = [(f, getattr(q, f)) for f in fields]
    texts += [(f"options[{i}]", o) for i, o in enumerate(getattr(q, "options", ()))]
    texts += [(f"rationales[{i}]", r) for i, r in enumerate(getattr(q, "rationales", ()))]
    texts += [(f"hints[{i}]", h) for i, h in enumerate(getattr(q, "hints", ()))]
    return texts


@pytest.mark.parametrize("qid", sorted(BANK.questions))
def test_rendered_card_has_no_raw_latex(qid: str) -> None:
    leaks = []
    for field, text in _texts(BANK.questions[qid]):
        shown = _CODE.sub("", render_math(text))
        leaks += [f"{field}: {m.group(0)[:40]!r}" for m in _LATEX_LEFT.finditer(shown)]
    assert not leaks, leaks
