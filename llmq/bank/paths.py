"""Where banks live: the bundled one (inside the wheel, or the checkout) and the user's own."""

from __future__ import annotations

import os
from pathlib import Path

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


def bank_roots(extra: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The bundled bank, then LLMQ_BANK (':'-separated), then every --bank DIR, without repeats."""
    roots = [bundled_root()]
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
