"""The one permission table: which role may do what.

Every web view and API route declares the capability it needs (`@requires(Cap.X)` in
`plixo.core.access`, `api_requires` in `plixo.api`), and both consult `ROLE_CAPABILITIES`.
The generated access tests read this same table, so adding a route without a capability, or
changing the table, is caught by them.
"""

import os
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from plixo.core.models import Role


class Cap(StrEnum):
    LEDGER_VIEW = "ledger.view"  # customers, contacts, invoices, payments, timelines
    LEDGER_EDIT = "ledger.edit"  # create and update customers, contacts, invoices
    PAYMENTS_RECORD = "payments.record"  # record a payment and allocate it
    INVOICES_VOID = "invoices.void"
    INVOICES_WRITE_OFF = "invoices.write_off"
    OPS_VIEW = "ops.view"  # Ops page: jobs, maintenance state
    OPS_MANAGE = "ops.manage"  # pause/resume/run jobs, maintenance toggle
    TEAM_VIEW = "team.view"  # members, roles and the access audit trail
    TEAM_MANAGE = "team.manage"  # change roles and approval limits
    IMPORTS_RUN = "imports.run"  # upload CSV imports, see their summaries and reject logs
    PORTAL_LINKS = "portal.links"  # issue a payer's portal link (revokes the earlier ones)
    MESSAGES_VIEW = "messages.view"  # drafts, the outbox and what was sent
    MESSAGES_SEND = "messages.send"  # edit, approve, send and cancel drafts; retry failed email
    CADENCES_MANAGE = "cadences.manage"  # cadences, segment rules, quiet hours, caps, test address
    CONTACTS_SUPPRESS = "contacts.suppress"  # suppress a contact's email, lift a suppression
    ORG_GO_LIVE = "org.go_live"  # switch the organization between test mode and live sending
    PAYMENTS_SETTINGS = "payments.settings"  # Stripe keys, partial payments
    PAYMENTS_REVIEW = "payments.review"  # close provider payments flagged for review
    APPROVALS_REQUEST = "approvals.request"  # ask for approval above one's limit; see own requests
    APPROVALS_DECIDE = "approvals.decide"  # approve or reject requests routed to one's role
    PROMISES_LOG = "promises.log"  # add promises, mark them kept or missed
    PLANS_MANAGE = "plans.manage"  # create plans, accept/counter/decline proposals, run plans
    CASH_APPLY = "cash.apply"  # import bank statements, apply/split/reject/undo cash
    REPORTS_VIEW = "reports.view"  # reports and their exports (Sales, CSM: own accounts)
    RATES_MANAGE = "rates.manage"  # import and enter exchange rates for base-currency reports
    DISPUTES_LOG = "disputes.log"  # log a dispute on an invoice
    DISPUTES_RESOLVE = "disputes.resolve"  # assign, route and resolve disputes
    DISPUTES_SETTINGS = "disputes.settings"  # SLA targets, business hours, holidays, routing rules
    INVOICES_CREDIT = "invoices.credit"  # credit an invoice (above one's limit: an approval)
    NOTES_WRITE = "notes.write"  # internal notes with @mentions on invoices and disputes
    QUEUE_TEAM = "queue.team"  # see the team's queues and take escalations
    READINESS_VIEW = "readiness.view"  # the Data-Ready page (running it: ORG_GO_LIVE)


_EVERYTHING = frozenset(Cap)

