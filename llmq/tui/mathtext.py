"""LaTeX math in bank Markdown, turned into readable Unicode text before Textual renders it.

Textual's Markdown widget shows `$...$` raw (or drops it), so every math span is converted with
pylatexenc: `$\\sqrt{d_k}$` becomes `√(d_k)`. Code spans and fenced blocks are left untouched.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc import latex2text, latexwalker, macrospec
from pylatexenc.latex2text import LatexNodes2Text

# Fenced blocks and inline code are kept as written; math is looked for only between them.
_CODE = re.compile(r"(^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\2[ \t]*$|`+[^`\n]*?`+)", re.S | re.M)
# $$...$$ (may span lines) first, then $...$ (within a paragraph) that neither starts nor ends in a space,
# so prices like "$5 and $10" are not math.
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?!\d)")
# ^{ab} and _{ab} lose their braces in plain text: keep the grouping with parentheses.
_GROUP = re.compile(r"([\^_])\{([^{}]{2,})\}")
_MD_SPECIAL = re.compile(r"([\\*_`\[\]<>#|])")


_FRACTIONS = ("frac", "dfrac", "tfrac")
# A numerator or denominator with an operator or a space needs parentheses: a+b over c is (a+b)/c.
_NEEDS_PARENS = re.compile(r"[\s+\-−*/·×=<>≤≥±]")


def _fraction_text(node: latexwalker.LatexMacroNode, l2tobj: LatexNodes2Text) -> str:
    """\\frac{a+b}{c} -> (a+b)/c; pylatexenc's default drops the grouping, and knows no \\dfrac."""
    parts = []
    for arg in node.nodeargd.argnlist[:2]:
        text = l2tobj.nodelist_to_text([arg]).strip() if arg is not None else ""
        if len(text) > 1 and _NEEDS_PARENS.search(text) and not (text[0] == "(" and text[-1] == ")"):
            text = f"({text})"
        parts.append(text)
    return "/".join(parts)


@lru_cache(maxsize=1)
def _contexts() -> tuple[LatexNodes2Text, object]:
    parse_db = latexwalker.get_default_latex_context_db()
    parse_db.add_context_category(
        "llmq", prepend=True, macros=[macrospec.MacroSpec(name, "{{") for name in _FRACTIONS]
    )
    text_db = latex2text.get_default_latex_context_db()
    text_db.add_context_category(
        "llmq",
        prepend=True,
        macros=[latex2text.MacroTextSpec(name, simplify_repl=_fraction_text) for name in _FRACTIONS]
        + [latex2text.MacroTextSpec("ne", simplify_repl="≠")],
    )
    converter = LatexNodes2Text(latex_context=text_db, math_mode="text", strict_latex_spaces="based-on-source")
    return converter, parse_db


def latex_to_text(latex: str) -> str:
    """One math expression as Unicode text: `\\frac{1}{\\sqrt{d}}` -> `1/√(d)`."""
    grouped = _GROUP.sub(lambda m: f"{m.group(1)}({m.group(2)})", latex.replace(r"\|", "‖"))
    converter, parse_db = _contexts()
    try:
        text = converter.latex_to_text(grouped, latex_context=parse_db)
    except Exception:  # malformed LaTeX: show the source without the dollars rather than nothing
        text = grouped
    return " ".join(text.split())


def _escape(text: str) -> str:
    """Math text is shown literally: `d_k` must not start emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _convert_prose(prose: str) -> str:
    prose = _DISPLAY.sub(lambda m: "\n\n" + _escape(latex_to_text(m.group(1))) + "\n\n", prose)
    return _INLINE.sub(lambda m: _escape(latex_to_text(m.group(1))), prose)


def render_math(markdown: str) -> str:
    """The Markdown with every `$...$` and `$$...$$` span replaced by readable text."""
    out: list[str] = []
    last = 0
    for m in _CODE.finditer(markdown):
        out.append(_convert_prose(markdown[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_convert_prose(markdown[last:]))
    return "".join(out)
