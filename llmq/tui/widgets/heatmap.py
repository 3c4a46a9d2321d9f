"""A GitHub-style calendar of reviews per day: one column per week (Monday at the top), one row
per weekday, every row starting at the same column."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from llmq.l10n import N_, _

if TYPE_CHECKING:
    from llmq.srs import DayReviews

_LEVELS = [("·", "grey37"), ("■", "green4"), ("■", "green3"), ("■", "green1"), ("■", "bold bright_green")]
_DAYS = [N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")]


def heatmap_text(per_day: list[DayReviews], weeks: int = 26) -> Text:
    """`per_day` is Stats.reviews_per_day (oldest first, the last entry is today). Whole weeks:
    the first column starts on a Monday, so each row is one weekday; days after today stay blank."""
    if not per_day:
        return Text(_("no reviews yet"))
    today = date.fromisoformat(per_day[-1].date)
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))  # a Monday
    counts = {d.date: d.reviews for d in per_day}
    shown = [counts.get((first + timedelta(days=i)).isoformat()) for i in range((today - first).days + 1)]
    top = max([c for c in shown if c], default=0)
    text = Text()
    for row in range(7):
        text.append(_(_DAYS[row]) + " ", style="dim")
        for col in range(weeks):
            i = col * 7 + row
            if i >= len(shown):
                text.append("  ")  # after today
                continue
            value = shown[i] or 0
            level = 0 if value == 0 else min(4, 1 + (value * 4 - 1) // max(top, 1))
            glyph, style = _LEVELS[level]
            text.append(glyph + " ", style=style)
        text.append("\n")
    total = sum(c or 0 for c in shown)
    text.append(
        _("{total} reviews in the last {weeks} weeks · busiest day {top}").format(total=total, weeks=weeks, top=top), style="dim"
    )
    return text


class Heatmap(Static):
    def show(self, per_day: list[DayReviews]) -> None:
        self.update(heatmap_text(per_day))
