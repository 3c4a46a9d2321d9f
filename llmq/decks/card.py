"""A card as a notes format reads it, before it has an id in a deck."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CardKind = Literal["flashcard", "cloze"]


@dataclass(frozen=True, kw_only=True)
class NoteCard:
    """One card found in a note.

    `key` says where the card is in its file (heading path, then what tells it apart from its
    neighbours); the importer prefixes the file's path and makes an id of it, unless `marker` (an
    explicit `<!-- llmq:id=... -->`) names the card. A flashcard has `prompt` and `answer`; a cloze
    card has `passage` (gaps written {{c1::...}}) and `extra`.
    """

    kind: CardKind
    key: tuple[str, ...]
    title: str
    file: Path
    line: int
    marker: str | None = None
    prompt: str = ""
    answer: str = ""
    passage: str = ""
    extra: str = ""
    tags: tuple[str, ...] = ()
