"""Card ids: ASCII-safe for the store and the bank, stable, distinct for distinct headings."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmq.bank.model import ID_RE
from llmq.decks.errors import DeckError
from llmq.decks.ids import card_id, slug
from llmq.decks.paths import check_deck_name

PART = re.compile(r"^[a-z0-9_]+$")


@given(st.text(min_size=1, max_size=120))
def test_a_slug_is_a_valid_id_part_and_the_same_every_time(text: str) -> None:
    part = slug(text)
    assert PART.match(part)
    assert slug(text) == part
    assert ID_RE.match(card_id("deck", [part, part]))


@given(
    st.text(alphabet="优势劣势位置编码注意力机制", min_size=1, max_size=12),
    st.text(alphabet="优势劣势位置编码注意力机制", min_size=1, max_size=12),
)
def test_chinese_headings_get_distinct_ids(a: str, b: str) -> None:
    if a != b:
        assert slug(a) != slug(b)


def test_slugs_read_like_the_heading_where_they_can() -> None:
    assert slug("What is MQA?") == "what_is_mqa"
    assert slug("RoPE 位置编码").startswith("rope_")
    assert slug("优势").startswith("h") and len(slug("优势")) == 7


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "My Deck", "", "x" * 41, "attention"])
def test_deck_names_that_could_escape_or_clash_are_refused(name: str) -> None:
    with pytest.raises(DeckError):
        check_deck_name(name)
