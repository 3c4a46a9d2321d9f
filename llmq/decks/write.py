"""A deck's YAML: cards as the bundled bank writes questions, read back and written out.

A deck folder holds questions/DECK.yaml (the cards that are shown) and questions/_hidden.yaml
(cards whose notes are gone: kept, never loaded, so their review history stays theirs and they
come back if the note does). Multi-line text is written as YAML block text so the files read
like the bank's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from llmq.decks.card import NoteCard
from llmq.decks.errors import DeckError
from llmq.l10n import _

Entry = dict[str, Any]
HIDDEN_FILE = "_hidden.yaml"

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DeckDumper(_Dumper):  # type: ignore[misc, valid-type]
    """Multi-line text as a `|` block (the bank's style)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_DeckDumper.add_representer(str, _text)


def entry(card_id: str, card: NoteCard, source: str, ref: str) -> Entry:
    """One card as a question of the deck's YAML, fields in the bank's order."""
    fields: Entry = {
        "id": card_id,
        "kind": card.kind,
        "title": card.title,
        "difficulty": "medium",
        "source": source,
        "refs": [ref],
    }
    if card.tags:
        fields["tags"] = list(card.tags)
    if card.kind == "cloze":
        fields["passage"] = card.passage
        if card.extra:
            fields["extra"] = card.extra
    else:
        fields["prompt"] = card.prompt
        fields["answer"] = card.answer
    return fields


def render(deck: str, entries: list[Entry]) -> str:
    """The text of one deck file."""
    document = {"topic": deck, "title": deck, "questions": entries}
    header = "# Written by `llmq import`: edit the notes and import again rather than this file.\n"
    body: str = yaml.dump(document, Dumper=_DeckDumper, allow_unicode=True, sort_keys=False, width=1 << 16)
    return header + body


def read(path: Path) -> list[Entry]:
    """The questions of a deck file as written (empty when there is none); DeckError if it is damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise DeckError(
            _("{path} cannot be read ({why}); remove the deck folder and import again").format(path=path, why=exc)
        ) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DeckError(
            _("{path}{line} is not valid YAML (edited by hand?); fix it, or remove the deck folder and import again").format(
                path=path, line=line
            )
        ) from None
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not all(isinstance(q, dict) and isinstance(q.get("id"), str) for q in questions):
        raise DeckError(
            _("{path} is not a deck file (no list of questions with ids); remove the deck folder and import again").format(
                path=path
            )
        )
    return questions
