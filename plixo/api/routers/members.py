"""/api/v1/members: the organization's members, invitations, roles, temporary roles and
deactivation. The same services as the Users & Roles page, so the same rules: only a role with
`team.manage` changes access, nobody changes their own, and the last Controller stays."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, responses
from plixo.api.schemas import CursorPage, Line, Moment, MoneyIn, MoneyOut, PageParams
from plixo.core import services
from plixo.core.models import Membership
from plixo.core.money import MoneyError, parse_amount, quantize
from plixo.core.permissions import Cap
from plixo.core.selectors import invitation_for, invitations_open, members_of, one_or_404

router = Router(tags=["members"])

ORDERING = ("created_at", "id")
INVITATION_ORDERING = ("-created_at", "-id")

RoleName = Literal[
    "controller", "ar_manager", "ar_operator", "billing_admin", "sales", "csm", "legal"
]


def _email_checked(value: str) -> str:
    try:
        validate_email(value.strip())
    except DjangoValidationError as exc:
        raise PydanticCustomError("invalid_email", "Enter a valid email address.") from exc
    return value.strip().lower()


Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email_checked)]
Reason = Annotated[Line, Field(max_length=services.REASON_MAX_LENGTH)]
RequiredReason = Annotated[Line, Field(min_length=1, max_length=services.REASON_MAX_LENGTH)]


class TemporaryRoleOut(Schema):
    role: str = Field(description="The role the member has until `until`.")
    until: dt.datetime
    reason: str
    then: str = Field(description="The lasting role the member gets back at `until`.")


class MemberOut(Schema):
    id: UUID
    email: str
    full_name: str
    role: str = Field(description="The role the member acts with now.")
    role_label: str
    approval_limit: MoneyOut
    active: bool
    temporary: TemporaryRoleOut | None = Field(
        description="Set while the member has a temporary role."
    )
    created_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_email(obj) -> str:
        return obj.user.email

    @staticmethod
    def resolve_full_name(obj) -> str:
        return obj.user.full_name

    @staticmethod
    def resolve_role_label(obj) -> str:
        return obj.get_role_display()

    @staticmethod
    def resolve_approval_limit(obj) -> str:
        return str(quantize(obj.approval_limit, obj.organization.base_currency))

    @staticmethod
    def resolve_active(obj) -> bool:
        return obj.is_active

    @staticmethod
    def resolve_temporary(obj) -> dict | None:
        if not obj.is_temporary:
            return None
        return {
            "role": obj.role,
            "until": obj.temporary_until,
            "reason": obj.temporary_reason,
            "then": obj.role_after,
        }


class MemberPage(CursorPage):
    results: list[MemberOut]


class InvitationOut(Schema):
    id: UUID
    email: str
    role: str
    state: str = Field(description="pending, expired, accepted or revoked")
    invited_by: str | None
    created_at: dt.datetime
    expires_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_state(obj) -> str:
        return obj.state_at(timezone.now())

    @staticmethod
    def resolve_invited_by(obj) -> str | None:
        return obj.invited_by.email if obj.invited_by else None


class InvitationPage(CursorPage):
    results: list[InvitationOut]


class InviteIn(Schema):
    email: Email
    role: RoleName


class MemberChangeIn(Schema):
    role: RoleName | None = Field(None, description="A new lasting role (ends a temporary one).")
    approval_limit: MoneyIn | None = Field(None, description="In the base currency.")
    reason: RequiredReason


class TemporaryRoleIn(Schema):
    role: RoleName
    expires_at: Moment = Field(description="When the lasting role comes back; within 90 days.")
    reason: RequiredReason


class ReasonIn(Schema):
    reason: Reason = ""


def _member(request, member_id: UUID) -> Membership:
    return one_or_404(
        members_of(organization=request.organization).select_related("organization"), member_id
    )


def _refused(exc: DjangoValidationError):
    raise HttpError(400, " ".join(exc.messages)) from exc


def _fresh(request, membership: Membership) -> Membership:
    return _member(request, membership.public_id)


@router.get("", response=responses({200: MemberPage}, 422), summary="List members")
@api_requires(Cap.TEAM_VIEW)
def member_list(request, page: Query[PageParams]):
    """Every member of the organization, active or not, oldest first; page with
    `next_cursor`."""
    return paginate_keyset(
        members_of(organization=request.organization).select_related("organization"),
        page,
        ordering=ORDERING,
    )


@router.get(
    "/invitations", response=responses({200: InvitationPage}, 422), summary="List invitations"
)
@api_requires(Cap.TEAM_MANAGE)
def invitation_list(request, page: Query[PageParams]):
    """Invitations not yet accepted or revoked (expired ones too), newest first."""
    return paginate_keyset(
        invitations_open(organization=request.organization), page, ordering=INVITATION_ORDERING
    )


@router.post(
    "/invitations",
    response=responses({201: InvitationOut}, 400, 422),
    summary="Invite a member",
)
@api_requires(Cap.TEAM_MANAGE)
def invitation_create(request, payload: InviteIn):
    """Email a single-use invitation link, valid for seven days. The link is never returned
    or stored (only its hash): it reaches the invited address only. Inviting an address with
    an open invitation replaces it; inviting a member is 400."""
    try:
        invitation, _ = services.invitation_create(
            organization=request.organization,
            email=payload.email,
            role=payload.role,
            actor=request.user,
        )
    except DjangoValidationError as exc:
        _refused(exc)
    return Status(201, invitation)


@router.post(
    "/invitations/{invitation_id}/revoke",
    response=responses({200: InvitationOut}, 400, 404),
    summary="Revoke an invitation",
)
@api_requires(Cap.TEAM_MANAGE)
def invitation_revoke(request, invitation_id: UUID):
    invitation = invitation_for(organization=request.organization, public_id=invitation_id)
    try:
        return services.invitation_revoke(invitation=invitation, actor=request.user)
    except DjangoValidationError as exc:
        _refused(exc)


@router.get("/{member_id}", response=responses({200: MemberOut}, 404), summary="Get a member")
@api_requires(Cap.TEAM_VIEW)
def member_get(request, member_id: UUID):
    return _member(request, member_id)


@router.patch(
    "/{member_id}",
    response=responses({200: MemberOut}, 400, 404, 422),
    summary="Change a member's role or approval limit",
)
@api_requires(Cap.TEAM_MANAGE)
def member_change(request, member_id: UUID, payload: MemberChangeIn):
    """A new `role` is lasting (it ends a temporary role). Nobody changes their own access
    (403); the last Controller keeps the role (400). `reason` is kept in the audit trail."""
    membership = _member(request, member_id)
    limit = None
    if payload.approval_limit is not None:
        try:
            limit = parse_amount(payload.approval_limit, request.organization.base_currency)
        except MoneyError as exc:
            raise HttpError(400, str(exc)) from exc
    if payload.role is None and limit is None:
        raise HttpError(400, "Nothing to change: give a role or an approval limit.")
    try:
        services.membership_change(
            membership=membership,
            actor=request.user,
            reason=payload.reason,
            role=payload.role,
            approval_limit=limit,
        )
    except DjangoValidationError as exc:
        _refused(exc)
    return _fresh(request, membership)


@router.post(
    "/{member_id}/temporary-role",
    response=responses({200: MemberOut}, 400, 404, 422),
    summary="Give a temporary role",
)
@api_requires(Cap.TEAM_MANAGE)
def member_temporary_role(request, member_id: UUID, payload: TemporaryRoleIn):
    """The member acts with `role` until `expires_at` (in the future, within 90 days), then
    gets their lasting role back (a job checks every few minutes). A reason is required."""
    membership = _member(request, member_id)
    try:
        services.membership_upgrade_temporary(
            membership=membership,
            role=payload.role,
            expires_at=payload.expires_at,
            reason=payload.reason,
            actor=request.user,
        )
    except DjangoValidationError as exc:
        _refused(exc)
    return _fresh(request, membership)


@router.post(
    "/{member_id}/temporary-role/end",
    response=responses({200: MemberOut}, 400, 404, 422),
    summary="End a temporary role now",
)
@api_requires(Cap.TEAM_MANAGE)
def member_temporary_role_end(request, member_id: UUID, payload: ReasonIn):
    membership = _member(request, member_id)
    try:
        services.membership_upgrade_end(
            membership=membership, actor=request.user, reason=payload.reason
        )
    except DjangoValidationError as exc:
        _refused(exc)
    return _fresh(request, membership)


@router.post(
    "/{member_id}/deactivate",
    response=responses({200: MemberOut}, 400, 404, 422),
    summary="Deactivate a member",
)
@api_requires(Cap.TEAM_MANAGE)
def member_deactivate(request, member_id: UUID, payload: ReasonIn):
    """The member can no longer open the organization or use its API keys."""
    membership = _member(request, member_id)
    try:
        services.membership_deactivate(
            membership=membership, actor=request.user, reason=payload.reason
        )
    except DjangoValidationError as exc:
        _refused(exc)
    return _fresh(request, membership)


@router.post(
    "/{member_id}/reactivate",
    response=responses({200: MemberOut}, 400, 404, 422),
    summary="Reactivate a member",
)
@api_requires(Cap.TEAM_MANAGE)
def member_reactivate(request, member_id: UUID, payload: ReasonIn):
    membership = _member(request, member_id)
    try:
        services.membership_reactivate(
            membership=membership, actor=request.user, reason=payload.reason
        )
    except DjangoValidationError as exc:
        _refused(exc)
    return _fresh(request, membership)
