"""The Obsidian spaced-repetition plugin's card syntax.

- `Question::Answer` on one line; `Question:::Answer` makes two cards, one each way.
- Several lines: the question, a line holding only `?` (`??`: both ways), the answer; the card
  is one paragraph (it ends at a blank line outside code).
- Cloze: a paragraph with `==highlights==` gives one card per highlight (the others shown).
The headings above a card are its context. The plugin's `<!--SR:...-->` notes are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmq.decks.card import NoteCard
from llmq.decks.errors import NoteProblem
from llmq.decks.formats.cloze import cloze_cards
from llmq.decks.formats.text import (
    CONTEXT_SEPARATOR,
    SR_COMMENT,
    Heading,
    clean_body,
    find_marker,
    heading_context,
    mask_code,
    plain_title,
    prepare,
    push_heading,
    without_inline_code,
)
from llmq.decks.ids import MARKER_RE
from llmq.l10n import _

_HIGHLIGHT = re.compile(r"==(?=\S)(.+?)(?<=\S)==")
_LIST_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def single_line_card(line: str) -> tuple[str, str, bool] | None:
    """(question, answer, both ways) if `line` is a `::` or `:::` card (a `::` in code does not count)."""
    text = SR_COMMENT.sub("", MARKER_RE.sub("", line)).rstrip()
    masked = mask_code(text)
    for separator, both in ((":::", True), ("::", False)):
        at = masked.find(separator)
        if at < 0 or "://" in masked[max(0, at - 8) : at + 3]:
            continue
        question, answer = text[:at].strip(), text[at + len(separator) :].strip()
        if question and answer and not answer.startswith(":"):
            return _LIST_BULLET.sub("", question), answer, both
    return None


def _paragraphs(lines: list[str], in_code: list[bool], start: int, heads: set[int]) -> list[tuple[int, int]]:
    """[start, end) line ranges of the note's paragraphs: runs of lines ended by a blank line
    outside code or a heading (a code block stays inside its paragraph)."""
    found: list[tuple[int, int]] = []
    begin: int | None = None
    for index in range(start, len(lines)):
        blank = not lines[index].strip() and not in_code[index]
        if blank or index in heads:
            if begin is not None:
                found.append((begin, index))
            begin = None
            continue
        if begin is None:
            begin = index
    if begin is not None:
        found.append((begin, len(lines)))
    return found


def parse(text: str, file: Path) -> tuple[list[NoteCard], list[NoteProblem]]:
    """Every card of one note, and every problem in it (file:line)."""
    note = prepare(text, file)
    if isinstance(note, NoteProblem):
        return [], [note]
    lines, in_code, found, has_top = note.lines, note.in_code, note.headings, note.has_top
    problems: list[NoteProblem] = []
    cards: list[NoteCard] = []
    stack: list[Heading] = []
    heading_at = 0
    for begin, end in _paragraphs(lines, in_code, note.start, {h.index for h in found}):
        while heading_at < len(found) and found[heading_at].index < begin:
            push_heading(stack, found[heading_at])
            heading_at += 1
        context = heading_context(stack, has_top, file)
        keys = tuple(h.text for h in stack)
        block, flags = lines[begin:end], in_code[begin:end]
        separator = next(
            (i for i, (line, code) in enumerate(zip(block, flags)) if not code and line.strip() in ("?", "??")), None
        )
        if separator is not None:
            _multi_line(block, flags, separator, begin, file, context, keys, cards, problems)
            continue
        singles = False
        for offset, (line, code) in enumerate(zip(block, flags)):
            card = None if code else single_line_card(line)
            if card is None:
                continue
            singles = True
            question, answer, both = card
            marker = find_marker(line, file, begin + offset + 1, problems)
            cards += _pair(question, answer, both, file, begin + offset + 1, context, keys, marker)
        if singles:
            continue
        plain = [without_inline_code(line) for line, code in zip(block, flags) if not code]
        if any(_HIGHLIGHT.search(line) for line in plain):
            passage = clean_body(block, flags)
            marker = find_marker("\n".join(block), file, begin + 1, problems)
            cards += cloze_cards(passage, _HIGHLIGHT, file, begin + 1, keys, context, marker)
    return cards, problems


def _multi_line(
    block: list[str],
    flags: list[bool],
    separator: int,
    begin: int,
    file: Path,
    context: list[str],
    keys: tuple[str, ...],
    cards: list[NoteCard],
    problems: list[NoteProblem],
) -> None:
    """A card written over several lines, the question above a `?` (or `??`) line, the answer below."""
    question = clean_body(block[:separator], flags[:separator])
    answer = clean_body(block[separator + 1 :], flags[separator + 1 :])
    line = begin + separator + 1
    if not question or not answer:
        missing = _("a question above it") if not question else _("an answer below it")
        problems.append(NoteProblem(file, line, _("this '?' card needs {missing}").format(missing=missing)))
        return
    marker = find_marker("\n".join(block), file, begin + 1, problems)
    cards += _pair(question, answer, block[separator].strip() == "??", file, begin + 1, context, keys, marker)


def _pair(
    question: str,
    answer: str,
    both: bool,
    file: Path,
    line: int,
    context: list[str],
    keys: tuple[str, ...],
    marker: str | None,
) -> list[NoteCard]:
    """The card question -> answer, and with `both` its reverse (its id ends in .reverse)."""
    cards = []
    for forward in (True, False) if both else (True,):
        front, back = (question, answer) if forward else (answer, question)
        cards.append(
            NoteCard(
                kind="flashcard",
                key=(*keys, question, *(() if forward else ("reverse",))),
                title=CONTEXT_SEPARATOR.join([*context, plain_title(front)]),
                prompt=front,
                answer=back,
                file=file,
                line=line,
                marker=None if marker is None else (marker if forward else f"{marker}.reverse"),
            )
        )
    return cards
