"""The results panel of a code check: the verdict, then each check's name, status and message.

`render_verdict` is the app's one renderer of a judge's Verdict.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from llmq.judge.verdict import Verdict, isolation_text
from llmq.l10n import _

_STATUS_STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "skip": "dim",
    "error": "bold red",
    "timeout": "bold yellow",
    "crash": "bold magenta",
}
_MARK = {"pass": "✓", "fail": "✗", "skip": "–"}


def render_verdict(verdict: Verdict) -> Text:
    """Readable text for the judge's verdict: status, time, seed, summary, each check, notes, output."""
    status = verdict.status
    text = Text()
    text.append(f"{status.upper()}", style=_STATUS_STYLE.get(status, "bold"))
    text.append(f"  {verdict.elapsed_s:.2f} s", style="dim")
    text.append(f"  seed {verdict.seed}", style="dim")
    if verdict.summary:
        text.append(f"\n{verdict.summary}")
    for check in verdict.checks:
        cstatus = check.status
        text.append(f"\n{_MARK.get(cstatus, '?')} ", style=_STATUS_STYLE.get(cstatus, ""))
        text.append(check.name, style="bold" if cstatus != "pass" else "")
        text.append(f"  {cstatus}", style=_STATUS_STYLE.get(cstatus, ""))
        if check.message and cstatus != "pass":
            for line in check.message.splitlines():
                text.append(f"\n    {line}")
    for note in verdict.notes:
        text.append(_("\nnote: {note}").format(note=note), style="italic")
    text.append(f"\n{isolation_text(verdict)}", style="dim" if verdict.isolation == "full" else "bold yellow")
    if verdict.stdout:
        text.append("\noutput:", style="dim")
        for line in verdict.stdout.splitlines()[:20]:
            text.append(f"\n  | {line}", style="dim")
    return text


class ResultsPanel(Static):
    """Empty until a check has run; then the verdict. Also shows 'running…', 'cancelled', and a
    check that could not run at all."""

    def show_verdict(self, verdict: Verdict) -> None:
        self.update(render_verdict(verdict))
        self.set_class(verdict.passed, "passed")
        self.set_class(not verdict.passed, "failed")

    def show_not_run(self, reason: str) -> None:
        """No verdict came back (the app's error notification says why)."""
        text = Text(_("ERROR"), style=_STATUS_STYLE["error"])
        text.append(f"\n{reason}")
        self.update(text)
        self.remove_class("passed")
        self.add_class("failed")

    def show_note(self, note: str) -> None:
        self.remove_class("passed", "failed")
        self.update(Text(note, style="italic"))
