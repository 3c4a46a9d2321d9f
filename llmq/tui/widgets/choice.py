"""A multiple-choice card: pick with 1-8 or a-h; several right answers: toggle, then enter submits."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Rule, Static

from llmq.bank import Choice
from llmq.srs import Rating
from llmq.tui.errors import guarded
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.markdown import BankMarkdown

LETTERS = "abcdefgh"


class ChoiceView(CardView, can_focus=True):
    BINDINGS = [
        *[Binding(str(i + 1), f"pick({i})", "Pick", show=i == 0, key_display="1-8/a-h") for i in range(8)],
        *[Binding(LETTERS[i], f"pick({i})", "Pick", show=False) for i in range(8)],
        Binding("enter,space", "submit", "Submit", id="choice.submit"),
    ]

    def __init__(self, card: Choice) -> None:
        super().__init__(classes="card choice")
        self.card = card
        self.selected: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Static(self.card.title, classes="card-title")
        yield BankMarkdown(self.card.prompt, classes="prompt")
        how = ("Several are right: toggle with 1-8 or a-h, then enter." if self.card.multiple
               else "Pick one with 1-8 or a-h.")
        yield Static(how, classes="hint-line")
        with Vertical(id="options"):
            for i in range(len(self.card.options)):
                yield BankMarkdown(self._label(i), id=f"option-{i}", classes="option")

    def _label(self, i: int, graded: bool = False) -> str:
        """The option as shown: a box to tick when several are right; ✓/✗ once graded."""
        mark = ""
        if graded:
            mark = "✓ " if i in self.card.correct else ("✗ " if i in self.selected else "· ")
        elif self.card.multiple:
            mark = "[x] " if i in self.selected else "[ ] "
        return f"{mark}**{LETTERS[i]}.** {self.card.options[i]}"

    def on_mount(self) -> None:
        self.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.graded:
            return False  # the keys fall through to the screen's rating keys
        if action == "pick":
            index = parameters[0]  # pick(i): Textual passes i as an int
            return isinstance(index, int) and index < len(self.card.options)
        if action == "submit":
            return self.card.multiple
        return True

    def action_pick(self, index: int) -> None:
        if self.card.multiple:
            self.selected ^= {index}
            option = self.query_one(f"#option-{index}", BankMarkdown)
            option.set_class(index in self.selected, "selected")
            option.update(self._label(index))
        else:
            self.selected = {index}
            self._grade()

    def action_submit(self) -> None:
        if not self.selected:
            self.notify("Pick at least one option first.", title="Choice", severity="warning")
            return
        self._grade()

    @guarded
    def _grade(self) -> None:
        right = self.selected == set(self.card.correct)
        for i in range(len(self.card.options)):
            option = self.query_one(f"#option-{i}", BankMarkdown)
            option.update(self._label(i, graded=True))
            option.set_class(i in self.card.correct, "correct")
            option.set_class(i in self.selected and i not in self.card.correct, "wrong")
        letters = ", ".join(LETTERS[i] for i in sorted(self.card.correct))
        verdict = "✓ Right." if right else f"✗ Not quite: the answer is {letters}."
        self.query_one(".hint-line", Static).update(verdict)
        self.query_one(".hint-line").set_class(right, "right").set_class(not right, "wrong-line")
        self.mount(Rule(), BankMarkdown(self.card.explanation, classes="answer explanation"))
        self.grade(Rating.Good if right else Rating.Again)
        self.refresh_bindings()
