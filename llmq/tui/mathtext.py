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
# ^{ab} and _{ab} lose their braces in plain text: keep the grouping with parentheses. A group of
# one character loses its braces first, and the rule repeats from the inside out, so a subscript
# of a subscript keeps its nesting: a_{t_{k+1}} -> a_(t_(k+1)), W_{q_{h}} -> W_(q_h).
_GROUP = re.compile(r"([\^_])\{([^{}]{2,})\}")
_SINGLE = re.compile(r"([\^_])\{([^{}\\\s])\}")
# Operator names run into what follows in plain text (\log\theta -> "logθ"): a thin space after the
# operator (and its sub/superscripts) when a letter, digit or symbol macro follows directly.
_OPERATOR = re.compile(
    r"(\\(?:log|ln|lg|exp|sin|cos|tan|sinh|cosh|tanh|max|min|argmax|argmin|arg|sup|inf|det|dim|lim|Pr|gcd|deg)"
    r"(?![A-Za-z])|\\operatorname\*?\{[^{}]*\})"
    r"((?:\s*[_^]\s*(?:\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z0-9]))*)"
    r"\s*(?=[A-Za-z0-9]|\\(?!(?:big|Big|bigg|Bigg|left|right)[lr]?(?![A-Za-z]))[A-Za-z])"
)
_MD_SPECIAL = re.compile(r"([\\*_`\[\]<>#|])")


_FRACTIONS = ("frac", "dfrac", "tfrac")
_BINOMIALS = ("binom", "dbinom", "tbinom")
# A numerator or denominator with an operator or a space needs parentheses: a+b over c is (a+b)/c.
_NEEDS_PARENS = re.compile(r"[\s+\-−*/·×=<>≤≥±]")


def _fraction_text(node: latexwalker.LatexMacroNode, l2tobj: LatexNodes2Text) -> str:
    """\\frac{a+b}{c} -> (a+b)/c; pylatexenc's default drops the grouping, and knows no \\dfrac."""
    parts = []
    for arg in node.nodeargd.argnlist[:2]:
        text = l2tobj.nodelist_to_text([arg]).strip() if arg is not None else ""
        call = re.fullmatch(r"\w+\((.*)\)", text)  # C(K, 2) or f(x): already one unit
        enclosed = text[0:1] == "(" and text[-1:] == ")" and _balanced(text[1:-1])
        if len(text) > 1 and _NEEDS_PARENS.search(text) and not enclosed and not (call and _balanced(call.group(1))):
            text = f"({text})"
        parts.append(text)
    return "/".join(parts)


def _binomial_text(node: latexwalker.LatexMacroNode, l2tobj: LatexNodes2Text) -> str:
    """\\binom{n}{k} -> C(n, k): plain text has no stacked brackets, and pylatexenc's default runs
    the two together ("nk")."""
    n, k = (l2tobj.nodelist_to_text([arg]).strip() if arg is not None else "" for arg in node.nodeargd.argnlist[:2])
    return f"C({n}, {k})"


@lru_cache(maxsize=1)
def _contexts() -> tuple[LatexNodes2Text, object]:
    parse_db = latexwalker.get_default_latex_context_db()
    parse_db.add_context_category(
        "llmq", prepend=True, macros=[macrospec.MacroSpec(name, "{{") for name in (*_FRACTIONS, *_BINOMIALS)]
    )
    text_db = latex2text.get_default_latex_context_db()
    text_db.add_context_category(
        "llmq",
        prepend=True,
        macros=[latex2text.MacroTextSpec(name, simplify_repl=_fraction_text) for name in _FRACTIONS]
        + [latex2text.MacroTextSpec(name, simplify_repl=_binomial_text) for name in _BINOMIALS]
        + [
            latex2text.MacroTextSpec("ne", simplify_repl="≠"),
            # operator names pylatexenc drops: \arg\max would read "max", i \bmod W "i W"
            latex2text.MacroTextSpec("arg", simplify_repl="arg"),
            latex2text.MacroTextSpec("bmod", simplify_repl=" mod "),
            latex2text.MacroTextSpec("argmax", simplify_repl="argmax"),
            latex2text.MacroTextSpec("argmin", simplify_repl="argmin"),
        ],
    )
    converter = LatexNodes2Text(latex_context=text_db, math_mode="text", strict_latex_spaces="based-on-source")
    return converter, parse_db


