"""The llmq Textual application."""
from __future__ import annotations

from textual.app import App

from llmq.bank import Bank
from llmq.tui.screens.home import HomeScreen


class LlmqApp(App):
    TITLE = "llmq"
    SUB_TITLE = "LLM-engineering interview prep"

    def __init__(self, bank: Bank) -> None:
        super().__init__()
        self.bank = bank

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.bank))


def run_app(bank: Bank, study: bool = False, topic: str | None = None, kind: str | None = None) -> int:
    LlmqApp(bank).run()
    return 0
