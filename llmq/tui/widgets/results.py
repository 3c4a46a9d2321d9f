"""The results panel of a code check: the verdict, then each check's name, status and message.

`render_verdict` is the app's one renderer of a judge's Verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widgets import Static

from llmq.judge.verdict import Verdict, check_message, check_title, isolation_text, review_line
from llmq.l10n import N_, _, ngettext

_STATUS_STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "skip": "dim",
    "error": "bold red",
    "timeout": "bold yellow",
    "crash": "bold magenta",
}
_MARK = {"pass": "✓", "fail": "✗", "skip": "–"}
# A verdict's status as its heading, and a check's status after its name (the judge writes them in English).
_HEADING = {
    "pass": N_("PASS"),
    "fail": N_("FAIL"),
    "skip": N_("SKIP"),
    "error": N_("ERROR"),
    "timeout": N_("TIMEOUT"),
    "crash": N_("CRASH"),
}
STATUS_NAMES = {
    "pass": N_("pass"),
    "fail": N_("fail"),
    "skip": N_("skip"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "crash": N_("crash"),
}


def status_name(status: str) -> str:
    """A judge status ("fail") in the interface's language."""
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def _summary(verdict: Verdict) -> str:
    """The verdict's one line, in the interface's language: the first failing check (its title
    and its message in the interface's language), or how many passed."""
    bad = next((c for c in verdict.checks if c.status == "fail"), None)
    if bad is not None:
        first = check_message(bad.message.splitlines()[0]) if bad.message else _("failed")
        return f"{check_title(bad.name, verdict)}: {first}"
    if verdict.status == "pass":
        passed = sum(c.status == "pass" for c in verdict.checks)
        return ngettext("all {n} check passed", "all {n} checks passed", passed).format(n=passed)
    return check_message(verdict.summary)


def render_verdict(verdict: Verdict, card_title: Callable[[str], str | None] | None = None, due: Sequence[str] = ()) -> Text:
    """Readable text for the judge's verdict: status, time, seed, summary, each check, notes, output.
    A failed check's `teaches` cards are named under it ("review: ..."), by `card_title`; `due`:
    those the app made due now (said once, after the checks)."""
    status = verdict.status
    text = Text()
    text.append(_(_HEADING[status]) if status in _HEADING else status.upper(), style=_STATUS_STYLE.get(status, "bold"))
    text.append(f"  {verdict.elapsed_s:.2f} s", style="dim")
    text.append("  " + _("seed {seed}").format(seed=verdict.seed), style="dim")
    summary = _summary(verdict) if verdict.summary else ""
    if summary:
        text.append(f"\n{summary}")
    for check in verdict.checks:
        cstatus = check.status
        text.append(f"\n{_MARK.get(cstatus, '?')} ", style=_STATUS_STYLE.get(cstatus, ""))
        text.append(check_title(check.name, verdict), style="bold" if cstatus != "pass" else "")
        text.append(f"  {status_name(cstatus)}", style=_STATUS_STYLE.get(cstatus, ""))
        if check.message and cstatus != "pass":
            for line in check_message(check.message).splitlines():
                text.append(f"\n    {line}")
        if cstatus == "fail":
            for card_id in check.teaches:
                text.append(f"\n    → {review_line(card_id, card_title)}", style="bold cyan")
    if due:
        text.append(
            "\n"
            + ngettext(
                "{n} card it teaches is due now in your review queue",
                "{n} cards they teach are due now in your review queue",
                len(due),
            ).format(n=len(due)),
            style="cyan",
        )
    for note in verdict.notes:
        text.append(_("\nnote: {note}").format(note=note), style="italic")
    text.append(f"\n{isolation_text(verdict)}", style="dim" if verdict.isolation == "full" or not verdict.ran else "bold yellow")
    if verdict.stdout:
        text.append("\n" + _("output:"), style="dim")
        for line in verdict.stdout.splitlines()[:20]:
            text.append(f"\n  | {line}", style="dim")
    return text


class ResultsPanel(Static):
    """Empty until a check has run; then the verdict. Also shows 'running…', 'cancelled', and a
    check that could not run at all."""

    def show_verdict(
        self, verdict: Verdict, card_title: Callable[[str], str | None] | None = None, due: Sequence[str] = ()
    ) -> None:
        self.update(render_verdict(verdict, card_title, due))
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
