"""Data-Ready writes: storing an ERP aging export, running the checks and saving the run,
recording a Controller's override, and the guard that going live passes through."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.core.money import is_currency
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import org_today
from plixo.readiness.aging_file import AgingFileError, aging_file_parse
from plixo.readiness.checks import CheckResult, checks_compute
from plixo.readiness.models import (
    EARLIEST_AS_OF,
    AgingExport,
    ReadinessOverride,
    ReadinessRun,
)

OVERRIDE_ACTION = AuditEvent.Action.READINESS_OVERRIDE
REASON_MAX = 1000
FILE_NAME_MAX = 255


class ReadinessError(LedgerError):
    """A Data-Ready write refused; the message says why."""


def aging_export_upload(
    *,
    organization: Organization,
    data: bytes,
    file_name: str,
    as_of: dt.date,
    currency: str | None = None,
    actor: User | None = None,
) -> AgingExport:
    """Read an aging summary and store its bucket totals. Everything is checked before the
    one row is written: the date, the currency, then the file (`aging_file.aging_file_parse`)."""
    if not isinstance(as_of, dt.date):
        raise ReadinessError("Give the date the aging summary is as of.")
    if as_of < EARLIEST_AS_OF:
        raise ReadinessError("The as-of date must be in 2000 or later.")
    if as_of > org_today(organization):
        raise ReadinessError("The as-of date is in the future; give the date the ERP ran it for.")
    currency = (currency or organization.base_currency).strip().upper()
    if not is_currency(currency):
        raise ReadinessError(f"{currency[:10]!r} is not a currency code such as USD or EUR.")
    try:
        parsed = aging_file_parse(data)
    except AgingFileError as exc:
        raise ReadinessError(str(exc)) from exc
    for bucket, value in (*parsed.buckets.items(), ("total", parsed.total)):
        if abs(value) >= 10**15:
            raise ReadinessError(f"The {bucket} amount {value} is too large.")
    buckets = parsed.buckets
    return AgingExport.objects.create(
        organization=organization,
        as_of=as_of,
        currency=currency,
        file_name=(file_name or "aging.csv").strip()[:FILE_NAME_MAX],
        product=parsed.product,
        customers=parsed.customers,
        current=buckets["current"],
        days_1_30=buckets["1_30"],
        days_31_60=buckets["31_60"],
        days_61_90=buckets["61_90"],
        days_90_plus=buckets["90_plus"],
        total=parsed.total,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )


def readiness_run(*, organization: Organization, actor: User | None = None) -> ReadinessRun:
    """Run the three checks and save what they found. `actor` None is the command line."""
    export = (
        AgingExport.objects.filter(organization=organization)
        .order_by("-uploaded_at", "-id")
        .first()
    )
    results: list[CheckResult] = checks_compute(
        organization=organization, export=export, actor=actor
    )
    return ReadinessRun.objects.create(
        organization=organization,
        ran_at=timezone.now(),
        ran_by=actor,
        ran_by_label=str(actor) if actor is not None else "cli",
        results=[result.as_json() for result in results],
        passed=all(result.passed for result in results),
        aging_export=export,
    )


def _is_controller(organization: Organization, user: User | None) -> bool:
    if user is None:
        return False
    return Membership.objects.filter(
        organization=organization, user=user, role=Role.CONTROLLER, is_active=True
    ).exists()


def readiness_override(
    *, organization: Organization, actor: User, reason: str
) -> ReadinessOverride:
    """A Controller lets the organization go live although the last run failed. Recorded with
    its reason, in the audit trail too."""
    reason = (reason or "").strip()
    if not reason:
        raise ReadinessError("Say why the organization may go live although a check fails.")
    if len(reason) > REASON_MAX:
        raise ReadinessError(f"The reason is too long (at most {REASON_MAX} characters).")
    if not _is_controller(organization, actor):
        raise ReadinessError("Only a Controller may override the Data-Ready checks.")
    with transaction.atomic():
        run = (
            ReadinessRun.objects.select_for_update()
            .filter(organization=organization)
            .order_by("-ran_at", "-id")
            .first()
        )
        if run is None:
            raise ReadinessError(
                "Run the Data-Ready checks first; an override is for a failed run."
            )
        if run.passed:
            raise ReadinessError("The last run passed; there is nothing to override.")
        override = ReadinessOverride.objects.create(
            organization=organization, run=run, by=actor, reason=reason, at=timezone.now()
        )
        AuditEvent.objects.create(
            organization=organization,
            actor=actor,
            actor_label=str(actor),
            action=OVERRIDE_ACTION,
            before={"run": str(run.public_id), "failed": _failed_names(run)},
            after={"override": str(override.public_id)},
            reason=reason,
        )
    return override


def _failed_names(run: ReadinessRun) -> list[str]:
    return [
        result.get("title", result.get("name")) for result in run.results if not result["passed"]
    ]


def go_live_blocker(*, organization: Organization) -> str | None:
    """Why the organization may not leave test mode yet, or None: the last Data-Ready run must
    have passed, or a Controller must have overridden that run with a reason."""
    run = ReadinessRun.objects.filter(organization=organization).order_by("-ran_at", "-id").first()
    if run is None:
        return (
            "Run the Data-Ready checks (Data-Ready page) before going live; they must pass, or a "
            "Controller may override them with a reason."
        )
    if run.passed or ReadinessOverride.objects.filter(run=run).exists():
        return None
    failed = ", ".join(_failed_names(run))
    return (
        f"The last Data-Ready run failed ({failed}). Fix what the Data-Ready page says and run "
        "the checks again, or have a Controller override them there with a reason."
    )
