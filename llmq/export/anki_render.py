"""Bank Markdown as the HTML an Anki field holds: math for Anki's MathJax, code as escaped blocks.

The bank writes math as `$...$` and `$$...$$`; Anki typesets `\\(...\\)` and `\\[...\\]` with
MathJax. Code blocks become `<pre><code>` with the text HTML-escaped, and raw HTML in a note is
shown as text, never interpreted (a bank's text is data, not markup for Anki to run).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin


def _inline_math(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
    return f"\\({html.escape(tokens[idx].content, quote=False)}\\)"


def _display_math(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
    return f"\\[{html.escape(tokens[idx].content.strip(), quote=False)}\\]"


def _display_block(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
    return f"<div>\\[{html.escape(tokens[idx].content.strip(), quote=False)}\\]</div>\n"


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # The same rules as the app's math (llmq/tui/mathtext.py): `$` followed or preceded by a space,
    # or followed by a digit, is a dollar sign ("$5 and $10"), not math.
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True, allow_labels=False)
    md.add_render_rule("math_inline", _inline_math)
    md.add_render_rule("math_inline_double", _display_math)
    md.add_render_rule("math_block", _display_block)
    return md


def markdown_html(text: str) -> str:
    """A Markdown text (with `$` math) as HTML for an Anki field."""
    return str(_markdown().render(text)).strip()


def inline_html(text: str) -> str:
    """A one-line Markdown text (a title, a choice's option) as HTML without the paragraph."""
    return str(_markdown().renderInline(text)).strip()


def code_html(source: str, language: str = "python") -> str:
    """Source code as an escaped block, as Markdown's fenced blocks render."""
    return f'<pre><code class="language-{language}">{html.escape(source, quote=False)}</code></pre>'


def both_languages(zh: str, en: str) -> str:
    """Chinese first, then the English under a rule (`--lang both`); one copy when they agree."""
    if zh == en:
        return zh
    return f'{zh}\n<div class="llmq-en">{en}</div>'
