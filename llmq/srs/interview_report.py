"""A mock interview round's report as text, in the interface's language: the app's report screen
and `llmq interview --history` print it.

Honest by construction: times are cut to the second below (29:59.9 is 29:59, never 30:00), a
round is "passed" only when a run's verdict was a pass, a follow-up counts as recalled only when
it was rated Hard or better, and shares are written as counts ("2 of 3"), never rounded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime

from llmq.l10n import N_, _, ngettext
from llmq.srs.interview_rating import recalled
from llmq.srs.scheduler import Rating
from llmq.store import InterviewRound

RATING_NAMES = {1: N_("Again"), 2: N_("Hard"), 3: N_("Good"), 4: N_("Easy")}
STATUS_NAMES = {"running": N_("running"), "finished": N_("finished"), "abandoned": N_("abandoned")}
# A run the judge ended before any check failed is recorded by the verdict's status in place of a check.
RUN_STATUS_NAMES = {"error": N_("the run ended in an error"), "timeout": N_("the run timed out"), "crash": N_("the run crashed")}

# What a line may break around: a run of spaces, one CJK character (Chinese breaks between any
# two), or a run of anything else (a word, a number, an id).
_TOKENS = re.compile(
    r"\s+|[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+"
)


def clock_text(ms: int) -> str:
    """Minutes and seconds, cut (not rounded) to the second: 1799.9 s is 29:59."""
    minutes, seconds = divmod(max(0, ms) // 1000, 60)
    return f"{minutes:02d}:{seconds:02d}"


# Chinese punctuation that never starts a line: the character before it starts the line instead.
_NO_LINE_START = frozenset("，。、；：）」』！？")


def cells(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def hanging(lead: str, text: str, width: int | None) -> list[str]:
    """`lead` (e.g. "  • ") then `text`, wrapped to `width` columns with every further line
    indented to where the text starts (a hanging indent); one line when `width` is None."""
    if width is None:
        return [lead + text]
    indent = " " * cells(lead)
    room = max(10, width - cells(lead))
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        if token.isspace():
            line += " " if line else ""
            continue
        while cells(token) > room:  # longer than a whole line (a long id): cut it
            cut = len(token)
            while cells(token[:cut]) > room - cells(line):
                cut -= 1
            if cut == 0:
                lines.append(line.rstrip())
                line = ""
                continue
            lines.append(line + token[:cut])
            line, token = "", token[cut:]
        if line.strip() and cells(line + token) > room:
            if token in _NO_LINE_START and len(line.strip()) > 1:  # the character before goes down with it
                line, token = line[:-1], line[-1] + token
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    lines.append(line.rstrip())
    return [(lead if i == 0 else indent) + text_line for i, text_line in enumerate(lines)]


def rating_name(rating: int | None) -> str:
    return _(RATING_NAMES[rating]) if rating in RATING_NAMES else _("not answered")


def result_line(r: InterviewRound) -> str:
    """How the coding went, in one line."""
    limit = clock_text(r.limit_s * 1000)
    if r.outcome == "passed" and r.first_pass_ms is not None:
        return _("passed: the first passing run was started at {time} of {limit}").format(
            time=clock_text(r.first_pass_ms), limit=limit
        )
    if r.outcome == "timed_out":
        return _("not passed: the time ran out ({limit}) before a run passed").format(limit=limit)
    if r.outcome == "gave_up":
        return _("not passed: given up at {time} of {limit}").format(time=clock_text(r.coding_ms or 0), limit=limit)
    if r.status == "abandoned":
        return _("abandoned before the coding ended, at {time} of {limit}: not passed").format(
            time=clock_text((r.ended_ms or r.heartbeat_ms) - r.started_ms), limit=limit
        )
    return _("still running")


def rule_reason(r: InterviewRound) -> str:
    """Why the exercise's card got its rating (the rule of llmq.srs.interview_rating)."""
    if not r.passed:
        return _("no pass within the time")
    if r.failed_runs:
        return ngettext("passed after {n} failed run", "passed after {n} failed runs", r.failed_runs).format(n=r.failed_runs)
    if r.first_pass_ms is not None and r.first_pass_ms <= r.limit_s * 500:
        return _("passed at the first run, within the first half of the time")
    return _("passed at the first run, after the first half of the time")


def review_next(r: InterviewRound, title_of: Callable[[str], str]) -> list[str]:
    """What to study after this round, most urgent first: the exercise when it did not pass or
    passed hard, the cards its failed checks teach (made due now), then the follow-ups rated
    Again, then those rated Hard."""
    out: list[str] = []
    if r.exercise_rating in (None, Rating.Again) or not r.passed:
        out.append(
            _("{title} ({id}): write it again in practice (c on the home screen), then read the reference").format(
                title=title_of(r.exercise), id=r.exercise
            )
        )
    elif r.exercise_rating == Rating.Hard:
        out.append(_("{title} ({id}): write it once more in practice").format(title=title_of(r.exercise), id=r.exercise))
    answered = {f.qid for f in r.followups if f.rating is not None}
    for qid in r.taught:
        if qid in answered:  # asked as a follow-up after the failed run: its rating stands (below if low)
            continue
        out.append(
            _("{title} ({id}): a failed check teaches it; due now in your review queue").format(title=title_of(qid), id=qid)
        )
    for wanted in (Rating.Again, Rating.Hard):
        for f in r.followups:
            if f.rating == wanted:
                out.append(
                    _("{title} ({id}): rated {rating}, back in your review queue").format(
                        title=title_of(f.qid), id=f.qid, rating=rating_name(f.rating)
                    )
                )
    unasked = [f for f in r.followups if f.rating is None]
    for f in unasked:
        out.append(_("{title} ({id}): not asked in this round").format(title=title_of(f.qid), id=f.qid))
    return out


