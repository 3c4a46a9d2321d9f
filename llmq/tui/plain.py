"""Questions as plain text for the terminal: `llmq show ID` and the task docstring of `llmq stub ID`
(no Textual here: the command line uses it without starting the app).

What the app shows, minus the interaction: a card's prompt (never its answer), a code task with its
conventions, how many hints it has, and its stub. Math is rendered as the app renders it.
"""

from __future__ import annotations

from llmq.bank import Choice, Cloze, CodeExercise, Flashcard, Numeric, Question
from llmq.l10n import _

LETTERS = "abcdefgh"


def _plain(markdown: str) -> str:
    from llmq.tui.mathtext import render_math  # pylatexenc, loaded only when a question is shown

    return render_math(markdown, escape=False).strip()


def show_text(q: Question) -> str:
    """The question as the app presents it before any answer."""
    head = [q.title, f"{q.id} · {q.kind} · {q.topic} · {q.difficulty} · {q.track}", ""]
    if isinstance(q, CodeExercise):
        n = len(q.hints)
        body = [
            _plain(q.task),
            "",
            _("Hints: {n} (shown one at a time in the app: ctrl+t)").format(n=n),
            _("Check a solution: llmq check {id} FILE    Starter file: llmq stub {id} > FILE").format(id=q.id),
            "",
            _("Stub:"),
            "",
            q.stub.rstrip("\n"),
        ]
    elif isinstance(q, Choice):
        how = _("Several options are right.") if q.multiple else _("One option is right.")
        options = [f"  {LETTERS[i]}. {_plain(o)}" for i, o in enumerate(q.options)]
        body = [_plain(q.prompt), "", *options, "", _("{how} (The app shuffles the options each time.)").format(how=how)]
    elif isinstance(q, Numeric):
        from llmq.bank.numeric import instantiate  # runs the answer module in a child process

        shown = instantiate(q)
        unit = _(" in {unit}").format(unit=q.unit) if q.unit else ""
        body = [
            _plain(shown.prompt),
            "",
            _("Answer{unit}, within ±{tolerance:.1%}. (The app draws fresh numbers each time.)").format(
                unit=unit, tolerance=q.tolerance
            ),
        ]
    elif isinstance(q, (Flashcard, Cloze)):
        body = [_plain(q.prompt)]  # a cloze card: its gaps as [...]
    else:
        body = []
    return "\n".join([*head, *body]).rstrip() + "\n"


def stub_with_task(q: CodeExercise) -> str:
    """The stub with the task as its module docstring, so the spec travels with the file."""
    task = _plain(q.task)
    text = _("{title} ({id})\n\n{task}\n\nHints: {hints} (in the app: ctrl+t).  Check: llmq check {id} THIS_FILE\n").format(
        title=q.title, id=q.id, task=task, hints=len(q.hints)
    )
    # A docstring cannot hold three quotes in a row or end in a backslash; no task does, but be safe.
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    stub = q.stub if q.stub.endswith("\n") else q.stub + "\n"
    return f'"""{text}"""\n\n{stub}'
