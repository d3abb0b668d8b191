"""Send windows: when an email may reach a payer.

Evaluated in the payer's time zone (the contact's, else the customer's, else the
organization's): inside the quiet-hours window of the organization (its `quiet_hours_start`
to `quiet_hours_end`, local wall-clock times), on a weekday unless weekends are allowed, and not
on a public holiday of the payer's country (`holidays`) when holidays are skipped.

All arithmetic is on local dates and wall-clock times turned into aware datetimes with
`zoneinfo`, so a window holds across DST changes: 08:00 in New York is 13:00 UTC in winter and
12:00 UTC in summer. A window start that does not exist on a spring-forward day (02:30 in a
zone that jumps from 02:00 to 03:00) opens at the first valid instant after it.
"""

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UTC = dt.UTC
# Looking further than this for an open window means the settings leave none (e.g. weekends
# off and every weekday a holiday); the caller reports it instead of looping.
SEARCH_DAYS = 21


@dataclass(frozen=True)
class SendWindow:
    start: dt.time
    end: dt.time
    time_zone: str
    country: str = ""
    send_on_weekends: bool = False
    skip_holidays: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class WindowCheck:
    open_now: bool
    opens_at: dt.datetime | None  # aware, UTC; equals `now` when open
    reason: str  # why it is closed now ("" when open)


@lru_cache(maxsize=256)
def _country_holidays(country: str, year: int):
    try:
        return holidays.country_holidays(country, years=year)
    except (NotImplementedError, KeyError):
        return {}


def holiday_name(country: str, day: dt.date) -> str:
    if not country:
        return ""
    calendar = _country_holidays(country.upper(), day.year)
    name = calendar.get(day) if calendar else None
    return str(name) if name else ""


def _local(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The instant `at` on `day` in `zone`; a wall time skipped by DST maps to the instant
    after the jump (round trip through UTC normalises it)."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    as_utc = aware.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive:
        # Non-existent wall time: fold=0 gave the offset before the jump; the instant it
        # denotes is already after the jump, which is the earliest valid moment.
        return as_utc
    return as_utc


def _day_closed_reason(window: SendWindow, day: dt.date) -> str:
    if not window.send_on_weekends and day.weekday() >= 5:
        return "weekend"
    if window.skip_holidays:
        name = holiday_name(window.country, day)
        if name:
            return f"public holiday ({name}, {window.country.upper()})"
    return ""


def window_check(window: SendWindow, now: dt.datetime) -> WindowCheck:
    """Is the window open at `now`, and if not, when does it open next and why is it shut?"""
    zone = window.zone
    local_now = now.astimezone(zone)
    today = local_now.date()
    overnight = window.end <= window.start  # e.g. 20:00–06:00
    first_reason = ""
    for offset in range(-1 if overnight else 0, SEARCH_DAYS):
        day = today + dt.timedelta(days=offset)
        opens = _local(day, window.start, zone)
        closes = _local(day + dt.timedelta(days=1 if overnight else 0), window.end, zone)
        closed_because = _day_closed_reason(window, day)
        if closed_because:
            if day == today and not first_reason:
                first_reason = closed_because
            continue
        if closes <= now:
            continue
        if opens <= now:
            return WindowCheck(True, now.astimezone(UTC), "")
        reason = first_reason or (
            f"quiet hours: sends {window.start:%H:%M}–{window.end:%H:%M} {window.time_zone}"
        )
        return WindowCheck(False, opens, reason)
    return WindowCheck(False, None, first_reason or "no send window in the next three weeks")


def next_day_opening(window: SendWindow, now: dt.datetime) -> dt.datetime | None:
    """The first window opening on a later local day than `now`'s (used when today's cap is
    spent)."""
    zone = window.zone
    tomorrow = now.astimezone(zone).date() + dt.timedelta(days=1)
    start_of_tomorrow = _local(tomorrow, dt.time(0, 0), zone)
    check = window_check(window, start_of_tomorrow)
    return check.opens_at if not check.open_now else start_of_tomorrow
