"""The results panel of a code check: the verdict, then each check's name, status and message."""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

_STATUS_STYLE = {"pass": "bold green", "fail": "bold red", "skip": "dim", "error": "bold red",
                 "timeout": "bold yellow", "crash": "bold magenta"}
_MARK = {"pass": "✓", "fail": "✗", "skip": "–"}


def render_verdict(verdict: dict[str, Any]) -> Text:
    """Readable text for a verdict dict (the shape of `llmq check --json`)."""
    status = str(verdict.get("status", "?"))
    text = Text()
    text.append(f"{status.upper()}", style=_STATUS_STYLE.get(status, "bold"))
    elapsed = verdict.get("elapsed_s")
    if isinstance(elapsed, (int, float)):
        text.append(f"  {elapsed:.2f} s", style="dim")
    if verdict.get("seed") is not None:
        text.append(f"  seed {verdict['seed']}", style="dim")
    if verdict.get("summary"):
        text.append(f"\n{verdict['summary']}")
    for check in verdict.get("checks", []):
        cstatus = str(check.get("status", "?"))
        text.append(f"\n{_MARK.get(cstatus, '?')} ", style=_STATUS_STYLE.get(cstatus, ""))
        text.append(str(check.get("name", "")), style="bold" if cstatus != "pass" else "")
        text.append(f"  {cstatus}", style=_STATUS_STYLE.get(cstatus, ""))
        message = str(check.get("message") or "")
        if message and cstatus != "pass":
            for line in message.splitlines():
                text.append(f"\n    {line}")
    for note in verdict.get("notes") or []:
        text.append(f"\nnote: {note}", style="italic")
    output = str(verdict.get("stdout") or "")
    if output:
        text.append("\noutput:", style="dim")
        for line in output.splitlines()[:20]:
            text.append(f"\n  | {line}", style="dim")
    return text


class ResultsPanel(Static):
    """Empty until a check has run; then the verdict. Also shows 'running…' and 'cancelled'."""

    def show_verdict(self, verdict: dict[str, Any]) -> None:
        self.update(render_verdict(verdict))
        self.set_class(verdict.get("status") == "pass", "passed")
        self.set_class(verdict.get("status") != "pass", "failed")

    def show_note(self, note: str) -> None:
        self.remove_class("passed", "failed")
        self.update(Text(note, style="italic"))
