"""The headings format: notes as most people write them (the notes repositories, Chinese and English).

A heading is a prompt; its body up to the next heading of the same or a higher level (its
subsections included) is the answer. A heading with no text of its own (only subheadings, or
nothing) is a section title: it makes no card, and its name is the context its subsections are
shown with ("MQA › 优势"). A note's title (its one `#` heading, first, with sections below it) is
context only, never a card of the whole note; a note with no `#` title has its file name as the
outermost context. Code blocks, tables and math are kept as written; images become a line naming
the image.
"""

from __future__ import annotations

from pathlib import Path

from llmq.decks.card import NoteCard
from llmq.decks.errors import NoteProblem
from llmq.decks.formats.text import CONTEXT_SEPARATOR, Heading, clean_body, find_marker, heading_context, prepare, push_heading
from llmq.decks.ids import MARKER_RE


def parse(text: str, file: Path) -> tuple[list[NoteCard], list[NoteProblem]]:
    """Every card of one note, and every problem in it (file:line)."""
    note = prepare(text, file)
    if isinstance(note, NoteProblem):
        return [], [note]
    lines, in_code, found, has_top = note.lines, note.in_code, note.headings, note.has_top
    problems: list[NoteProblem] = []
    cards: list[NoteCard] = []
    stack: list[Heading] = []  # the headings above the current one
    levels = [h.level for h in found]
    # The note's title: its one `#` heading, first, with sections below it (a note that is one
    # `# question` and its answer is a card).
    title_heading = found[0] if len(levels) > 1 and levels[0] == 1 and levels.count(1) == 1 else None
    for position, heading in enumerate(found):
        push_heading(stack, heading)
        parents = stack[:-1]
        if heading is title_heading:
            continue
        own_end = found[position + 1].index if position + 1 < len(found) else len(lines)
        section_end = next((h.index for h in found[position + 1 :] if h.level <= heading.level), len(lines))
        own = lines[heading.index + 1 : own_end]
        own_text = MARKER_RE.sub("", "\n".join(own)).strip()
        title = MARKER_RE.sub("", heading.text).strip()
        if own_text and title:
            marker = find_marker("\n".join([heading.text, *own]), file, heading.index + 1, problems)
            context = heading_context(parents, has_top, file)
            answer = clean_body(lines[heading.index + 1 : section_end], in_code[heading.index + 1 : section_end])
            cards.append(
                NoteCard(
                    kind="flashcard",
                    key=(*[h.text for h in parents], title),
                    title=CONTEXT_SEPARATOR.join([*context, title]),
                    prompt=title,
                    answer=answer,
                    file=file,
                    line=heading.index + 1,
                    marker=marker,
                )
            )
    return cards, problems
