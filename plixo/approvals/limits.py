"""Does an actor's approval limit cover a money decision, and if not, who must approve it.

The ledger calls `approval_check` from its money services (write-offs) before it writes
anything; other apps (payment plans) call it the same way. This module reads only; the writes
are in `plixo.approvals.services`.

Limits are in the organization's base currency. A decision in another currency is converted by
`to_base_currency`, the one place that knows about exchange rates. There is no rate source
yet, so it answers None for every other currency and such a decision goes to approval with a
guardrail that says so; a missing rate is never taken as 1.
"""

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from plixo.approvals.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalRoute,
    Approver,
    RoleApprovalLimit,
)
from plixo.core.models import Membership, Organization, Role, User
from plixo.core.money import currency_digits, format_money, quantize
from plixo.ledger.models import LedgerError

# The Controller is the final approver above every limit (PRODUCT.md): nothing they decide is
# held for approval, since nobody could approve it but another Controller.
UNLIMITED_ROLES = frozenset({Role.CONTROLLER})


@dataclass(frozen=True)
class Guardrail:
    """Why a decision needs approval, and who is to give it."""

    message: str  # "Write-off of $1,704.77 exceeds your $1,000.00 limit — Controller approval …"
    route_to: str  # an `Approver` value
    amount_in_base: Decimal | None  # None when no rate converts the amount

    def __str__(self) -> str:
        return self.message


class ApprovalRequired(LedgerError):
    """Raised by a money service when the actor's limit does not cover the decision: nothing
    was written. The caller offers an approval request instead (`guardrail` says why)."""

    def __init__(self, guardrail: Guardrail, *, amount: Decimal):
        self.guardrail = guardrail
        self.amount = amount
        super().__init__(guardrail.message)


def to_base_currency(
    *, organization: Organization, amount: Decimal, currency: str
) -> Decimal | None:
    """`amount` in the organization's base currency at the latest imported exchange rate on or
    before today (rounded up to the base currency's minor unit, so a limit is never stretched by
    rounding), or None when no rate is known: a missing rate is never taken as 1.

    The one conversion the approval rules use."""
    if currency == organization.base_currency:
        return quantize(amount, currency)
    from plixo.ledger.selectors import org_today
    from plixo.reports.selectors.rates import Converter

    today = org_today(organization)
    converted = Converter(organization=organization, start=today, end=today).convert(
        amount, currency, today, note_missing=False
    )
    if converted is None:
        return None
    step = Decimal(1).scaleb(-currency_digits(organization.base_currency))
    return converted.quantize(step, rounding=ROUND_UP)


def effective_limit(
    *, membership: Membership, role_defaults: dict[str, Decimal | None] | None = None
) -> Decimal | None:
    """The member's approval limit in the base currency; None means no limit (Controller).

    The larger of the role's default for the organization and the member's own limit.
    `role_defaults` (role -> default) saves the query when many members are listed."""
    if membership.role in UNLIMITED_ROLES:
        return None
    if role_defaults is not None:
        role_default = role_defaults.get(membership.role)
    else:
        role_default = (
            RoleApprovalLimit.objects.filter(
                organization_id=membership.organization_id, role=membership.role
            )
            .values_list("amount", flat=True)
            .first()
        )
    return max(membership.approval_limit, role_default or Decimal("0"))


def route_for(
    *, organization: Organization, kind: str, amount_in_base: Decimal | None
) -> tuple[str, ApprovalRoute | None]:
    """The role a request goes to, and the rule that sent it there (None: the default, the
    Controller). A rule with a threshold matches only an amount known in the base currency."""
    rules = ApprovalRoute.objects.filter(organization=organization, kind__in=[kind, ""])
    best, best_key = None, None
    for rule in rules:
        if rule.amount_above is not None and (
            amount_in_base is None or amount_in_base <= rule.amount_above
        ):
            continue
        key = (rule.kind == kind, rule.amount_above if rule.amount_above is not None else -1)
        if best_key is None or key > best_key:
            best, best_key = rule, key
    if best is None:
        return Approver.CONTROLLER.value, None
    return best.route_to, best


def _kind_label(kind: str) -> str:
    try:
        return ApprovalKind(kind).label
    except ValueError:
        return kind.replace("_", " ").capitalize()


def _approver_label(route_to: str) -> str:
    try:
        return Approver(route_to).label
    except ValueError:
        return route_to


def guardrail_for(
    *,
    organization: Organization,
    kind: str,
    amount: Decimal,
    currency: str,
    limit: Decimal | None,
    limit_owner: str = "your",
) -> Guardrail:
    """The guardrail for a decision that needs approval (the limit does not cover it, or the
    amount could not be compared with it)."""
    base = organization.base_currency
    amount_in_base = to_base_currency(organization=organization, amount=amount, currency=currency)
    route_to, rule = route_for(organization=organization, kind=kind, amount_in_base=amount_in_base)
    approver = f"{_approver_label(route_to)} approval required"
    what = f"{_kind_label(kind)} of {format_money(amount, currency)}"
    if amount_in_base is None:
        message = f"No {currency}→{base} exchange rate to check the {what.lower()}; {approver}"
    else:
        limit_text = format_money(limit or Decimal("0"), base)
        message = f"{what} exceeds {limit_owner} {limit_text} limit — {approver}"
    if rule is not None and rule.amount_above is not None:
        label = _kind_label(rule.kind).lower() + "s" if rule.kind else "requests"
        threshold = format_money(rule.amount_above, base)
        message += f" ({label} above {threshold} go to {_approver_label(route_to)})"
    return Guardrail(message=message[:300], route_to=route_to, amount_in_base=amount_in_base)


def approval_check(
    *,
    organization: Organization,
    actor: User,
    kind: str,
    amount: Decimal,
    currency: str,
) -> Guardrail | None:
    """None when the actor's approval limit covers the decision (an amount exactly at the limit
    is covered), else the guardrail saying why approval is needed and who gives it."""
    membership = (
        Membership.objects.filter(organization=organization, user=actor, is_active=True)
        .only("id", "role", "approval_limit", "organization_id")
        .first()
    )
    if membership is None:
        return guardrail_for(
            organization=organization,
            kind=kind,
            amount=amount,
            currency=currency,
            limit=Decimal("0"),
        )
    limit = effective_limit(membership=membership)
    if limit is None:
        return None
    amount_in_base = to_base_currency(organization=organization, amount=amount, currency=currency)
    if amount_in_base is not None and amount_in_base <= limit:
        return None
    return guardrail_for(
        organization=organization, kind=kind, amount=amount, currency=currency, limit=limit
    )


def approval_authorizes(
    approval: ApprovalRequest, *, kind: str, target_key: str, amount: Decimal, currency: str
) -> None:
    """Check that an approved request is what lets a money service go ahead: the same kind,
    target, amount and currency, approved and not yet carried out. A LedgerError otherwise."""
    if (
        approval.status != ApprovalRequest.Status.APPROVED
        or approval.outcome
        or approval.kind != kind
        or approval.target_key != target_key
        or approval.currency != currency
        or quantize(approval.amount, currency) != quantize(amount, currency)
    ):
        raise LedgerError("That approval does not cover this decision.")
