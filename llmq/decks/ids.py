"""Stable, ASCII-safe card ids: a deck's card id is `DECK.part.part...`, each part a slug.

The store keys a card's history by its id, so an id must not change while the card is the same
card: it comes from an explicit marker (`<!-- llmq:id=... -->`) when there is one, else from the
file's path and the card's place in it (its heading path). Text that is not ASCII (Chinese
headings) gets a short hash of the text, so every heading has an id and two headings do not share
one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

MARKER_RE = re.compile(r"<!--\s*llmq:id=(.*?)\s*-->")
MARKER_VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_MAX_ASCII = 40  # characters of readable slug kept; longer text is cut and hashed


def short_hash(text: str) -> str:
    """Six hex digits of the text's SHA-1: enough to tell headings of one file apart."""
    return hashlib.sha1(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()[:6]


@lru_cache(maxsize=65536)  # headings repeat across notes (优势, Advantages)
def slug(text: str, *, hashed: bool = True) -> str:
    """One id part from any text: lowercase ASCII words joined by _ (`RoPE 位置编码` -> `rope_1a2b3c`).

    With `hashed`, text that loses anything on the way to ASCII (other scripts, symbols, a cut)
    ends in a hash of the whole text, so the part is never empty and different texts differ.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    words = _NOT_WORD.sub("_", folded).strip("_")
    if not hashed:
        return words
    if text.isascii() and words and len(words) <= _MAX_ASCII:
        return words
    cut = words[:_MAX_ASCII].rstrip("_")
    return f"{cut}_{short_hash(text)}" if cut else f"h{short_hash(text)}"


def marker_parts(value: str) -> list[str]:
    """The id parts of a marker's value (`rope.basics` -> [rope, basics]); the value is checked first."""
    return [slug(part) for part in value.split(".") if part]


def card_id(deck: str, parts: list[str] | tuple[str, ...]) -> str:
    """`deck.part.part` (each part a slug already)."""
    return ".".join([deck, *parts])
