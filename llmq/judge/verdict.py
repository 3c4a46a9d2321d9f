"""What the judge says about one submission: the verdict record, its JSON form and its text report.

Pure Python on purpose: the command line and the app read verdicts without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from llmq.judge.messages import translate
from llmq.l10n import N_, _, current_language

Status = Literal["pass", "fail", "error", "timeout", "crash"]
CheckStatus = Literal["pass", "fail", "skip"]
Isolation = Literal["full", "limits-only"]

# How bad an outcome is: the verdict takes the worst status any check produced.
_SEVERITY = {"pass": 0, "fail": 1, "error": 2, "timeout": 3, "crash": 4}

OUTPUT_CAP = 64 * 1024
OUTPUT_CUT_NOTE = "[output cut at 64 KiB]"


@dataclass
class CheckResult:
    """One line of the report: a check, how it went, and why."""

    name: str
    status: CheckStatus
    message: str = ""
    # What hypothesis drew for the failing example (`drawn (shrunk example): ...`): in --json and
    # the --verbose text report; the plain report shows the input the submission was called with.
    detail: str = ""
    # A failed check's `teaches=`: ids of the bank's cards that teach what it tests (the app makes
    # them due now, the report names them). Empty for a passing or skipped check.
    teaches: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """The judge's answer for one submission (CONTRACTS.md, `check --json`)."""

    exercise: str
    status: Status
    checks: list[CheckResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    seed: int = 0
    stdout: str = ""  # what the submission printed (stdout and stderr), capped at 64 KiB
    summary: str = ""  # one line saying what happened, for lists and status bars
    cpu_s: float = 0.0  # CPU time of the harness and sandbox processes (set by the worker)
    notes: list[str] = field(default_factory=list)  # what passing checks want read (GPU track: speed-up, device)
    # How the sandbox held the submission: "full" (namespaces, seccomp) or "limits-only" (this
    # system cannot isolate: resource limits only). A verdict that never ran a sandbox says the
    # least, "limits-only", so that it never claims more than held.
    isolation: Isolation = "limits-only"
    # False: refused before the solution ran at all (a syntax error, a forbidden call, no such
    # function), so no sandbox held anything; the report says that instead of the isolation.
    ran: bool = True
    # The answer module's check titles in other languages: {"zh": {English title: Chinese title}}.
    # `checks[].name` stays English (CONTRACTS.md); the report and the app show these.
    titles: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def taught(self) -> list[str]:
        """The cards the failed checks teach, once each, in the order of the checks."""
        return list(dict.fromkeys(i for c in self.checks if c.status == "fail" for i in c.teaches))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Verdict:
        checks = [CheckResult(**c) for c in raw.get("checks", [])]
        fields = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__ and k != "checks"}
        return cls(checks=checks, **fields)


# The two checks the judge runs before an answer module's own, in this order (harness.py; the
# command line answers broken files with the same titles without starting the judge).
# Verdicts keep them in English (JSON is never translated); render_text shows them translated.
NO_FORBIDDEN = N_("uses no forbidden call")
LOADS = N_("solution loads and defines `{function}`")
JUDGE_CHECK = N_("judge")  # the one check of a verdict the judge could not run
ANSWER_LOADS = N_("answer module loads")  # harness.py: the answer module itself did not load
_LOADS_PREFIX, _LOADS_SUFFIX = LOADS.split("{function}")


def missing_function(filename: str, function: str, defined: list[str]) -> str:
    """The message for a solution file that defines no function of the exercise's name."""
    return f"{filename} defines no function named `{function}` (it defines: {', '.join(defined) or 'no functions'})"


def finish(verdict: Verdict, elapsed_s: float) -> Verdict:
    """Set the verdict's time, notes (from passing checks) and one-line summary (the first
    failing check); a "pass" with a failing check becomes "fail"."""
    verdict.elapsed_s = round(elapsed_s, 4)
    bad = next((c for c in verdict.checks if c.status == "fail"), None)
    passed = sum(c.status == "pass" for c in verdict.checks)
    verdict.notes = [line for c in verdict.checks if c.status == "pass" and c.message for line in c.message.splitlines()]
    verdict.summary = (
        f"{bad.name}: {bad.message.splitlines()[0] if bad.message else 'failed'}" if bad else f"all {passed} checks passed"
    )
    if verdict.status == "pass" and bad:
        verdict.status = "fail"
    return verdict


