"""The Python editor of code exercises: a TextArea that keeps the indentation on enter (one level
more after a line ending in ':'), selects all with ctrl+a, and gives the focus away on escape
(so a second escape leaves the screen, and no key meant for the app lands in the code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding
from textual.document._syntax_aware_document import SyntaxAwareDocument
from textual.widgets import TextArea

from llmq.l10n import N_

if TYPE_CHECKING:
    from tree_sitter import Language, Query

INDENT = "    "

# Textual (8.2) compiles the language's highlight query for every document it makes: each editor,
# each `load_text` (a last attempt, a file from $EDITOR), each revealed reference, about 20 ms of
# CPU each time, most of a code card's change. A compiled tree-sitter Query holds no state of a
# document (each search makes its own cursor), so one per language and query serves them all.
_compile_query = SyntaxAwareDocument.prepare_query
_QUERIES: dict[tuple[Language, str], Query | None] = {}


def _prepare_query_once(document: SyntaxAwareDocument, query: str) -> Query | None:
    key = (document.language, query)
    if key not in _QUERIES:
        _QUERIES[key] = _compile_query(document, query)
    return _QUERIES[key]


SyntaxAwareDocument.prepare_query = _prepare_query_once  # type: ignore[method-assign,assignment]


def next_line_indent(line_before_cursor: str) -> str:
    """The indentation a new line gets: the current line's, one level more after a ':'."""
    indent = line_before_cursor[: len(line_before_cursor) - len(line_before_cursor.lstrip(" \t"))]
    code = line_before_cursor.split("#", 1)[0].rstrip()  # a comment after the colon does not count
    return indent + INDENT if code.endswith(":") else indent


class CodeEditor(TextArea):
    BINDINGS = [Binding("ctrl+a", "select_all", N_("Select all"), show=False)]

    def __init__(self, text: str = "", **kwargs: object) -> None:
        # The language is set once, after: given to TextArea's constructor, Python's highlight
        # query was compiled twice per editor (about 20 ms each, at every code card).
        super().__init__(
            text,
            language=None,
            theme="monokai",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.language = "python"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" and not self.read_only:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            first = min(start, end)
            line = self.document.get_line(first[0])[: first[1]]
            self.replace("\n" + next_line_indent(line), start, end, maintain_selection_offset=False)
            return
        await super()._on_key(event)
