"""The code panel of a mock interview round: the review screen's CodePanel with the task alone and
a blank editor (the stub's imports and signature lines only: no body, no docstring), no hints,
no reference, no last attempt. Each run's verdict is reported to the round (Judged); the round,
not the panel, rates the exercise."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import replace

from textual.message import Message

from llmq.bank import CodeExercise
from llmq.judge.verdict import Verdict
from llmq.srs import Rating
from llmq.tui.widgets.code_panel import CodePanel

INDENT = "    "


def blank_stub(stub: str, function: str) -> str:
    """What the editor starts with: the stub's import lines, then the signature line(s) of each
    of its functions (decorators kept: a Triton kernel's @triton.jit), each over an empty body.
    A stub that does not parse gives just `def function(`...`):` lines found as text."""
    lines = stub.splitlines()
    try:
        tree = ast.parse(stub)
    except SyntaxError:
        heads = [line for line in lines if line.lstrip().startswith(f"def {function}")]
        return "\n\n\n".join(f"{h}\n{INDENT}" for h in heads) or f"def {function}():\n{INDENT}"
    imports = [ast.get_source_segment(stub, node) or "" for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    functions = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            last = node.body[0].lineno - 1 if node.body[0].lineno > node.lineno else node.lineno
            head = "\n".join(lines[first - 1 : last]).rstrip()
            functions.append(f"{head}\n{INDENT}")
    if not functions:
        functions = [f"def {function}():\n{INDENT}"]
    top = "\n".join(imports)
    return (f"{top}\n\n\n" if top else "") + "\n\n\n".join(functions)


def interview_exercise(exercise: CodeExercise) -> CodeExercise:
    """The exercise as a round shows it: its task, a blank editor, no hints."""
    return replace(exercise, stub=blank_stub(exercise.stub, exercise.function), hints=())


class InterviewPanel(CodePanel):
    """Runs are allowed (and counted by the round); hints, the reference and the last attempt are not."""

    class Judged(Message):
        """A run came back: its verdict (None: the judge could not run it) and when it was started
        (the round's clock at the key press)."""

        def __init__(self, verdict: Verdict | None, started: float) -> None:
            self.verdict = verdict
            self.started = started
            super().__init__()

    def __init__(self, exercise: CodeExercise, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(interview_exercise(exercise), review=False)
        self.clock = clock
        self.locked = False  # the coding is over (passed, time out, gave up): no more runs
        self.ready = False  # the round's row is written: runs may be counted
        self._pressed = 0.0

    def on_mount(self) -> None:
        # Once laid out: moved before the editor has its width, the cursor scrolls it sideways.
        self.call_after_refresh(self._cursor_to_body)

    def _cursor_to_body(self) -> None:
        """The cursor in the (last) function's empty body, ready to type; the view at the left edge."""
        editor = self.editor
        last = editor.document.line_count - 1
        editor.move_cursor((last, len(editor.document.get_line(last))))
        editor.scroll_to(x=0, animate=False)

    def _load_attempt(self) -> None:
        """A round starts blank: the last attempt is not loaded."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("hint", "reveal_reference"):
            return False
        if action == "run_checks":
            return self.ready and not self.locked and not self.running
        return super().check_action(action, parameters)

    def action_run_checks(self) -> None:
        if not self.ready or self.locked or self.running:
            return
        self._pressed = self.clock()
        super().action_run_checks()

    async def action_hint(self) -> None:
        """No hints in a round."""

    def action_reveal_reference(self) -> None:
        """No reference in a round."""

    def grade(self, suggested: Rating) -> None:
        """The round rates the exercise by its own rule (llmq.srs.interview_rating)."""

    def stop_coding(self) -> None:
        """The coding is over: the editor keeps the code, read-only, and no run starts."""
        self.locked = True
        self.editor.read_only = True
        self.refresh_bindings()

    def on_code_panel_check_finished(self, message: CodePanel.CheckFinished) -> None:
        # This runs before CodePanel's own handler (Textual walks the class tree): the panel shows
        # the verdict first, then the round hears of it, once per run that was not cancelled.
        current = self.running and message.run == self._run
        message.prevent_default()
        CodePanel.on_code_panel_check_finished(self, message)
        if current and (message.verdict is not None or not message.ran):
            self.post_message(self.Judged(message.verdict, self._pressed))
