"""Where banks live: the bundled one (inside the wheel, or the checkout) and the user's own."""

from __future__ import annotations

import os
import re
from pathlib import Path

from llmq.datadir import data_dir

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../llmq


def bundled_root() -> Path:
    """The bank shipped with llmq.

    An installed wheel carries it as llmq/_bank/{questions,answers,kernels}; a checkout (and an
    editable install) has it at the repository root, beside the llmq package.
    """
    inside = _PACKAGE_DIR / "_bank"
    if (inside / "questions").is_dir():
        return inside
    return _PACKAGE_DIR.parent


# A deck's name is its folder in LLMQ_HOME/decks, its topic and the first word of its card ids:
# a lowercase word (no dot, no slash: it can never name a folder outside decks/).
DECK_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def decks_dir() -> Path:
    """LLMQ_HOME/decks: one folder per imported deck (`llmq import`)."""
    return data_dir(create=False) / "decks"


def deck_roots() -> list[Path]:
    """Every imported deck, by name: each is a bank (questions/ only, cards only)."""
    try:
        names = sorted(entry.name for entry in os.scandir(decks_dir()) if DECK_NAME_RE.match(entry.name))
    except OSError:  # no decks yet
        return []
    return [decks_dir() / name for name in names if (decks_dir() / name / "questions").is_dir()]


def bank_roots(extra: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The bundled bank, then the imported decks, then LLMQ_BANK (':'-separated), then every
    --bank DIR, without repeats."""
    roots = [bundled_root(), *deck_roots()]
    env = os.environ.get("LLMQ_BANK", "")
    for raw in [*env.split(os.pathsep), *extra]:
        if raw.strip():
            roots.append(Path(raw).expanduser().resolve())
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def answer_path(root: Path, question_id: str) -> Path:
    """answers/<id with dots as slashes>.py: `attention.gqa` -> answers/attention/gqa.py."""
    return root / "answers" / Path(*question_id.split(".")).with_suffix(".py")


def deck_of(file: Path, decks: Path | None = None) -> str | None:
    """The name of the deck a question file belongs to (LLMQ_HOME/decks/NAME/questions/...), or None.
    `decks`: decks_dir(), when the caller asks for many files."""
    folder = file.parent.parent  # decks/NAME, as the loader names it: no file system call
    if folder.parent == (decks if decks is not None else decks_dir()):
        return folder.name
    try:
        relative = file.resolve().relative_to(decks_dir().resolve())
    except (ValueError, OSError):
        return None
    return relative.parts[0] if len(relative.parts) > 2 else None
