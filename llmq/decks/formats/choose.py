"""Which parser reads a file: the format named by --format, or the one `--format auto` picks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from llmq.decks.card import NoteCard
from llmq.decks.errors import NoteProblem
from llmq.decks.formats import hashcards, headings, obsidian, tsv
from llmq.decks.formats.text import code_lines, without_inline_code

Parser = Callable[[str, Path], tuple[list[NoteCard], list[NoteProblem]]]

FORMATS: dict[str, Parser] = {
    "headings": headings.parse,
    "obsidian": obsidian.parse,
    "hashcards": hashcards.parse,
    "tsv": tsv.parse,
}
FORMAT_CHOICES = ("auto", *FORMATS)
TSV_SUFFIXES = (".tsv", ".txt", ".csv")
MARKDOWN_SUFFIXES = (".md", ".markdown")

_HASHCARDS_LINE = re.compile(r"^(Q|C):\s")
_OBSIDIAN_TAG = re.compile(r"(?<![\w#])#flashcards\b")
_OBSIDIAN_MULTILINE = re.compile(r"^\?{1,2}$")


def detect(text: str, path: Path) -> str:
    """The format of one file for `--format auto`: TSV by its suffix; Markdown with `Q:`/`C:` lines
    is hashcards; with a #flashcards tag, `::` cards or a lone `?` line it is Obsidian's; other
    Markdown is headings."""
    if path.suffix.lower() in TSV_SUFFIXES:
        return "tsv"
    lines = text.split("\n")
    in_code = code_lines(lines)
    plain = [without_inline_code(line) for line, code in zip(lines, in_code) if not code]
    # Cheap tests on the whole text first: most notes hold none of the marks at all.
    if ("Q:" in text or "C:" in text) and any(_HASHCARDS_LINE.match(line) for line in plain):
        return "hashcards"
    if any(_OBSIDIAN_TAG.search(line) or _OBSIDIAN_MULTILINE.match(line.strip()) for line in plain):
        return "obsidian"
    if "::" in text and any(obsidian.single_line_card(line) is not None for line in plain if "::" in line):
        return "obsidian"
    return "headings"
