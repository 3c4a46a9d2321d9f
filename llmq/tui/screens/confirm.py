"""A yes/no question over the screen, for actions that change progress: `y` or enter goes ahead,
`n` or escape keeps things as they are (the answer is the screen's result)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from llmq.l10n import N_, _
from llmq.tui.translated import TranslatedBindings


class ConfirmScreen(TranslatedBindings, ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", N_("Yes"), id="confirm.yes"),
        Binding("n,escape", "answer(False)", N_("No"), id="confirm.no"),
    ]

    def __init__(self, question: str, consequence: str, yes: str) -> None:
        super().__init__()
        self.question = question
        self.consequence = consequence
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            yield Static(self.consequence, id="confirm-consequence")
            yield Static(_("y or enter: {yes} · n or escape: keep it as it is").format(yes=self.yes), id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
