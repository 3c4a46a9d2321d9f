"""The stats screen's readiness section, shown once `llmq plan --date` has saved a date: the date,
the expected recall on it overall and for the topics that matter most to the plan (keeping to the
schedule, and with the plan), and today's plan. The same Plan record and words as `llmq plan`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text

from llmq.l10n import _, ngettext
from llmq.srs.plan_report import headline, ordered_topics, pct, readiness, today_text, warning_text

if TYPE_CHECKING:
    from llmq.srs.plan import Plan

# A small section: the topics where the plan helps most, then those that stand lowest (the mastery
# table below and `llmq plan` list every topic).
TOPICS_SHOWN = 8


def readiness_view(plan: Plan, titles: dict[str, str]) -> Group:
    """The section's body; `titles`: topic id -> title in the interface's language."""
    table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False, header_style="bold")
    table.add_column(_("topic"), max_width=28)
    for head in (_("schedule"), _("with plan")):
        table.add_column(head, justify="right", no_wrap=True, min_width=cell_len(head))
    topics = ordered_topics(plan)
    for t in topics[:TOPICS_SHOWN]:
        table.add_row(
            Text(titles.get(t.topic, t.topic), no_wrap=True, overflow="ellipsis"), pct(t.expected_recall), pct(t.with_plan)
        )
    lines: list[Text | Table] = [Text(headline(plan), style="bold"), Text(readiness(plan)), table]
    if len(topics) > TOPICS_SHOWN:
        more = len(topics) - TOPICS_SHOWN
        lines.append(Text(ngettext("and {count} more topic", "and {count} more topics", more).format(count=more), style="dim"))
    lines.append(Text(today_text(plan)))
    lines += [Text(_("Warning: {text}").format(text=warning_text(w, plan)), style="yellow") for w in plan.warnings]
    lines.append(Text(_("`llmq plan` shows the whole plan; `llmq plan --date` changes the date."), style="dim"))
    return Group(*lines)
