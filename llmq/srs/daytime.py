"""Study days: like Anki, a day starts at a set hour (4 AM) local time, so late-night reviews count
for the day before and reviews are due by day, not by the minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

DAY_S = 86_400
DAY_MS = DAY_S * 1000


@dataclass(frozen=True)
class DayClock:
    """Maps epoch milliseconds to study days. `tz=None` means the machine's local time zone."""

    rollover_hour: int = 4
    tz: tzinfo | None = None

    def _local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, self.tz)

    def day_of(self, ms: int) -> date:
        """The study day an instant belongs to (before 4 AM counts as the previous day)."""
        return (self._local(ms) - timedelta(hours=self.rollover_hour)).date()

    def start_ms(self, day: date) -> int:
        """When study day `day` begins, in epoch ms (its rollover hour, local time)."""
        start = datetime(day.year, day.month, day.day, self.rollover_hour, tzinfo=self.tz)
        return int(start.timestamp() * 1000)

    def today_start_ms(self, now_ms: int) -> int:
        return self.start_ms(self.day_of(now_ms))

    def next_day_start_ms(self, now_ms: int) -> int:
        """The start of tomorrow: when buried cards come back and today's limits reset."""
        return self.start_ms(self.day_of(now_ms) + timedelta(days=1))
