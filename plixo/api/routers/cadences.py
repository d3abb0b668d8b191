"""/api/v1/cadences: the organization's cadences and their steps (A/R Manager, Controller)."""

from uuid import UUID

from django.db.models import Prefetch, QuerySet
from ninja import Query, Router, Status
from ninja.errors import ValidationError

from plixo.api.auth import api_requires
from plixo.api.common import paginate, responses
from plixo.api.schemas import PageParams
from plixo.api.schemas_comms import (
    CadenceCreate,
    CadenceOut,
    CadencePage,
    CadenceStepIn,
    CadenceUpdate,
)
from plixo.comms import services
from plixo.comms.merge import MERGE_FIELDS, MergeFieldError, template_fields
from plixo.comms.models import Cadence, CadenceStep
from plixo.core.permissions import Cap
from plixo.core.selectors import one_or_404

router = Router(tags=["cadences"])

MERGE_FIELDS_NOTE = "Merge fields: " + ", ".join("{" + name + "}" for name in MERGE_FIELDS) + "."


def _cadences(request) -> QuerySet[Cadence]:
    active_steps = CadenceStep.objects.filter(is_active=True).order_by("offset_days", "id")
    return Cadence.objects.filter(organization_id=request.organization.id).prefetch_related(
        Prefetch("steps", queryset=active_steps, to_attr="active_steps")
    )


def _cadence_for(request, cadence_id: UUID) -> Cadence:
    return one_or_404(_cadences(request), cadence_id)


def _templates_check(steps: list[CadenceStepIn]) -> None:
    """Every merge field of every step, checked before anything is written: an unknown or
    malformed field is a 422 that names it and points at the step and the part it is in."""
    errors = []
    for position, step in enumerate(steps):
        for part in ("subject", "body"):
            try:
                template_fields(getattr(step, part))
            except MergeFieldError as exc:
                unknown = [name for name in exc.fields if name not in MERGE_FIELDS]
                errors.append(
                    {
                        "loc": ["body", "payload", "steps", position, part],
                        "msg": str(exc),
                        "type": "unknown_merge_field" if unknown else "invalid_template",
                    }
                )
    if errors:
        raise ValidationError(errors)


@router.get("", response=responses({200: CadencePage}, 422), summary="List cadences")
@api_requires(Cap.CADENCES_MANAGE)
def cadence_list(request, page: Query[PageParams]):
    """The organization's cadences by name, each with its active steps."""
    return paginate(_cadences(request).order_by("name", "id"), page)


@router.get("/{cadence_id}", response=responses({200: CadenceOut}, 404), summary="Get a cadence")
@api_requires(Cap.CADENCES_MANAGE)
def cadence_get(request, cadence_id: UUID):
    return _cadence_for(request, cadence_id)


@router.post(
    "",
    response=responses({201: CadenceOut}, 400, 422),
    summary="Create a cadence",
    description=(
        "Steps fall at day offsets from the due date, each with a subject and body template. "
        "An unknown merge field answers 422 naming it, with nothing written. The first "
        "cadence of an organization becomes its default. " + MERGE_FIELDS_NOTE
    ),
)
@api_requires(Cap.CADENCES_MANAGE)
def cadence_create(request, payload: CadenceCreate):
    _templates_check(payload.steps)
    cadence = services.cadence_create(
        organization=request.organization,
        name=payload.name,
        description=payload.description,
        requires_approval=payload.requires_approval,
        is_default=payload.is_default,
        steps=[step.dict() for step in payload.steps],
    )
    return Status(201, _cadence_for(request, cadence.public_id))


@router.patch(
    "/{cadence_id}",
    response=responses({200: CadenceOut}, 400, 404, 422),
    summary="Update a cadence",
    description=(
        "Send only the fields to change; `steps` replaces the whole list (a step on a day "
        "offset that stays keeps its drafts and sent emails). An unknown merge field answers "
        "422 naming it, with nothing written. " + MERGE_FIELDS_NOTE
    ),
)
@api_requires(Cap.CADENCES_MANAGE)
def cadence_update(request, cadence_id: UUID, payload: CadenceUpdate):
    if payload.steps is not None:
        _templates_check(payload.steps)
    cadence = _cadence_for(request, cadence_id)
    fields = payload.dict(exclude_unset=True)
    services.cadence_update(cadence=cadence, **fields)
    return _cadence_for(request, cadence_id)
