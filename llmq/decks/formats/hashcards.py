"""The hashcards format: `Q:` a question, `A:` its answer; `C:` a cloze passage with its gaps in
[brackets] (one card per gap). A card's text runs over lines until the next `Q:`, `C:`, heading
or `---` line. The headings above a card are its context.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmq.decks.card import NoteCard
from llmq.decks.errors import NoteProblem
from llmq.decks.formats.cloze import cloze_cards, gaps
from llmq.decks.formats.text import (
    CONTEXT_SEPARATOR,
    Heading,
    clean_body,
    find_marker,
    heading_context,
    mask_code,
    plain_title,
    prepare,
    push_heading,
)
from llmq.l10n import _

_FIELD = re.compile(r"^(Q|A|C):(?:[ \t]|$)")
# A gap: [text], not a Markdown link [text](url) nor an escaped \\[.
_GAP = re.compile(r"(?<!\\)\[([^\[\]\n]+)\](?!\()")


def parse(text: str, file: Path) -> tuple[list[NoteCard], list[NoteProblem]]:
    """Every card of one note, and every problem in it (file:line)."""
    note = prepare(text, file)
    if isinstance(note, NoteProblem):
        return [], [note]
    lines, in_code, first, has_top = note.lines, note.in_code, note.start, note.has_top
    problems: list[NoteProblem] = []
    heading_lines = {h.index: h for h in note.headings}
    # Split the note into fields: (letter, first line index, end index).
    fields: list[tuple[str, int, int]] = []
    stack: list[Heading] = []
    contexts: dict[int, tuple[list[str], tuple[str, ...]]] = {}
    for index in range(first, len(lines)):
        line = lines[index]
        ends = index in heading_lines or (not in_code[index] and line.strip() == "---")
        match = None if in_code[index] else _FIELD.match(line)
        if (ends or match) and fields and fields[-1][2] < 0:
            letter, start, _end = fields[-1]
            fields[-1] = (letter, start, index)
        if index in heading_lines:
            push_heading(stack, heading_lines[index])
        if match:
            fields.append((match.group(1), index, -1))
            contexts[index] = (heading_context(stack, has_top, file), tuple(h.text for h in stack))
    if fields and fields[-1][2] < 0:
        fields[-1] = (fields[-1][0], fields[-1][1], len(lines))

    def body(start: int, end: int) -> str:
        first_line = _FIELD.sub("", lines[start], count=1)
        return clean_body([first_line, *lines[start + 1 : end]], [False, *in_code[start + 1 : end]])

    cards: list[NoteCard] = []
    position = 0
    while position < len(fields):
        letter, start, end = fields[position]
        context, keys = contexts[start]
        if letter == "A":
            problems.append(NoteProblem(file, start + 1, _("this answer (A:) has no question (Q:) above it")))
        elif letter == "Q":
            following = fields[position + 1] if position + 1 < len(fields) else None
            question = body(start, end)
            if following is None or following[0] != "A":
                problems.append(NoteProblem(file, start + 1, _("this question (Q:) has no answer (A:) after it")))
            elif not question:
                problems.append(NoteProblem(file, start + 1, _("this question (Q:) is empty")))
            else:
                answer = body(following[1], following[2])
                if not answer:
                    problems.append(NoteProblem(file, following[1] + 1, _("this answer (A:) is empty")))
                else:
                    marker = find_marker("\n".join(lines[start : following[2]]), file, start + 1, problems)
                    cards.append(
                        NoteCard(
                            kind="flashcard",
                            key=(*keys, question),
                            title=CONTEXT_SEPARATOR.join([*context, plain_title(question)]),
                            prompt=question,
                            answer=answer,
                            file=file,
                            line=start + 1,
                            marker=marker,
                        )
                    )
                position += 1
        else:
            passage = body(start, end)
            masked = mask_code(passage)
            if masked.count("[") != masked.count("]"):
                problems.append(NoteProblem(file, start + 1, _("this cloze (C:) has a [ without its ] (or a ] without its [)")))
            elif not gaps(passage, _GAP):
                problems.append(NoteProblem(file, start + 1, _("this cloze (C:) has no gap: put the hidden words in [brackets]")))
            else:
                marker = find_marker("\n".join(lines[start:end]), file, start + 1, problems)
                cards += cloze_cards(passage, _GAP, file, start + 1, keys, context, marker)
        position += 1
    return cards, problems
