"""Which questions an export takes: all of the loaded banks, or one deck, or one topic.

A deck is a bank the user imported into `LLMQ_HOME/decks/NAME/`; a question belongs to deck NAME
when its YAML file lies under that folder. Questions of the bundled bank and of `--bank` folders
belong to no deck.
"""

from __future__ import annotations

from pathlib import Path

from llmq.bank import Bank, Question
from llmq.datadir import data_dir

DECKS_FOLDER = "decks"


def decks_dir() -> Path:
    return data_dir(create=False) / DECKS_FOLDER


def deck_of(question: Question, decks: Path | None = None) -> str | None:
    """The name of the deck `question` was imported into, or None."""
    folder = (decks or decks_dir()).resolve()
    try:
        relative = question.where.file.resolve().relative_to(folder)
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) > 1 else None


def deck_names(bank: Bank) -> list[str]:
    """The decks that questions of `bank` come from, sorted."""
    folder = decks_dir()
    return sorted({d for q in bank.questions.values() if (d := deck_of(q, folder)) is not None})


def select(bank: Bank, *, deck: str | None = None, topic: str | None = None) -> list[Question]:
    """The bank's questions in bank order, only deck `deck` and topic `topic` where given (the
    caller has checked that both exist)."""
    folder = decks_dir()
    return [
        q for q in bank.questions.values() if (topic is None or q.topic == topic) and (deck is None or deck_of(q, folder) == deck)
    ]
