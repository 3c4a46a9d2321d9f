"""The deck file as written reads back as exactly the cards that were written (YAML round trip)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from llmq.decks import write

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@given(
    st.lists(
        st.fixed_dictionaries({"id": st.just("d.x"), "title": _text, "answer": _text, "refs": st.lists(_text, max_size=2)}),
        max_size=5,
    )
)
def test_render_reads_back_as_written(entries: list[write.Entry]) -> None:
    text, _ = write.render("d", entries)
    assert yaml.safe_load(text) == {"topic": "d", "title": "d", "questions": entries}
    assert write.parse(Path("d.yaml"), text) == entries


def test_multi_line_text_is_a_readable_block() -> None:
    text, _ = write.render("d", [{"id": "d.x", "answer": "- one\n\n```python\nx = 1\n```"}])
    assert "    answer: |-\n      - one\n\n      ```python\n      x = 1\n      ```\n" in text
