"""A multiple-choice card: its options shuffled each time it is shown; pick with 1-8, a-h, or the
arrow keys and enter; several right answers: toggle, then submit. Feedback per option: picked
and right, picked and wrong, or missed, each with that option's rationale.

Positions on screen and the bank's option indices are kept apart: `order[p]` is the bank index of
the option shown at position p (letter `LETTERS[p]`); `selected` and the grading use bank indices.
"""

from __future__ import annotations

import random

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Rule, Static

from llmq.bank import Choice
from llmq.l10n import N_, _
from llmq.srs import Rating
from llmq.tui.errors import guarded
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.markdown import BankMarkdown

LETTERS = "abcdefgh"

_RNG = random.Random()


def draw_order(n: int) -> tuple[int, ...]:
    """A fresh order for n options (tests replace this to get the bank's order)."""
    return tuple(_RNG.sample(range(n), n))


def option_feedback(picked: bool, right: bool) -> str:
    """What a graded option says about the user's choice."""
    if picked:
        return _("✓ you picked it, right") if right else _("✗ you picked it, wrong")
    return _("✗ you missed it (a right option)") if right else _("· not picked (a wrong option)")


class ChoiceView(CardView, can_focus=True):
    BINDINGS = [
        *[Binding(str(i + 1), f"pick({i})", N_("Pick"), show=i == 0, key_display="1-8/a-h") for i in range(8)],
        *[Binding(LETTERS[i], f"pick({i})", N_("Pick"), show=False) for i in range(8)],
        Binding("up", "move(-1)", N_("Up"), show=False),
        Binding("down", "move(1)", N_("Down"), show=False),
        Binding("space", "toggle_cursor", N_("Toggle"), id="choice.toggle"),
        Binding("enter", "enter", N_("Choose"), id="choice.submit"),
    ]

    def __init__(self, card: Choice, order: tuple[int, ...] | None = None) -> None:
        super().__init__(classes="card choice")
        self.card = card
        n = len(card.options)
        self.order: tuple[int, ...] = order if order is not None and sorted(order) == list(range(n)) else draw_order(n)
        self.selected: set[int] = set()  # bank indices
        self.cursor = 0  # a position on screen

    def compose(self) -> ComposeResult:
        yield Static(self.card.title, classes="card-title")
        yield BankMarkdown(self.card.prompt, classes="prompt")
        how = (
            _("Several are right: toggle with 1-8, a-h or ↑↓ and space, then enter.")
            if self.card.multiple
            else _("Pick one with 1-8 or a-h, or ↑↓ and enter.")
        )
        yield Static(how, classes="hint-line")
        with Vertical(id="options"):
            for p in range(len(self.order)):
                # drawn as _refresh_option would draw it (nothing is ticked yet): no second parse on mount
                classes = "option cursor" if p == self.cursor else "option"
                yield BankMarkdown(self._label(p), id=f"option-{p}", classes=classes)

    def _label(self, p: int, graded: bool = False) -> str:
        """The option at position p as shown: a box to tick when several are right; once graded,
        what the user's choice was and the option's rationale."""
        i = self.order[p]
        text = f"**{LETTERS[p]}.** {self.card.options[i]}"
        if graded:
            line = option_feedback(i in self.selected, i in self.card.correct)
            rationale = self.card.rationales[i] if self.card.rationales else ""
            return f"{text}\n\n*{line}*" + (f" — {rationale}" if rationale else "")
        mark = ("[x] " if i in self.selected else "[ ] ") if self.card.multiple else ""
        pointer = "› " if p == self.cursor else "\u2800 "  # a blank Markdown does not strip: rows stay aligned
        return f"{pointer}{mark}{text}"

    def on_mount(self) -> None:
        self.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.graded:
            return False  # the keys fall through to the screen's rating and scrolling keys
        if action == "pick":
            index = parameters[0]  # pick(p): Textual passes p as an int
            return isinstance(index, int) and index < len(self.card.options)
        if action == "toggle_cursor":
            return self.card.multiple  # one right answer: enter picks the option under the cursor
        return True

    def _refresh_option(self, p: int) -> None:
        option = self.query_one(f"#option-{p}", BankMarkdown)
        option.set_class(self.order[p] in self.selected, "selected")
        option.set_class(p == self.cursor, "cursor")
        option.update(self._label(p))

    def action_move(self, step: int) -> None:
        before = self.cursor
        self.cursor = (self.cursor + step) % len(self.order)
        self._refresh_option(before)
        self._refresh_option(self.cursor)
        self.query_one(f"#option-{self.cursor}").scroll_visible(animate=False)

    def action_pick(self, position: int) -> None:
        index = self.order[position]
        if self.card.multiple:
            self.selected ^= {index}
            self._refresh_option(position)
        else:
            self.selected = {index}
            self._grade()

    def action_toggle_cursor(self) -> None:
        """Space: tick the option under the cursor."""
        self.action_pick(self.cursor)

    def action_enter(self) -> None:
        """Several right: submit what is ticked. One right: pick the option under the cursor."""
        if not self.card.multiple:
            self.action_pick(self.cursor)
            return
        if not self.selected:
            self.notify(_("Pick at least one option first."), title=_("Choice"), severity="warning")
            return
        self._grade()

    @guarded
    def _grade(self) -> None:
        right = self.selected == set(self.card.correct)
        for p, i in enumerate(self.order):
            option = self.query_one(f"#option-{p}", BankMarkdown)
            option.update(self._label(p, graded=True))
            option.set_class(False, "cursor").set_class(False, "selected")
            option.set_class(i in self.card.correct, "correct")
            option.set_class(i in self.selected and i not in self.card.correct, "wrong")
        letters = ", ".join(LETTERS[p] for p, i in enumerate(self.order) if i in self.card.correct)
        verdict = _("✓ Right.") if right else _("✗ Not quite: the answer is {letters}.").format(letters=letters)
        self.query_one(".hint-line", Static).update(verdict)
        self.query_one(".hint-line").set_class(right, "right").set_class(not right, "wrong-line")
        self.mount(Rule(), BankMarkdown(self.card.explanation, classes="answer explanation"))
        self.grade(Rating.Good if right else Rating.Again)
        self.refresh_bindings()
