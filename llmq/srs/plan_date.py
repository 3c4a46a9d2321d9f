"""The interview date and daily minutes that `llmq plan --date` saves (in progress.db's settings,
under LLMQ_HOME), so that the stats screen shows the same readiness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from llmq.store import Store

DATE_KEY = "plan_date"
MINUTES_KEY = "plan_minutes_per_day"
DEFAULT_MINUTES = 30.0


@dataclass(frozen=True)
class SavedPlan:
    date: date
    minutes_per_day: float


def parse_date(text: str) -> date:
    """YYYY-MM-DD (and nothing else: 2027-1-5 or 2027-01-05T10:00 raise ValueError)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(text)
    return date.fromisoformat(text)


def saved_plan(store: Store) -> SavedPlan | None:
    """The saved date and minutes, or None when no date was saved (or what is saved is not a
    date: the stats screen then shows no readiness, and `llmq plan --date` saves a good one)."""
    values = store.settings()
    try:
        day = parse_date(str(values.get(DATE_KEY, "")))
        minutes = float(values.get(MINUTES_KEY, DEFAULT_MINUTES))
    except (ValueError, TypeError):
        return None
    return SavedPlan(day, minutes if minutes > 0 else DEFAULT_MINUTES)


def save_plan(store: Store, day: date, minutes_per_day: float) -> None:
    store.set_settings({DATE_KEY: day.isoformat(), MINUTES_KEY: minutes_per_day})
