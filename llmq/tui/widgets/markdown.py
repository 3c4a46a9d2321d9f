"""Markdown for bank text: LaTeX math turned into readable text first (see llmq.tui.mathtext)."""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.widgets import Markdown

from llmq.tui.mathtext import render_math


class BankMarkdown(Markdown):
    """A Markdown widget whose text may hold `$...$` math; fenced code is highlighted by Textual."""

    def __init__(self, markdown: str = "", **kwargs: object) -> None:
        super().__init__(render_math(markdown), **kwargs)  # type: ignore[arg-type]

    def update(self, markdown: str) -> AwaitComplete:
        return super().update(render_math(markdown))