def _regroup(m: re.Match[str]) -> str:
    body = m.group(2)
    wrapped = body.startswith("(") and body.endswith(")") and _balanced(body[1:-1])
    return f"{m.group(1)}{body}" if wrapped else f"{m.group(1)}({body})"  # _{(x,y)}: one pair is enough


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def latex_to_text(latex: str) -> str:
    """One math expression as Unicode text: `\\frac{1}{\\sqrt{d}}` -> `1/√(d)`."""
    grouped = _SINGLE.sub(r"\1\2", latex.replace(r"\|", "‖").replace("\\operatorname*{", "\\operatorname{"))
    while True:  # innermost groups first: each pass opens the groups that now hold no braces
        regrouped = _GROUP.sub(_regroup, grouped)
        if regrouped == grouped:
            break
        grouped = regrouped
    grouped = _OPERATOR.sub(lambda m: f"{m.group(1)}{m.group(2)}\\, ", grouped)
    converter, parse_db = _contexts()
    try:
        text = converter.latex_to_text(grouped, latex_context=parse_db)
    except Exception:  # malformed LaTeX: show the source without the dollars rather than nothing
        text = grouped
    return " ".join(text.split())


def _escape(text: str) -> str:
    """Math text is shown literally: `d_k` must not start emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _convert_prose(prose: str, escape: bool) -> str:
    shown = _escape if escape else (lambda text: text)
    prose = _DISPLAY.sub(lambda m: "\n\n" + shown(latex_to_text(m.group(1))) + "\n\n", prose)
    return _INLINE.sub(lambda m: shown(latex_to_text(m.group(1))), prose)


def render_math(markdown: str, *, escape: bool = True) -> str:
    """The Markdown with every `$...$` and `$$...$$` span replaced by readable text. `escape=False`
    for text printed as it is (`llmq show`, a stub's docstring), not rendered as Markdown."""
    out: list[str] = []
    last = 0
    for m in _CODE.finditer(markdown):
        out.append(_convert_prose(markdown[last : m.start()], escape))
        out.append(m.group(0))
        last = m.end()
    out.append(_convert_prose(markdown[last:], escape))
    return "".join(out)


_MACRO = re.compile(r"\\([A-Za-z]+)")
# Handled by the parser itself, not by a text rule: bracket sizes and environments (matrices).
_STRUCTURAL = {
    "left",
    "right",
    "middle",
    "begin",
    "end",
    # rendered as their argument (operatorname) or as nothing by design (style switches)
    "operatorname",
    "textstyle",
    "displaystyle",
    *(size + side for size in ("big", "Big", "bigg", "Bigg") for side in ("", "l", "r", "m")),
}


def math_spans(markdown: str) -> list[str]:
    """The LaTeX of every `$...$` and `$$...$$` span outside code, as `render_math` finds them."""
    prose = _CODE.sub("", markdown)
    spans = [m.group(1) for m in _DISPLAY.finditer(prose)]
    return spans + [m.group(1) for m in _INLINE.finditer(_DISPLAY.sub("", prose))]


def unknown_macros(latex: str) -> list[str]:
    """Macros in `latex` the renderer does not know: they would vanish from the screen."""
    converter, _ = _contexts()
    return [
        f"\\{name}"
        for name in _MACRO.findall(latex.replace("\\\\", " "))  # \\ is a line break
        if name not in _STRUCTURAL and converter.latex_context.get_macro_spec(name) is None
    ]
