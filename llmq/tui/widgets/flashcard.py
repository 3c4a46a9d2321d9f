"""A flashcard: the prompt, then (space/enter) the answer. A cloze card shows the same way: its
passage with the gaps as [...], then with them filled in (Cloze.prompt and Cloze.answer)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Rule, Static

from llmq.bank import Cloze, Flashcard
from llmq.l10n import _
from llmq.srs import Rating
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.markdown import BankMarkdown


def key_points_text(card: Flashcard | Cloze) -> str:
    """The points the answer must contain, as a Markdown checklist ("" for a card without them)."""
    points = card.key_points if isinstance(card, Flashcard) else ()
    if not points:
        return ""
    heading = _("Key points: grade your answer by these")
    return f"**{heading}**\n\n" + "\n".join(f"- {p}" for p in points)


class FlashcardView(CardView):
    def __init__(self, card: Flashcard | Cloze) -> None:
        super().__init__(classes="card flashcard")
        self.card = card

    def compose(self) -> ComposeResult:
        yield Static(self.card.title, classes="card-title")
        yield BankMarkdown(self.card.prompt, classes="prompt")
        yield Static(_("space or enter: show the answer"), classes="hint-line")

    def show_in(self, card: Flashcard | Cloze) -> None:
        """The same card in another language: title, prompt and (once shown) the answer change in place."""
        self.card = card
        self.query_one(".card-title", Static).update(card.title)
        self.query_one(".prompt", BankMarkdown).update(card.prompt)
        for answer in self.query(".answer").results(BankMarkdown):
            answer.update(card.answer)
        for points in self.query(".key-points").results(BankMarkdown):
            points.update(key_points_text(card))

    def reveal(self) -> bool:
        if self.graded:
            return False
        for line in self.query(".hint-line"):
            line.remove()
        self.mount(Rule())
        if key_points_text(self.card):  # the bank's key points, beside the answer: what to grade by
            self.mount(BankMarkdown(key_points_text(self.card), classes="key-points"))
        self.mount(BankMarkdown(self.card.answer, classes="answer"))
        self.grade(Rating.Good)  # Anki: space after the answer is shown means Good
        return True
