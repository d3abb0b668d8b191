"""Cadences and segment rules: what the A/R Manager edits. Every template is checked for merge
fields when it is saved; an unknown field is an error naming it, and nothing is written."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from plixo.comms.merge import MergeFieldError, template_check
from plixo.comms.models import (
    BODY_MAX,
    STEP_OFFSET_MAX,
    STEP_OFFSET_MIN,
    SUBJECT_MAX,
    Cadence,
    CadenceStep,
    CommsError,
    SegmentRule,
    Tone,
)
from plixo.core.models import Organization
from plixo.core.money import MoneyError, is_currency, parse_amount
from plixo.ledger.validation import text_check

MAX_STEPS = 20


@dataclass(frozen=True)
class StepSpec:
    offset_days: int
    subject: str
    body: str
    tone: str = Tone.FRIENDLY


def _clean_steps(steps: Iterable[StepSpec | dict]) -> list[StepSpec]:
    cleaned: list[StepSpec] = []
    for position, raw in enumerate(steps, start=1):
        step = raw if isinstance(raw, StepSpec) else StepSpec(**raw)
        where = f"Step {position}"
        try:
            offset = int(step.offset_days)
        except (TypeError, ValueError):
            raise CommsError(f"{where}: the day offset must be a whole number.") from None
        if not STEP_OFFSET_MIN <= offset <= STEP_OFFSET_MAX:
            raise CommsError(
                f"{where}: the day offset must be between {STEP_OFFSET_MIN} and "
                f"{STEP_OFFSET_MAX} days from the due date."
            )
        if step.tone not in Tone.values:
            raise CommsError(f"{where}: the tone must be one of {', '.join(Tone.values)}.")
        subject = text_check(step.subject or "", f"{where}: the subject", single_line=True)
        body = text_check(step.body or "", f"{where}: the body")
        if not subject.strip():
            raise CommsError(f"{where}: the subject is required.")
        if not body.strip():
            raise CommsError(f"{where}: the body is required.")
        if len(subject) > SUBJECT_MAX:
            raise CommsError(f"{where}: the subject is longer than {SUBJECT_MAX} characters.")
        if len(body) > BODY_MAX:
            raise CommsError(f"{where}: the body is longer than {BODY_MAX} characters.")
        try:
            template_check(subject=subject, body=body, require_pay_link=True)
        except MergeFieldError as exc:
            raise CommsError(f"{where}: {exc}") from None
        cleaned.append(StepSpec(offset, subject.strip(), body.strip(), step.tone))
    if not cleaned:
        raise CommsError("A cadence needs at least one step.")
    if len(cleaned) > MAX_STEPS:
        raise CommsError(f"A cadence has at most {MAX_STEPS} steps.")
    offsets = [s.offset_days for s in cleaned]
    if len(set(offsets)) != len(offsets):
        dupes = sorted({o for o in offsets if offsets.count(o) > 1})
        raise CommsError(
            "Two steps fall on the same day (" + ", ".join(f"{o:+d}" for o in dupes) + ")."
        )
    return sorted(cleaned, key=lambda s: s.offset_days)


def _clean_name(name: str) -> str:
    name = text_check(name or "", "The name", single_line=True).strip()
    if not name:
        raise CommsError("A cadence needs a name.")
    if len(name) > 120:
        raise CommsError("The name is longer than 120 characters.")
    return name


def _steps_write(cadence: Cadence, steps: list[StepSpec]) -> None:
    """Make the cadence's active steps match `steps`. A step on an offset that stays keeps its
    row (its drafts and sent emails still point at it); a removed step is retired."""
    current = {s.offset_days: s for s in cadence.steps.filter(is_active=True)}
    wanted = {s.offset_days for s in steps}
    CadenceStep.objects.filter(
        cadence=cadence, is_active=True, offset_days__in=set(current) - wanted
    ).update(is_active=False)
    for spec in steps:
        row = current.get(spec.offset_days)
        if row is None:
            CadenceStep.objects.create(
                cadence=cadence,
                offset_days=spec.offset_days,
                tone=spec.tone,
                subject=spec.subject,
                body=spec.body,
            )
        elif (row.tone, row.subject, row.body) != (spec.tone, spec.subject, spec.body):
            row.tone, row.subject, row.body = spec.tone, spec.subject, spec.body
            row.save(update_fields=["tone", "subject", "body"])


def _make_default(cadence: Cadence) -> None:
    Cadence.objects.filter(organization_id=cadence.organization_id, is_default=True).exclude(
        pk=cadence.pk
    ).update(is_default=False)


def cadence_create(
    *,
    organization: Organization,
    name: str,
    steps: Iterable[StepSpec | dict],
    description: str = "",
    requires_approval: bool = True,
    is_default: bool = False,
) -> Cadence:
    name = _clean_name(name)
    description = text_check(description or "", "The description", single_line=True)[:500]
    cleaned = _clean_steps(steps)
    try:
        with transaction.atomic():
            cadence = Cadence.objects.create(
                organization=organization,
                name=name,
                description=description,
                requires_approval=requires_approval,
                is_default=False,
            )
            _steps_write(cadence, cleaned)
            if (
                is_default
                or not Cadence.objects.filter(organization=organization, is_default=True).exists()
            ):
                _make_default(cadence)
                cadence.is_default = True
                cadence.save(update_fields=["is_default"])
    except IntegrityError:
        raise CommsError(f"There is already a cadence named {name!r}.") from None
    return cadence


def cadence_update(
    *,
    cadence: Cadence,
    name: str | None = None,
    description: str | None = None,
    requires_approval: bool | None = None,
    is_default: bool | None = None,
    is_active: bool | None = None,
    steps: Iterable[StepSpec | dict] | None = None,
) -> Cadence:
    cleaned = _clean_steps(steps) if steps is not None else None
    fields = []
    if name is not None:
        cadence.name = _clean_name(name)
        fields.append("name")
    if description is not None:
        cadence.description = text_check(description, "The description", single_line=True)[:500]
        fields.append("description")
    if requires_approval is not None:
        cadence.requires_approval = bool(requires_approval)
        fields.append("requires_approval")
    if is_active is not None:
        if not is_active and (is_default or (is_default is None and cadence.is_default)):
            raise CommsError(
                "The default cadence cannot be switched off; make another cadence the default "
                "first."
            )
        cadence.is_active = bool(is_active)
        fields.append("is_active")
    if is_default is False and cadence.is_default:
        raise CommsError("Make another cadence the default instead; one is always the default.")
    try:
        with transaction.atomic():
            if fields:
                cadence.save(update_fields=[*fields, "updated_at"])
            if is_default and not cadence.is_default:
                _make_default(cadence)
                cadence.is_default = True
                cadence.save(update_fields=["is_default", "updated_at"])
            if cleaned is not None:
                _steps_write(cadence, cleaned)
    except IntegrityError:
        raise CommsError(f"There is already a cadence named {cadence.name!r}.") from None
    return cadence


# --- segment rules ---------------------------------------------------------------------------


RULE_FIELDS = (
    "name",
    "cadence",
    "priority",
    "segment",
    "currency",
    "min_amount",
    "max_amount",
    "min_days_overdue",
    "max_days_overdue",
    "min_risk",
    "max_risk",
)


def _rule_clean(rule: SegmentRule) -> None:
    rule.name = text_check(rule.name or "", "The rule name", single_line=True).strip()[:120]
    if not rule.name:
        raise CommsError("A segment rule needs a name.")
    rule.segment = text_check(rule.segment or "", "The segment", single_line=True).strip()[:60]
    rule.currency = (rule.currency or "").strip().upper()
    if rule.currency and not is_currency(rule.currency):
        raise CommsError(f"{rule.currency!r} is not an ISO 4217 currency code.")
    for field in ("min_amount", "max_amount"):
        value = getattr(rule, field)
        if value is None or value == "":
            setattr(rule, field, None)
            continue
        if not rule.currency:
            raise CommsError(
                "An amount condition needs a currency: amounts in different currencies are "
                "never compared."
            )
        try:
            setattr(rule, field, parse_amount(value, rule.currency))
        except MoneyError as exc:
            raise CommsError(f"{field.replace('_', ' ').capitalize()}: {exc}") from None
    both = rule.min_amount is not None and rule.max_amount is not None
    if both and Decimal(rule.min_amount) > Decimal(rule.max_amount):
        raise CommsError("The minimum amount is above the maximum.")
    for low, high, lo_bound, hi_bound, what in (
        ("min_days_overdue", "max_days_overdue", -3650, 3650, "days overdue"),
        ("min_risk", "max_risk", 0, 100, "risk score"),
    ):
        for field in (low, high):
            value = getattr(rule, field)
            if value in (None, ""):
                setattr(rule, field, None)
                continue
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise CommsError(f"The {what} must be a whole number.") from None
            if not lo_bound <= value <= hi_bound:
                raise CommsError(f"The {what} must be between {lo_bound} and {hi_bound}.")
            setattr(rule, field, value)
        lo, hi = getattr(rule, low), getattr(rule, high)
        if lo is not None and hi is not None and lo > hi:
            raise CommsError(f"The minimum {what} is above the maximum.")
    try:
        rule.priority = int(rule.priority)
    except (TypeError, ValueError):
        raise CommsError("The priority must be a whole number.") from None
    if not 0 <= rule.priority <= 10000:
        raise CommsError("The priority must be between 0 and 10000.")
    if rule.cadence.organization_id != rule.organization_id:
        raise CommsError("That cadence belongs to another organization.")


@transaction.atomic
def segment_rule_create(*, organization: Organization, cadence: Cadence, **fields) -> SegmentRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise CommsError(f"Unknown rule fields: {', '.join(sorted(unknown))}.")
    if "priority" not in fields or fields["priority"] in (None, ""):
        top = SegmentRule.objects.filter(organization=organization).aggregate(m=Max("priority"))
        fields["priority"] = min((top["m"] or 0) + 10, 10000)
    rule = SegmentRule(organization=organization, cadence=cadence, **fields)
    _rule_clean(rule)
    rule.save()
    return rule


@transaction.atomic
def segment_rule_update(*, rule: SegmentRule, **fields) -> SegmentRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise CommsError(f"Unknown rule fields: {', '.join(sorted(unknown))}.")
    for key, value in fields.items():
        setattr(rule, key, value)
    _rule_clean(rule)
    rule.save()
    return rule


@transaction.atomic
def segment_rule_delete(*, rule: SegmentRule) -> None:
    rule.delete()
