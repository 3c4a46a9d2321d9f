"""One question opened from the browser: the prompt and its answer, to read (not rated)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Rule, Static

from llmq.bank import Choice, Cloze, Flashcard, Numeric, Question
from llmq.l10n import N_, _
from llmq.tui.translated import TranslatedBindings, difficulty_name, kind_name
from llmq.tui.widgets.choice import LETTERS
from llmq.tui.widgets.markdown import BankMarkdown
from llmq.tui.widgets.reading import ReadingScroll


def answer_markdown(q: Question) -> tuple[str, str]:
    """(prompt, answer) as Markdown for reading."""
    if isinstance(q, (Flashcard, Cloze)):
        return q.prompt, q.answer
    if isinstance(q, Choice):
        options = "\n".join(f"- **{LETTERS[i]}.** {o}{' ✓' if i in q.correct else ''}" for i, o in enumerate(q.options))
        verdicts = [_("right") if i in q.correct else _("wrong") for i in range(len(q.rationales))]
        why = "\n".join(f"- **{LETTERS[i]}.** {verdicts[i]}: {r}" for i, r in enumerate(q.rationales))
        return f"{q.prompt}\n\n{options}", q.explanation + (f"\n\n{why}" if why else "")
    if isinstance(q, Numeric):
        return q.prompt, _("Unit: {unit}, tolerance ±{tolerance:.1%}\n\n{solution}").format(
            unit=q.unit or "—", tolerance=q.tolerance, solution=q.solution
        )
    return getattr(q, "task", ""), ""


class QuestionScreen(TranslatedBindings, Screen[None]):
    HELP = N_("one question with its answer, to read (not rated)")
    BINDINGS = [Binding("escape", "app.pop_screen", N_("Back"), id="question.back")]

    def __init__(self, question: Question) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Header()
        prompt, answer = answer_markdown(self.question)
        q = self.question
        with ReadingScroll(classes="card"):
            yield Static(f"{q.title}  ·  {q.id} · {kind_name(q.kind)} · {difficulty_name(q.difficulty)}", classes="card-title")
            yield BankMarkdown(prompt, classes="prompt")
            yield Rule()
            yield BankMarkdown(answer, classes="answer")
            if q.refs:
                yield Static(_("Sources: {refs}").format(refs="; ".join(q.refs)), classes="refs")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ReadingScroll).focus()  # the keys scroll the question at once