def worst(a: str, b: str) -> str:
    """The more serious of two statuses (crash > timeout > error > fail > pass)."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def judge_failure(exercise: str, status: Status, message: str, seed: int = 0, isolation: Isolation = "limits-only") -> Verdict:
    """A verdict for when the judge could not run the checks at all (worker died, cancelled)."""
    return Verdict(
        exercise=exercise,
        status=status,
        checks=[CheckResult(JUDGE_CHECK, "fail", message)],
        seed=seed,
        summary=message.splitlines()[0] if message else status,
        isolation=isolation,
    )


# PASS and FAIL are kept as they are in every language (statuses, as in the header and the JSON).
_MARKS = {"pass": "PASS", "fail": "FAIL", "skip": N_("skip")}

ISOLATION_TEXT = {
    "full": N_("sandbox: full isolation (namespaces, seccomp)"),
    "limits-only": N_("sandbox: limits only — this system cannot isolate; the submission could read your files"),
}
NOT_RUN_TEXT = N_("sandbox: not used — the solution was refused before it ran")


def isolation_text(verdict: Verdict) -> str:
    """One line saying how the submission was isolated (the report and the app say it once), in
    the interface's language."""
    if not verdict.ran:
        return _(NOT_RUN_TEXT)
    return _(ISOLATION_TEXT.get(verdict.isolation, ISOLATION_TEXT["limits-only"]))


def check_title(name: str, verdict: Verdict | None = None) -> str:
    """A check's name as the report shows it, in the interface's language: the judge's own checks
    from the catalogue (the loading check names the function, which stays), an answer module's
    from the titles its verdict carries (English where the module gave none)."""
    if name.startswith(_LOADS_PREFIX) and name.endswith(_LOADS_SUFFIX) and len(name) > len(LOADS) - len("{function}"):
        return _(LOADS).format(function=name[len(_LOADS_PREFIX) : len(name) - len(_LOADS_SUFFIX)])
    if name in (NO_FORBIDDEN, JUDGE_CHECK, ANSWER_LOADS):
        return _(name)
    if verdict is not None and current_language() in ("zh", "both"):
        return verdict.titles.get("zh", {}).get(name) or name
    return name


def check_message(message: str) -> str:
    """A check's message (the judge's English) in the interface's language."""
    return translate(message)


def review_line(card_id: str, card_title: Callable[[str], str | None] | None = None) -> str:
    """The line "review: <the card's title>" for a card a failed check teaches; its id where the title is
    not known (`card_title` gives the title in the interface's language, or None)."""
    title = card_title(card_id) if card_title is not None else None
    return _("review: {card}").format(card=f"{title} ({card_id})" if title else card_id)


def render_text(verdict: Verdict, verbose: bool = False, card_title: Callable[[str], str | None] | None = None) -> str:
    """The readable report of `llmq check` without --json: each check, its status, its message
    (the input, the errors, the first differing index), and at the end, once, the seed that
    reproduces the run. `verbose` adds what hypothesis drew for each failing example. A failed
    check's `teaches` cards are named under it ("review: ..."), by `card_title` where given."""
    timing = _("({elapsed} s, seed {seed})").format(elapsed=f"{verdict.elapsed_s:.2f}", seed=verdict.seed)
    lines = [f"{verdict.exercise}: {verdict.status.upper()}  {timing}"]
    for check in verdict.checks:
        mark = _(_MARKS["skip"]) if check.status == "skip" else _MARKS[check.status]
        lines.append(f"  [{mark}] {check_title(check.name, verdict)}")
        if check.message and check.status != "pass":
            lines.extend("        " + line for line in check_message(check.message).splitlines())
            if verbose and check.detail:
                lines.extend("        " + line for line in check_message(check.detail).splitlines())
            if check.status == "fail":
                lines.extend("        " + review_line(card_id, card_title) for card_id in check.teaches)
        elif check.message:  # a passing check's notes
            lines.extend("        " + _("note: {line}").format(line=line) for line in check_message(check.message).splitlines())
    if verdict.stdout:
        lines.append("  " + _("output of the solution:"))
        lines.extend("    | " + line for line in verdict.stdout.splitlines()[:40])
        if verdict.stdout.count("\n") > 40:
            lines.append("    | " + _("... (see --json for the rest)"))
    if verdict.status != "pass":
        command = f"llmq check {verdict.exercise} FILE --seed {verdict.seed}"
        lines.append("  " + _("seed {seed}: `{command}` reproduces this run").format(seed=verdict.seed, command=command))
    lines.append(f"  {isolation_text(verdict)}")
    return "\n".join(lines)
