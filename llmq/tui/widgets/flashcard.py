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

    def reveal(self) -> bool:
        if self.graded:
            return False
        for line in self.query(".hint-line"):
            line.remove()
        self.mount(Rule(), BankMarkdown(self.card.answer, classes="answer"))
        self.grade(Rating.Good)  # Anki: space after the answer is shown means Good
        return True
