"""What every card widget in the review screen shares: it shows a question and says when it is graded."""

from __future__ import annotations

from textual.containers import Container
from textual.message import Message

from llmq.srs import Rating


class CardView(Container):
    """A question on screen. It posts Graded once the answer is shown (with the rating the result
    suggests); the review screen then offers the four rating buttons."""

    class Graded(Message):
        def __init__(self, suggested: Rating) -> None:
            self.suggested = suggested
            super().__init__()

    graded: bool = False

    def reveal(self) -> bool:
        """Space/enter on the screen: show the answer if this card does that. True if it did."""
        return False

    def grade(self, suggested: Rating) -> None:
        if not self.graded:
            self.graded = True
            self.post_message(self.Graded(suggested))
