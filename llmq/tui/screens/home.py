"""The home screen: topics with their questions, the way into everything else."""
from __future__ import annotations

from collections import Counter

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from llmq.bank import Bank


class HomeScreen(Screen):
    BINDINGS = [("q", "app.quit", "Quit")]

    def __init__(self, bank: Bank) -> None:
        super().__init__()
        self.bank = bank

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{len(self.bank.questions)} questions in {len(self.bank.topics)} topics", id="summary")
        yield DataTable(id="topics", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#topics", DataTable)
        table.add_columns("topic", "flashcard", "choice", "numeric", "code")
        counts: dict[str, Counter[str]] = {name: Counter() for name in self.bank.topics}
        for q in self.bank.questions.values():
            counts.setdefault(q.topic, Counter())[q.kind] += 1
        for name, topic in self.bank.topics.items():
            c = counts[name]
            table.add_row(topic.title, *(str(c[k]) for k in ("flashcard", "choice", "numeric", "code")), key=name)
