"""Cloze cards from a passage whose gaps a format marks its own way (==x==, [x], {{c1::x}}).

One card per gap, as the Obsidian plugin, hashcards and Anki do: the card's passage keeps its own
gap as `{{c1::...}}` (the bank's cloze syntax) and shows the other gaps' text.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmq.decks.card import NoteCard
from llmq.decks.formats.text import CONTEXT_SEPARATOR, mask_code, plain_title


def gaps(passage: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """The gaps `pattern` finds in the passage outside code (group 1 is the hidden text)."""
    return list(pattern.finditer(mask_code(passage)))


def cloze_cards(
    passage: str,
    pattern: re.Pattern[str],
    file: Path,
    line: int,
    keys: tuple[str, ...],
    context: list[str],
    marker: str | None,
) -> list[NoteCard]:
    """One cloze card per gap of `passage` (none when it has no gap)."""
    found = gaps(passage, pattern)
    shown = _rewrite(passage, found, None)
    cards = []
    for number, match in enumerate(found, start=1):
        title = plain_title(_rewrite(passage, found, match, front=True))
        cards.append(
            NoteCard(
                kind="cloze",
                key=(*keys, shown, f"c{number}"),
                title=CONTEXT_SEPARATOR.join([*context, title]),
                passage=_rewrite(passage, found, match),
                file=file,
                line=line,
                marker=None if marker is None else f"{marker}.c{number}",
            )
        )
    return cards


def _rewrite(passage: str, found: list[re.Match[str]], hidden: re.Match[str] | None, front: bool = False) -> str:
    """The passage with `hidden` written as a bank gap ([...] when `front`) and every other gap as its text."""
    out, at = [], 0
    for match in found:
        out.append(passage[at : match.start()])
        text = passage[match.start(1) : match.end(1)]
        if match is hidden:
            out.append("[...]" if front else "{{c1::" + text + "}}")
        else:
            out.append(text)
        at = match.end()
    out.append(passage[at:])
    return "".join(out)
