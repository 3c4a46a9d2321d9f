"""A numeric card: fresh parameters each time; the answer is read with its units and checked
within the question's tolerance; then the worked solution."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, Rule, Static

from llmq.bank import Numeric
from llmq.bank.numeric import AnswerFormatError, Instance, is_correct, render
from llmq.l10n import _
from llmq.srs import Rating
from llmq.tui.errors import guarded
from llmq.tui.widgets.card_view import CardView
from llmq.tui.widgets.markdown import BankMarkdown


def format_answer(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:.4g}"


def same_numbers(instance: Instance, question: Numeric) -> Instance:
    """`instance` (the numbers already drawn) written out from `question`, the same question in
    another language: the answer module is asked again for the same values (its worked steps
    are not kept with a drawn instance), never for fresh numbers."""
    if question is instance.question:
        return instance
    from llmq.bank import numeric_runner  # a warm child process; well under a millisecond

    [(answer, steps)] = numeric_runner.evaluate(question.answer_path, [instance.values])
    context = {**instance.values, **steps, "answer": answer}
    return Instance(
        question=question,
        values=instance.values,
        answer=answer,
        prompt=render(question.prompt, context),
        solution=render(question.solution, context),
    )


class NumericView(CardView):
    def __init__(self, instance: Instance) -> None:
        super().__init__(classes="card numeric")
        self.instance = instance

    def compose(self) -> ComposeResult:
        q = self.instance.question
        yield Static(q.title, classes="card-title")
        yield BankMarkdown(self.instance.prompt, classes="prompt")
        unit = _(" in {unit}").format(unit=q.unit) if q.unit else ""
        example = _("e.g. 31.4 {unit} or 3.14e10").format(unit=q.unit) if q.unit else _("e.g. 31.4 or 3.14e10")
        yield Input(
            placeholder=_("your answer{unit} ({example}; prefixes like k, M, G, Gi understood)").format(
                unit=unit, example=example
            ),
            id="numeric-answer",
        )
        yield Static(_("enter: check · tolerance ±{tolerance:.1%}").format(tolerance=q.tolerance), classes="hint-line")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def show_in(self, instance: Instance) -> None:
        """The same drawn card in another language (see `same_numbers`): title, prompt and the
        worked solution, once shown, change in place; what was typed and the verdict stay."""
        self.instance = instance
        self.query_one(".card-title", Static).update(instance.question.title)
        self.query_one(".prompt", BankMarkdown).update(instance.prompt)
        for solution in self.query(".solution").results(BankMarkdown):
            solution.update(instance.solution)

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.graded or not event.value.strip():
            return
        q = self.instance.question
        try:
            right = is_correct(event.value, q, self.instance.answer)
        except AnswerFormatError as err:
            self.notify(
                _("{err}. Try e.g. 31.4 {unit}").format(err=err, unit=q.unit).strip(),
                title=_("Could not read that"),
                severity="warning",
            )
            return
        expected = f"{format_answer(self.instance.answer)} {q.unit}".strip()
        line = self.query_one(".hint-line", Static)
        line.update(
            _("✓ Right: {expected}").format(expected=expected)
            if right
            else _("✗ You said {said}; the answer is {expected}").format(said=event.value.strip(), expected=expected)
        )
        line.set_class(right, "right").set_class(not right, "wrong-line")
        event.input.disabled = True
        self.mount(Rule(), BankMarkdown(self.instance.solution, classes="answer solution"))
        self.grade(Rating.Good if right else Rating.Again)
