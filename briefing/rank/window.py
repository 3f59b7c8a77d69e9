"""Which hours an edition covers (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from briefing.config.settings import WEEKDAYS


def previous_edition_day(day: date, edition_days: tuple[str, ...]) -> date:
    candidate = day - timedelta(days=1)
    while WEEKDAYS[candidate.weekday()] not in edition_days:
        candidate -= timedelta(days=1)
    return candidate


def edition_window(
    day: date, cutoff: time, tz: ZoneInfo, edition_days: tuple[str, ...]
) -> tuple[datetime, datetime]:
    """From the previous edition's cut-off to this one's, in UTC (Monday's covers the weekend)."""
    start_day = previous_edition_day(day, edition_days)
    start = datetime.combine(start_day, cutoff, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, cutoff, tzinfo=tz).astimezone(UTC)
    return start, end
