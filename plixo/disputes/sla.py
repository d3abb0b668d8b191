"""An organization's dispute SLA as the rest of the app uses it: its settings (the defaults
until a Controller saves their own), its business calendar, the deadline of a new dispute and
how a deadline stands now ("5 h left", "due soon", "overdue by 2 h")."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from plixo.core.models import Organization
from plixo.disputes.business_hours import BusinessCalendar, NoBusinessHours, hours_text
from plixo.disputes.models import (
    DEFAULT_DUE_SOON_HOURS,
    DEFAULT_TARGET_HOURS,
    DisputeHoliday,
    DisputeSettings,
    default_business_hours,
)


def settings_for(organization: Organization) -> DisputeSettings:
    """The organization's saved settings, or unsaved defaults (nothing is written on read)."""
    found = DisputeSettings.objects.filter(organization=organization).first()
    if found is not None:
        found.organization = organization
        return found
    return DisputeSettings(
        organization=organization,
        default_target_hours=DEFAULT_TARGET_HOURS,
        reason_targets={},
        business_hours=default_business_hours(),
        time_zone="",
        due_soon_hours=DEFAULT_DUE_SOON_HOURS,
    )


def zone_of(settings: DisputeSettings) -> str:
    return settings.time_zone or settings.organization.time_zone or "UTC"


def calendar_for(
    organization: Organization, *, settings: DisputeSettings | None = None
) -> BusinessCalendar:
    settings = settings or settings_for(organization)
    holidays = DisputeHoliday.objects.filter(organization=organization).values_list(
        "day", flat=True
    )
    return BusinessCalendar.build(
        time_zone=zone_of(settings), hours=settings.window_times(), holidays=list(holidays)
    )


def sla_due_at(
    *,
    organization: Organization,
    reason_code: str,
    opened_at: dt.datetime,
    settings: DisputeSettings | None = None,
    calendar: BusinessCalendar | None = None,
) -> dt.datetime:
    """When a dispute of `reason_code` opened at `opened_at` must be answered: its target in
    business hours after it was opened."""
    settings = settings or settings_for(organization)
    calendar = calendar or calendar_for(organization, settings=settings)
    hours = settings.target_hours(reason_code)
    try:
        return calendar.add(opened_at, hours)
    except NoBusinessHours:
        # Settings always keep one working day (the form refuses a week off); holidays over
        # ten years are not a calendar. Clock hours then, rather than no deadline at all.
        return opened_at + dt.timedelta(hours=hours)


@dataclass(frozen=True)
class SlaState:
    """How a deadline stands at one instant, in business time."""

    due_at: dt.datetime | None
    left: dt.timedelta | None  # negative when overdue
    due_soon_hours: int

    @property
    def breached(self) -> bool:
        return self.left is not None and self.left < dt.timedelta(0)

    @property
    def due_soon(self) -> bool:
        return (
            self.left is not None
            and not self.breached
            and self.left <= dt.timedelta(hours=self.due_soon_hours)
        )

    @property
    def badge(self) -> str:
        if self.breached:
            return "error"
        if self.due_soon:
            return "warning"
        return "ok"

    @property
    def text(self) -> str:
        if self.left is None:
            return "No SLA"
        if self.breached:
            return f"Overdue by {hours_text(self.left)}"
        return f"{hours_text(self.left)} left"


class SlaClock:
    """Measures deadlines of one organization against one instant; built once per page."""

    def __init__(self, organization: Organization, *, now: dt.datetime | None = None):
        self.settings = settings_for(organization)
        self.calendar = calendar_for(organization, settings=self.settings)
        self.now = now or timezone.now()

    def state(self, due_at: dt.datetime | None, *, until: dt.datetime | None = None) -> SlaState:
        """The deadline measured at `until` (a resolution time) or now."""
        if due_at is None:
            return SlaState(None, None, self.settings.due_soon_hours)
        left = self.calendar.between(until or self.now, due_at)
        return SlaState(due_at, left, self.settings.due_soon_hours)

    def due_soon_before(self) -> dt.datetime:
        """Deadlines before this instant are due within the due-soon hours (or past)."""
        try:
            return self.calendar.add(self.now, self.settings.due_soon_hours)
        except NoBusinessHours:
            return self.now + dt.timedelta(hours=self.settings.due_soon_hours)
