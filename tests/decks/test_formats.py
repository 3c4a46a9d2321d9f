"""The notes formats: what cards each reads from a note, and the problems it reports at file:line."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from llmq.bank.model import CLOZE_GAP_RE
from llmq.decks.formats import hashcards, headings, obsidian, tsv
from llmq.decks.formats.choose import detect

NOTES = Path(__file__).parent / "notes"
NOTE = Path("note.md")


def test_headings_topic_notes_give_cards_with_parent_context() -> None:
    path = NOTES / "topics" / "attention.md"
    cards, problems = headings.parse(path.read_text(encoding="utf-8"), path)
    assert problems == []
    by_title = {c.title: c for c in cards}
    # The note's title is context, not a card; an empty section (Further reading) makes none.
    assert list(by_title) == [
        "Attention › MQA",
        "Attention › MQA › Advantages",
        "Attention › MQA › Drawbacks",
        "Attention › GQA",
        "Attention › GQA › Repeating KV heads",
        "Attention › Scaled dot product",
    ]
    advantages = by_title["Attention › MQA › Advantages"]
    assert advantages.prompt == "Advantages"
    assert advantages.answer.startswith("- The KV cache shrinks")
    # A section's answer runs to the next heading of its level: subsections included.
    assert "Quality drops" in by_title["Attention › MQA"].answer
    gqa = by_title["Attention › GQA"].answer
    assert "| GQA | G |" in gqa and "k = k.repeat_interleave(n_rep, dim=1)" in gqa
    sdpa = by_title["Attention › Scaled dot product"]
    assert sdpa.marker == "sdpa-scaling"
    assert "$$\\mathrm{softmax}" in sdpa.answer and "llmq:id" not in sdpa.answer
    assert "[image: attention heads (images/heads.png)]" in sdpa.answer.split("\n")


def test_headings_without_a_title_take_the_file_name_as_context() -> None:
    path = NOTES / "topics" / "normalization.md"
    cards, _ = headings.parse(path.read_text(encoding="utf-8"), path)
    assert [c.title for c in cards] == ["normalization › RMSNorm", "normalization › LayerNorm › Why Pre-Norm trains more stably"]


def test_headings_in_code_are_not_headings_and_an_open_fence_is_reported() -> None:
    text = "## Q\n\n```python\n# not a heading\nx = 1\n```\n\n## R\nanswer\n"
    cards, problems = headings.parse(text, NOTE)
    assert [c.prompt for c in cards] == ["Q", "R"] and "# not a heading" in cards[0].answer
    cards, problems = headings.parse("## Q\nfine\n\n## R\n```\nnever closed\n", NOTE)
    assert [str(p) for p in problems] == ["note.md:5: this code block (```) is never closed; add a closing ``` line"]


_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters='#`=[]{}:?<>!|*_~\\$"'),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s.strip())


@given(st.lists(st.tuples(st.integers(1, 4), _words, _words), min_size=1, max_size=8))
def test_headings_every_heading_with_text_is_a_card_with_that_text(sections: list[tuple[int, str, str]]) -> None:
    text = "\n\n".join(f"{'#' * (level + 1)} {title}\n\n{body}" for level, title, body in sections)
    cards, problems = headings.parse(text, NOTE)
    assert problems == []
    assert [c.prompt for c in cards] == [title for _, title, _ in sections]
    for card, (_, _, body) in zip(cards, sections):
        assert card.answer.startswith(body) and card.answer.strip()


def test_obsidian_cards_both_ways_multiline_and_cloze() -> None:
    text = (
        "#flashcards\n## MQA\n"
        "What does MQA share::one K and one V head\n"
        "KV cache:::keys and values of past tokens\n"
        "`std::move` is code, not a card\n\n"
        "Why GQA?\n?\nFewer KV heads,\nless memory.\n\n"
        "RoPE rotates ==pairs of dimensions== by ==position-dependent angles==.\n<!--SR:!2024-01-01,3,250-->\n"
    )
    cards, problems = obsidian.parse(text, NOTE)
    assert problems == []
    got = [(c.kind, c.prompt or c.passage, c.answer) for c in cards]
    assert got == [
        ("flashcard", "What does MQA share", "one K and one V head"),
        ("flashcard", "KV cache", "keys and values of past tokens"),
        ("flashcard", "keys and values of past tokens", "KV cache"),
        ("flashcard", "Why GQA?", "Fewer KV heads,\nless memory."),
        ("cloze", "RoPE rotates {{c1::pairs of dimensions}} by position-dependent angles.", ""),
        ("cloze", "RoPE rotates pairs of dimensions by {{c1::position-dependent angles}}.", ""),
    ]
    assert cards[0].title == "note › MQA › What does MQA share"


def test_obsidian_a_question_mark_card_without_an_answer_is_a_problem() -> None:
    _, problems = obsidian.parse("## A\nWhat is it?\n?\n", NOTE)
    assert [str(p) for p in problems] == ["note.md:3: this '?' card needs an answer below it"]


def test_hashcards_questions_and_cloze() -> None:
    text = "# Norms\nQ: What does RMSNorm drop?\nA: The mean subtraction\nand the bias.\n\nC: RMSNorm divides by [the root mean square]; see [docs](https://x.org).\n"
    cards, problems = hashcards.parse(text, NOTE)
    assert problems == []
    assert (cards[0].prompt, cards[0].answer) == ("What does RMSNorm drop?", "The mean subtraction\nand the bias.")
    assert [c.passage for c in cards[1:]] == ["RMSNorm divides by {{c1::the root mean square}}; see [docs](https://x.org)."]


def test_hashcards_problems_name_the_line() -> None:
    _, problems = hashcards.parse("A: stray\nQ: no answer\n\nC: no gaps here\n", NOTE)
    assert [str(p) for p in problems] == [
        "note.md:1: this answer (A:) has no question (Q:) above it",
        "note.md:2: this question (Q:) has no answer (A:) after it",
        "note.md:4: this cloze (C:) has no gap: put the hidden words in [brackets]",
    ]


def test_tsv_reads_anki_headers_html_tags_and_cloze() -> None:
    text = (
        "#separator:tab\n#html:true\n#notetype column:1\n#tags column:4\n#deck:LLM Notes\n"
        "Basic\tWhat is <b>GQA</b>?\tGrouped<br>query attention\tattention llm\n"
        "Cloze\t{{c1::RoPE}} rotates {{c2::pairs}}\tsee the paper\trope\n"
        'Basic\t"a front over\ntwo lines"\tback\t\n'
    )
    cards, problems = tsv.parse(text, Path("export.txt"))
    assert problems == []
    assert tsv.deck_header(text) == "LLM Notes"
    assert (cards[0].prompt, cards[0].answer, cards[0].tags) == (
        "What is **GQA**?",
        "Grouped\nquery attention",
        ("attention", "llm"),
    )
    assert [(c.kind, c.passage, c.extra) for c in cards[1:3]] == [
        ("cloze", "{{c1::RoPE}} rotates pairs", "see the paper"),
        ("cloze", "RoPE rotates {{c1::pairs}}", "see the paper"),
    ]
    assert (cards[3].prompt, cards[3].line) == ("a front over\ntwo lines", 8)


def test_tsv_problems_name_the_line() -> None:
    _, problems = tsv.parse("#separator:Comma\nfront,back\nonly a front\n", Path("x.csv"))
    assert [str(p) for p in problems] == ["x.csv:3: this note has no back: a note needs a front and a back separated by comma"]
    _, problems = tsv.parse("#separator:Dash\n", Path("x.csv"))
    assert "x.csv:1: unknown separator 'Dash'" in str(problems[0])


@given(st.lists(st.tuples(_words, _words), min_size=1, max_size=10))
def test_tsv_every_row_is_a_card(rows: list[tuple[str, str]]) -> None:
    text = "#separator:tab\n" + "".join(f"{front}\t{back}\n" for front, back in rows)
    cards, problems = tsv.parse(text, Path("x.tsv"))
    assert problems == []
    assert [(c.prompt, c.answer, c.line) for c in cards] == [(f, b, i + 2) for i, (f, b) in enumerate(rows)]


@given(st.lists(_words, min_size=1, max_size=5))
def test_a_cloze_card_per_gap_each_hiding_one(words: list[str]) -> None:
    passage = "Start " + " and ".join(f"[{w}]" for w in words) + " end."
    cards, problems = hashcards.parse(f"C: {passage}\n", NOTE)
    assert problems == []
    assert len(cards) == len(words)
    for card, word in zip(cards, words):
        assert [m.group(2) for m in CLOZE_GAP_RE.finditer(card.passage)] == [word]


def test_auto_detects_each_format() -> None:
    assert detect("## Q\nanswer\n", NOTE) == "headings"
    assert detect("Q: a\nA: b\n", NOTE) == "hashcards"
    assert detect("term::definition\n", NOTE) == "obsidian"
    assert detect("text `a::b` only\n", NOTE) == "headings"
    assert detect("a\tb\n", Path("x.txt")) == "tsv"


def test_a_note_that_is_one_question_is_one_card() -> None:
    cards, _ = headings.parse("# What does RMSNorm drop?\n\nThe mean and the bias.\n", NOTE)
    assert [(c.title, c.answer) for c in cards] == [("What does RMSNorm drop?", "The mean and the bias.")]
