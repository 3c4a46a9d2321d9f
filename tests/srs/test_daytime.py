"""The study day starts at 4 AM local time, as in Anki, across daylight-saving changes too."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from llmq.srs import DayClock

NY = ZoneInfo("America/New_York")


def ms(*args: int, tz: ZoneInfo = NY) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp() * 1000)


def test_before_4am_is_still_yesterday() -> None:
    clock = DayClock(4, NY)
    assert clock.day_of(ms(2026, 5, 2, 3, 59)) == date(2026, 5, 1)
    assert clock.day_of(ms(2026, 5, 2, 4, 0)) == date(2026, 5, 2)
    assert clock.day_of(ms(2026, 5, 2, 23, 59)) == date(2026, 5, 2)


def test_tomorrow_starts_at_the_next_4am() -> None:
    clock = DayClock(4, NY)
    assert clock.next_day_start_ms(ms(2026, 5, 2, 1, 0)) == ms(2026, 5, 2, 4)
    assert clock.next_day_start_ms(ms(2026, 5, 2, 13, 0)) == ms(2026, 5, 3, 4)
    assert clock.today_start_ms(ms(2026, 5, 2, 13, 0)) == ms(2026, 5, 2, 4)


def test_daylight_saving_days_still_start_at_4am_local() -> None:
    clock = DayClock(4, NY)
    # Clocks go forward at 2 AM on 8 March 2026: the study day of 7 March is 23 hours long
    start, end = clock.start_ms(date(2026, 3, 7)), clock.start_ms(date(2026, 3, 8))
    assert end - start == 23 * 3_600_000
    assert clock.day_of(end - 1) == date(2026, 3, 7)
    assert datetime.fromtimestamp(end / 1000, NY).hour == 4


def test_the_rollover_hour_is_a_setting() -> None:
    assert DayClock(0, NY).day_of(ms(2026, 5, 2, 1, 0)) == date(2026, 5, 2)
