"""A GitHub-style calendar of reviews per day: one column per week, one row per weekday."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from llmq.srs import DayReviews

_LEVELS = [("·", "grey37"), ("■", "green4"), ("■", "green3"), ("■", "green1"), ("■", "bold bright_green")]
_DAYS = ["Mon", "   ", "Wed", "   ", "Fri", "   ", "Sun"]


def heatmap_text(per_day: list[DayReviews], weeks: int = 26) -> Text:
    """`per_day` is Stats.reviews_per_day (oldest first)."""
    days = per_day[-weeks * 7 :]
    if not days:
        return Text("no reviews yet")
    first = date.fromisoformat(days[0].date)
    pad = first.weekday()  # start the first column on a Monday
    cells: list[int | None] = [None] * pad + [d.reviews for d in days]
    top = max([c for c in cells if c], default=0)
    columns = [cells[i : i + 7] for i in range(0, len(cells), 7)]
    text = Text()
    for row in range(7):
        text.append(_DAYS[row] + " ", style="dim")
        for col in columns:
            value = col[row] if row < len(col) else None
            if value is None:
                text.append("  ")
                continue
            level = 0 if value == 0 else min(4, 1 + (value * 4 - 1) // max(top, 1))
            glyph, style = _LEVELS[level]
            text.append(glyph + " ", style=style)
        text.append("\n")
    total = sum(d.reviews for d in days)
    text.append(f"{total} reviews in the last {weeks} weeks · busiest day {top}", style="dim")
    return text


class Heatmap(Static):
    def show(self, per_day: list[DayReviews]) -> None:
        self.update(heatmap_text(per_day))
