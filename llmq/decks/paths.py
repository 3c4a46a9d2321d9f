"""Where decks live and what a deck may be called: LLMQ_HOME/decks/NAME, NAME a lowercase word."""

from __future__ import annotations

from pathlib import Path

from llmq.bank.paths import DECK_NAME_RE, bundled_root, decks_dir
from llmq.decks.errors import DeckError
from llmq.decks.ids import slug
from llmq.l10n import _

__all__ = ["DECK_NAME_RE", "check_deck_name", "deck_dir", "deck_names", "decks_dir", "default_deck_name"]


def check_deck_name(name: str) -> str:
    """`name` if it can be a deck; DeckError saying why not (a path, a dot, a bundled topic)."""
    if not DECK_NAME_RE.match(name):
        raise DeckError(
            _(
                "{name!r} cannot be a deck name: use a lowercase letter, then lowercase letters, digits "
                "or _ (at most 40), like my_notes"
            ).format(name=name)
        )
    if (bundled_root() / "questions" / f"{name}.yaml").is_file():
        raise DeckError(
            _("{name!r} is a topic of the bundled bank; give the deck another name, like my_{name}").format(name=name)
        )
    return name


def deck_dir(name: str) -> Path:
    """The folder of deck `name` (checked: it can only be a folder directly in decks/)."""
    return decks_dir() / check_deck_name(name)


def deck_names() -> list[str]:
    """The decks imported so far."""
    folder = decks_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if DECK_NAME_RE.match(p.name) and (p / "questions").is_dir())


def default_deck_name(first_path: Path, suggested: str | None = None) -> str:
    """The deck name when --deck is not given: the TSV file's #deck: header, else the first PATH's name."""
    for raw in (
        suggested,
        first_path.resolve().name.removesuffix(first_path.suffix) if first_path.is_file() else first_path.resolve().name,
    ):
        if not raw:
            continue
        name = slug(raw, hashed=False)
        if name and not name[0].isalpha():
            name = f"deck_{name}"
        name = name[:40].rstrip("_")
        if name and DECK_NAME_RE.match(name):
            return name
    raise DeckError(_("cannot make a deck name from {path}; name the deck with --deck NAME").format(path=first_path))