ROLE_CAPABILITIES: dict[str, frozenset[Cap]] = {
    Role.CONTROLLER: _EVERYTHING,
    Role.AR_MANAGER: frozenset(
        {
            Cap.DISPUTES_LOG,
            Cap.DISPUTES_RESOLVE,
            Cap.DISPUTES_SETTINGS,
            Cap.INVOICES_CREDIT,
            Cap.NOTES_WRITE,
            Cap.QUEUE_TEAM,
            Cap.READINESS_VIEW,
            Cap.LEDGER_VIEW,
            Cap.LEDGER_EDIT,
            Cap.PAYMENTS_RECORD,
            Cap.CASH_APPLY,
            Cap.PAYMENTS_REVIEW,
            Cap.INVOICES_VOID,
            Cap.INVOICES_WRITE_OFF,
            Cap.APPROVALS_REQUEST,
            Cap.OPS_VIEW,
            Cap.OPS_MANAGE,
            Cap.REPORTS_VIEW,
            Cap.RATES_MANAGE,
            Cap.TEAM_VIEW,
            Cap.PORTAL_LINKS,
            Cap.IMPORTS_RUN,
            Cap.MESSAGES_VIEW,
            Cap.MESSAGES_SEND,
            Cap.CADENCES_MANAGE,
            Cap.CONTACTS_SUPPRESS,
            Cap.PROMISES_LOG,
            Cap.PLANS_MANAGE,
        }
    ),
    Role.AR_OPERATOR: frozenset(
        {
            Cap.DISPUTES_LOG,
            Cap.DISPUTES_RESOLVE,
            Cap.INVOICES_CREDIT,
            Cap.NOTES_WRITE,
            Cap.APPROVALS_REQUEST,
            Cap.PROMISES_LOG,
            Cap.PLANS_MANAGE,
            Cap.LEDGER_VIEW,
            Cap.LEDGER_EDIT,
            Cap.PAYMENTS_RECORD,
            Cap.CASH_APPLY,
            Cap.PORTAL_LINKS,
            Cap.IMPORTS_RUN,
            Cap.MESSAGES_VIEW,
            Cap.MESSAGES_SEND,
            Cap.CONTACTS_SUPPRESS,
        }
    ),
    Role.BILLING_ADMIN: frozenset(
        {
            Cap.NOTES_WRITE,
            Cap.LEDGER_VIEW,
            Cap.LEDGER_EDIT,
            Cap.INVOICES_VOID,
            Cap.OPS_VIEW,
            Cap.PORTAL_LINKS,
            Cap.IMPORTS_RUN,
            Cap.MESSAGES_VIEW,
            Cap.PAYMENTS_SETTINGS,
            Cap.PAYMENTS_REVIEW,
        }
    ),
    Role.SALES: frozenset({Cap.LEDGER_VIEW, Cap.MESSAGES_VIEW, Cap.REPORTS_VIEW, Cap.NOTES_WRITE}),
    # CSMs may log the promises their accounts make (on their own accounts only).
    Role.CSM: frozenset(
        {
            Cap.LEDGER_VIEW,
            Cap.MESSAGES_VIEW,
            Cap.PROMISES_LOG,
            Cap.REPORTS_VIEW,
            Cap.DISPUTES_LOG,
            Cap.NOTES_WRITE,
        }
    ),
    Role.LEGAL: frozenset(
        {
            Cap.DISPUTES_RESOLVE,
            Cap.INVOICES_CREDIT,
            Cap.NOTES_WRITE,
            Cap.LEDGER_VIEW,
            Cap.INVOICES_WRITE_OFF,
            Cap.MESSAGES_VIEW,
            Cap.APPROVALS_REQUEST,
            Cap.APPROVALS_DECIDE,
            Cap.REPORTS_VIEW,
        }
    ),
}

# Sales and CSMs read their own accounts only: customers whose owner they are.
OWN_ACCOUNTS_ONLY: frozenset[str] = frozenset({Role.SALES, Role.CSM})


def capabilities_for(role: str) -> frozenset[Cap]:
    return ROLE_CAPABILITIES.get(role, frozenset())


def role_can(role: str, capability: Cap) -> bool:
    return capability in capabilities_for(role)


def sees_only_own_accounts(role: str) -> bool:
    return role in OWN_ACCOUNTS_ONLY


# --- instance-wide controls --------------------------------------------------------------------
# Jobs and maintenance mode are shared by every organization on an instance. On a single-
# organization instance ("single", the default) its Controllers and A/R Managers run them
# (`Cap.OPS_MANAGE`); on an instance that hosts several organizations ("multi") one
# organization must not pause another's work, so only Django staff (`is_staff`) may.
INSTANCE_MODES = ("single", "multi")


def instance_mode() -> str:
    """`PLIXO_INSTANCE_MODE` from the settings, else from the environment; "single" if unset."""
    mode = getattr(settings, "PLIXO_INSTANCE_MODE", None) or os.environ.get(
        "PLIXO_INSTANCE_MODE", "single"
    )
    mode = str(mode).strip().lower()
    if mode not in INSTANCE_MODES:
        raise ImproperlyConfigured(
            f"PLIXO_INSTANCE_MODE is {mode!r}; it must be one of {', '.join(INSTANCE_MODES)}."
        )
    return mode


def may_change_instance(*, user, role: str | None) -> bool:
    """Whether this user may pause or run jobs and switch maintenance mode."""
    if instance_mode() == "multi":
        return bool(getattr(user, "is_staff", False) and user.is_active)
    return role is not None and role_can(role, Cap.OPS_MANAGE)