def check_name(name: str, check_titles: Mapping[str, str]) -> str:
    """A check that failed first, as the report names it (its title in the interface's language)."""
    shown = check_titles.get(name, name)
    return _(RUN_STATUS_NAMES[name]) if name in RUN_STATUS_NAMES and shown == name else shown


def report_text(
    r: InterviewRound,
    title_of: Callable[[str], str],
    check_titles: Mapping[str, str] | None = None,
    width: int | None = None,
) -> str:
    """The whole report. `title_of` names a question in the card language; `check_titles` names
    the checks in the interface's language (llmq.judge.check_titles); `width`: lines are wrapped
    to it, a list's items with a hanging indent (None: not wrapped)."""
    return "\n".join(_report_lines(r, title_of, check_titles or {}, width))


def _report_lines(r: InterviewRound, title_of: Callable[[str], str], titles: Mapping[str, str], width: int | None) -> list[str]:
    lines: list[str] = []

    def say(text: str, lead: str = "") -> None:
        lines.extend(hanging(lead, text, width))

    say(_("Mock interview: {title} ({id})").format(title=title_of(r.exercise), id=r.exercise))
    say(
        _("Started {start:%Y-%m-%d %H:%M} · time limit {limit} · {status}").format(
            start=datetime.fromtimestamp(r.started_ms / 1000),
            limit=clock_text(r.limit_s * 1000),
            status=_(STATUS_NAMES[r.status]),
        )
    )
    lines.append("")
    say(_("Result: {result}").format(result=result_line(r)))
    if r.first_pass_ms is not None:
        say(_("Time to the first pass: {time}").format(time=clock_text(r.first_pass_ms)))
    else:
        say(_("Time to the first pass: none (no run passed)"))
    runs = ngettext("Check runs: {runs}, {failed} failed", "Check runs: {runs}, {failed} failed", r.runs).format(
        runs=r.runs, failed=r.failed_runs
    )
    if r.unjudged_runs:
        runs += ngettext(
            " ({n} could not be run by the judge: not counted as failed)",
            " ({n} could not be run by the judge: not counted as failed)",
            r.unjudged_runs,
        ).format(n=r.unjudged_runs)
    say(runs)
    if r.first_failed:
        say(_("Checks that failed first:"))
        for name in r.first_failed:
            say(check_name(name, titles), "  ✗ ")
    elif r.runs:
        say(_("Checks that failed first: none (no run failed)"))
    if r.exercise_rating is not None:
        say(_("Exercise card rated {rating}: {why}").format(rating=rating_name(r.exercise_rating), why=rule_reason(r)))
    else:
        say(_("Exercise card: not rated (the round ended before the coding did)"))
    if r.followups:
        answered = [f for f in r.followups if f.rating is not None]
        kept = sum(recalled(f.rating) for f in answered)
        lines.append("")
        say(_("Follow-up questions: {recalled} of {asked} recalled").format(recalled=kept, asked=len(answered)))
        for f in r.followups:
            mark = "✓" if recalled(f.rating) else ("✗" if f.rating is not None else "·")
            say(
                _("{rating}  {title} ({id})").format(rating=rating_name(f.rating), title=title_of(f.qid), id=f.qid),
                f"  {mark} ",
            )
    todo = review_next(r, title_of)
    lines.append("")
    say(_("Review next:"))
    for line in todo:
        say(line, "  • ")
    if not todo:
        say(_("nothing from this round: every answer was recalled"), "  ")
    return lines


def history_line(r: InterviewRound, check_titles: Mapping[str, str] | None = None) -> str:
    """One past round in a line (`llmq interview --history`), and under it the checks that failed
    first, one a line, named as `check_titles` says (the interface's language), when a run failed."""
    start = datetime.fromtimestamp(r.started_ms / 1000)
    if r.passed and r.first_pass_ms is not None:
        result = _("passed at {time}").format(time=clock_text(r.first_pass_ms))
    elif r.outcome == "timed_out":
        result = _("time ran out")
    elif r.outcome == "gave_up":
        result = _("gave up")
    else:
        result = _(STATUS_NAMES[r.status])
    answered = [f for f in r.followups if f.rating is not None]
    parts = [
        f"#{r.id}",
        f"{start:%Y-%m-%d %H:%M}",
        r.exercise,
        _("limit {limit}").format(limit=clock_text(r.limit_s * 1000)),
        result,
        _("runs {runs} ({failed} failed)").format(runs=r.runs, failed=r.failed_runs),
        _("follow-ups {recalled}/{asked}").format(recalled=sum(recalled(f.rating) for f in answered), asked=len(answered)),
    ]
    if r.status == "abandoned" and r.outcome is not None:
        parts.append(_(STATUS_NAMES[r.status]))
    lines = ["  ".join(parts)]
    if r.first_failed:
        lines.append("    " + _("Checks that failed first:"))
        lines += [f"      ✗ {check_name(name, check_titles or {})}" for name in r.first_failed]
    return "\n".join(lines)
