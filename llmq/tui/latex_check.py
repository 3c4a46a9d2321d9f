"""Find LaTeX that would still be on screen after the app renders a question's math (`llmq verify`).

The app shows bank Markdown through `mathtext.render_math`; a macro it does not know (or a `$`
left unpaired) reaches the user as raw source. This walks every text of a question the app can
show and reports what is left, naming the question and where it was written.
"""

from __future__ import annotations

import re

from llmq.bank.model import Choice, Cloze, CodeExercise, Flashcard, Numeric, Question
from llmq.tui.mathtext import math_spans, render_math, unknown_macros

# Outside code, a backslash-word (\frac, \sqrt) or a dollar-delimited span means LaTeX leaked through.
_CODE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.S)
_LATEX_LEFT = re.compile(r"\\[A-Za-z]{2,}|\$[^$\s][^$]*\$")
# A numeric template's {{name}} placeholders: checked with a plain number in their place.
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")


def shown_texts(q: Question) -> list[tuple[str, str]]:
    """(field, Markdown) for every text of `q` that the app renders."""
    texts: list[tuple[str, str]] = []
    if isinstance(q, (Flashcard, Cloze)):
        texts = [("prompt", q.prompt), ("answer", q.answer)]
    elif isinstance(q, Choice):
        texts = [("prompt", q.prompt), ("explanation", q.explanation)]
        texts += [(f"options[{i}]", o) for i, o in enumerate(q.options)]
        texts += [(f"rationales[{i}]", r) for i, r in enumerate(q.rationales)]
    elif isinstance(q, Numeric):
        texts = [(f, _PLACEHOLDER.sub("1", getattr(q, f))) for f in ("prompt", "solution")]
    elif isinstance(q, CodeExercise):
        texts = [("task", q.task)] + [(f"hints[{i}]", h) for i, h in enumerate(q.hints)]
    return texts


def latex_left(markdown: str) -> list[str]:
    """The pieces of LaTeX source still in `markdown` once its math is rendered (code excepted),
    and the macros the renderer does not know (it drops them: the reader would miss them)."""
    shown = _CODE.sub("", render_math(markdown))
    left = [m.group(0)[:40] for m in _LATEX_LEFT.finditer(shown)]
    return left + [name for span in math_spans(markdown) for name in unknown_macros(span)]


def latex_issues(questions: list[Question]) -> list[str]:
    """One line per question field that would show raw LaTeX: `file:line: id: field shows ...`."""
    issues = []
    for q in questions:
        for field, text in shown_texts(q):
            left = latex_left(text)
            if left:
                pieces = ", ".join(repr(piece) for piece in dict.fromkeys(left))
                issues.append(
                    f"{q.where}: {q.id}: {field} still shows LaTeX once rendered: {pieces}; "
                    f"write it in a form the app renders (see docs/bank-format.md) or as `code`"
                )
    return issues
