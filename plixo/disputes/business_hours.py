"""Business-hours arithmetic for dispute SLAs: "24 business hours after it was opened" in the
organization's time zone, its working hours per weekday and its holidays.

A day's window is local wall-clock time (09:00–17:00). A window whose end is at or before its
start runs overnight into the next day (22:00–06:00); 00:00–00:00 is the whole day. A window
belongs to the day it starts on: a holiday removes the window that starts that day, and an
overnight window that starts the evening before a holiday still counts.

Every instant is computed in UTC from the local window's two ends, so a window that spans a
daylight-saving change counts the hours that really pass (a 22:00–06:00 night is 7 hours long
when the clocks go forward, 9 when they go back). A local time that does not exist (02:30 on
the spring-forward night) is read with the offset in force before the change, as `zoneinfo`
does; one that happens twice, at its first occurrence.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

# How far the arithmetic looks before it gives up: far beyond any SLA target (which is bounded
# in hours), so only a calendar without any working hour left reaches it.
MAX_DAYS = 3700
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class NoBusinessHours(ValueError):
    """The calendar has no working hour in the span the arithmetic may look through."""


@dataclass(frozen=True)
class Window:
    start: dt.time
    end: dt.time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: ZoneInfo
    # weekday (0 = Monday) → its window; a weekday missing or None is a day off.
    hours: Mapping[int, Window | None]
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        *,
        time_zone: str | ZoneInfo,
        hours: Mapping[int, Window | tuple[dt.time, dt.time] | None],
        holidays: Iterable[dt.date] = (),
    ) -> "BusinessCalendar":
        zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
        windows = {}
        for day, window in hours.items():
            if window is not None and not isinstance(window, Window):
                window = Window(*window)
            windows[int(day)] = window
        return cls(time_zone=zone, hours=windows, holidays=frozenset(holidays))

    @property
    def has_hours(self) -> bool:
        return any(window is not None for window in self.hours.values())

    def window_on(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working interval that starts on local `day`, in UTC, or None on a day off."""
        if day in self.holidays:
            return None
        window = self.hours.get(day.weekday())
        if window is None:
            return None
        end_day = day + dt.timedelta(days=1) if window.overnight else day
        start = dt.datetime.combine(day, window.start, tzinfo=self.time_zone).astimezone(dt.UTC)
        end = dt.datetime.combine(end_day, window.end, tzinfo=self.time_zone).astimezone(dt.UTC)
        if end <= start:  # a window swallowed by a clock change
            return None
        return start, end

    def _local_day(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.time_zone).date()

    def add(self, start: dt.datetime, hours: float | int | Decimal) -> dt.datetime:
        """The instant `hours` business hours after `start` (an aware datetime), in UTC."""
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        remaining = dt.timedelta(hours=float(hours))
        start = start.astimezone(dt.UTC)
        if remaining <= dt.timedelta(0):
            return start
        if not self.has_hours:
            raise NoBusinessHours("No working hours are set for any weekday.")
        # The day before: its overnight window may still be running at `start`.
        day = self._local_day(start) - dt.timedelta(days=1)
        for _ in range(MAX_DAYS):
            interval = self.window_on(day)
            day += dt.timedelta(days=1)
            if interval is None:
                continue
            begin, end = max(interval[0], start), interval[1]
            if end <= begin:
                continue
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
        raise NoBusinessHours(f"No working hours within {MAX_DAYS} days of {start:%Y-%m-%d}.")

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Business time from `start` to `end`; negative when `end` is before `start`."""
        if end < start:
            return -self.between(end, start)
        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        total = dt.timedelta(0)
        day = self._local_day(start) - dt.timedelta(days=1)
        last = self._local_day(end)
        for _ in range(MAX_DAYS):
            if day > last:
                break
            interval = self.window_on(day)
            day += dt.timedelta(days=1)
            if interval is None:
                continue
            begin, finish = max(interval[0], start), min(interval[1], end)
            if finish > begin:
                total += finish - begin
        return total

    def is_open_at(self, moment: dt.datetime) -> bool:
        day = self._local_day(moment) - dt.timedelta(days=1)
        for offset in range(2):
            interval = self.window_on(day + dt.timedelta(days=offset))
            if interval and interval[0] <= moment < interval[1]:
                return True
        return False


def hours_text(delta: dt.timedelta) -> str:
    """A span of business time as people say it: "3 h 20 min", "45 min", "0 min"."""
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours:,} h {minutes} min"
    if hours:
        return f"{hours:,} h"
    return f"{minutes} min"
