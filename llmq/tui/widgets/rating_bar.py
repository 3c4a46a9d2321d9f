"""The four answer buttons, Again / Hard / Good / Easy, each with its interval preview (as in Anki)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button

from llmq.l10n import _
from llmq.srs import Rating
from llmq.tui.translated import interval_name

_VARIANTS = {Rating.Again: "error", Rating.Hard: "warning", Rating.Good: "success", Rating.Easy: "primary"}


class RatingBar(Horizontal, can_focus=True):
    """Shows `1 Again 10m` ... ; a click posts Rated. Keys 1-4 live on the review screen."""

    class Rated(Message):
        def __init__(self, rating: Rating) -> None:
            self.rating = rating
            super().__init__()

    def compose(self) -> ComposeResult:
        for r in Rating:
            yield Button(f"{int(r)} {_(r.name)}", id=f"rate-{r.name.lower()}", variant=_VARIANTS[r])  # type: ignore[arg-type]

    def set_previews(self, previews: dict[str, str], suggested: Rating | None = None) -> None:
        """Label each button with its interval; mark the suggested rating."""
        for r in Rating:
            button = self.query_one(f"#rate-{r.name.lower()}", Button)
            mark = " ◆" if r == suggested else ""
            button.label = f"{int(r)} {_(r.name)} · {interval_name(previews.get(r.name, '?'))}{mark}"
            button.set_class(r == suggested, "suggested")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        name = (event.button.id or "").removeprefix("rate-").capitalize()
        self.post_message(self.Rated(Rating[name]))
