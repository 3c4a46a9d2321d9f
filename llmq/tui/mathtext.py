"""LaTeX math in bank Markdown, turned into readable Unicode text before Textual renders it.

Textual's Markdown widget shows `$...$` raw (or drops it), so every math span is converted with
pylatexenc: `$\\sqrt{d_k}$` becomes `√(d_k)`. Code spans and fenced blocks are left untouched.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

# Fenced blocks and inline code are kept as written; math is looked for only between them.
_CODE = re.compile(r"(^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\2[ \t]*$|`+[^`\n]*?`+)", re.S | re.M)
# $$...$$ (may span lines) first, then $...$ on one line that neither starts nor ends in a space,
# so prices like "$5 and $10" are not math.
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)")
# ^{ab} and _{ab} lose their braces in plain text: keep the grouping with parentheses.
_GROUP = re.compile(r"([\^_])\{([^{}]{2,})\}")
_MD_SPECIAL = re.compile(r"([\\*_`\[\]<>#|])")


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces="based-on-source")


def latex_to_text(latex: str) -> str:
    """One math expression as Unicode text: `\\frac{1}{\\sqrt{d}}` -> `1/√(d)`."""
    grouped = _GROUP.sub(lambda m: f"{m.group(1)}({m.group(2)})", latex.replace(r"\|", "‖"))
    try:
        text = _converter().latex_to_text(grouped)
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
