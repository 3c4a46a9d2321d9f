"""Which questions an export takes: all of the loaded banks, or one deck, or one topic.

A deck is a bank the user imported into `LLMQ_HOME/decks/NAME/` (llmq.bank.paths.deck_of tells
which deck a question file is in); questions of the bundled bank and of `--bank` folders belong
to no deck.
"""

from __future__ import annotations

from llmq.bank import Bank, Question
from llmq.bank.paths import deck_of


def question_deck(question: Question) -> str | None:
    """The name of the deck `question` was imported into, or None."""
    return deck_of(question.where.file)


def deck_names(bank: Bank) -> list[str]:
    """The decks that questions of `bank` come from, sorted."""
    return sorted({d for q in bank.questions.values() if (d := question_deck(q)) is not None})


def select(bank: Bank, *, deck: str | None = None, topic: str | None = None) -> list[Question]:
    """The bank's questions in bank order, only deck `deck` and topic `topic` where given (the
    caller has checked that both exist)."""
    return [
        q for q in bank.questions.values() if (topic is None or q.topic == topic) and (deck is None or question_deck(q) == deck)
    ]
