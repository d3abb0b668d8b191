"""R7 and R6 for the web, generated from the URL conf and the permission table.

Nothing here names a view. The module walks `django.urls.get_resolver()`, reads the access each
view declares (`plixo_access`, left by `@public`, `@member_required` or `@requires(Cap.X)`), and
for every route × every role asks the live view what it answers:

- R7: a role without the capability gets 403; a role with it gets neither 403, 404 nor 500;
  `@member_required` lets every role in; `@public` lets anonymous visitors in; anonymous visitors
  are sent to the login page everywhere else. Sales and CSMs see customers they own and get 404
  for the others. A route whose view declares no access fails.
- R6: every route that carries an object id answers 404, for every role that could reach it,
  when the id belongs to another organization — by GET and by POST.
- Payer routes (`@portal_session_required`): without a portal session every role, and nobody
  signed in, gets the "open your link" page (403) with no invoice data; a browser that opened
  the invoice's payer link gets in, and another organization's ids answer it 404.

The JSON API has its own generated tests (`tests/api/`); the Django admin and Django's internals
are left out. A new URL kwarg must be registered in `OBJECT_KWARGS` or `INSTANCE_KWARGS` below.
"""

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from plixo.core.models import Role
from plixo.core.permissions import ROLE_CAPABILITIES, Cap, role_can, sees_only_own_accounts
from plixo.ledger import services as ledger
from tests.imports.helpers import import_batch_with_rejects

ANONYMOUS = "anonymous"
ROLES = list(Role.values)

# Mounted elsewhere or not ours: the API (its own generated tests), the support admin (Django's
# own permission system) and static/media files.
SKIPPED_PREFIXES = ("admin/", "api/v1/", "static/", "media/")
INTERNAL_VIEW_MODULES = (
    "django.views.static",
    "django.contrib.staticfiles.views",
    "django.views.i18n",
    "django.views.debug",
)

# URL kwarg -> kind of organization-owned object whose public id fills it.
OBJECT_KWARGS = {
    "customer_id": "customer",
    "contact_id": "contact",
    "invoice_id": "invoice",
    "payment_id": "payment",
    "membership_id": "membership",
    "import_id": "import_batch",
    "attachment_id": "attachment",
    "checkout_id": "checkout",
    "receipt_id": "receipt",
    "message_id": "message",
    "cadence_id": "cadence",
    "rule_id": "segment_rule",
    "domain_id": "sending_domain",
    "event_id": "stripe_event",
    "approval_id": "approval",
    "route_id": "approval_route",
    "promise_id": "promise",
    "plan_id": "plan",
    "mention_id": "mention",
    "dispute_id": "dispute",
    "holiday_id": "dispute_holiday",
    "routing_rule_id": "dispute_routing_rule",
    "escalation_id": "escalation",
    "invitation_id": "invitation",
}
# Objects that belong to a customer, so Sales and CSMs see them only on accounts they own.
CUSTOMER_SCOPED = frozenset(
    {
        "customer",
        "contact",
        "invoice",
        "payment",
        "receipt",
        "attachment",
        "message",
        "promise",
        "mention",
        "dispute",
        "plan",
    }
)


def _registered_job_name() -> str:
    """A job from the registry, with its row in the Job table as the scheduler would make it."""
    from plixo.ops.jobs import JOBS
    from plixo.ops.services import jobs_sync

    jobs_sync()
    return sorted(JOBS)[0]


def _live_payer_token() -> str:
    """The token of a fresh, unopened payer link (on an invoice of its own organization)."""
    from plixo.core.services import organization_create
    from plixo.portal.services import portal_link_issue

    tag = uuid.uuid4().hex[:8]
    organization = organization_create(name=f"Payer link {tag}", slug=f"payer-{tag}")
    customer = ledger.customer_create(
        organization=organization, external_id=f"PL-{tag}", name="Payer Ltd", currency="USD"
    )
    ledger.contact_create(customer=customer, email=f"ap-{tag}@payer.example")
    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=organization,
        customer=customer,
        number=f"INV-PL-{tag}",
        issue_date=today,
        due_date=today,
        currency="USD",
        amount=Decimal("10.00"),
    )
    _, path = portal_link_issue(invoice=invoice)
    return path.removeprefix("/p/")


def _live_invitation_token() -> str:
    """The token of a fresh, pending invitation (to an organization of its own): the link
    names its invitation by itself, like a payer link."""
    from plixo.core.services import invitation_create, organization_create

    tag = uuid.uuid4().hex[:8]
    organization = organization_create(name=f"Invited {tag}", slug=f"invited-{tag}")
    _, token = invitation_create(
        organization=organization,
        email=f"invitee-{tag}@example.test",
        role=Role.AR_OPERATOR,
        actor=None,
    )
    return token


# URL kwarg -> value shared by every organization (jobs are instance-wide; a payer link's
# token names its invoice by itself, an invitation link's its invitation).
INSTANCE_KWARGS: dict[str, Callable[[], str]] = {
    "job_name": _registered_job_name,
    "token": _live_payer_token,
    "invite_token": _live_invitation_token,
    # Stripe's webhook URL names its organization (the personas' own); Stripe signs, no login.
    "org_slug": lambda: "acme",
}


# --- the routes ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, e.g. "invoices/<uuid:invoice_id>/"
    name: str | None  # "namespace:name" when named
    callback: Callable
    converters: dict
    is_route_pattern: bool

    @property
    def label(self) -> str:
        return self.name or self.route or "/"

    @property
    def kwargs(self) -> tuple[str, ...]:
        if self.is_route_pattern:
            return tuple(m["name"] for m in _PLACEHOLDER.finditer(self.route))
        return tuple(re.compile(self.route).groupindex)

    @property
    def access(self):
        return getattr(self.callback, "plixo_access", None)

    @property
    def object_kwargs(self) -> tuple[str, ...]:
        return tuple(k for k in self.kwargs if k in OBJECT_KWARGS)

    def allows(self, role: str) -> bool:
        """What the permission table says this role may do here."""
        if self.access == "public" or self.access == "member":
            return True
        if isinstance(self.access, Cap):
            return role_can(role, self.access)
        return False

    def url(self, values: dict[str, str]) -> str:
        if self.is_route_pattern:

            def fill(match: re.Match) -> str:
                converter = self.converters.get(match["name"])
                value = values[match["name"]]
                return converter.to_url(value) if converter else str(value)

            return "/" + _PLACEHOLDER.sub(fill, self.route)
        if not self.name:
            pytest.fail(f"Route {self.route!r} is a regex without a name: give it one.")
        return reverse(self.name, kwargs=values)


def _pattern_text(pattern) -> str:
    text = str(pattern)
    if not isinstance(pattern, RoutePattern):
        text = text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    return text


def _walk(patterns, prefix="", namespace=None, converters=None, regex=False) -> Iterator[Route]:
    converters = converters or {}
    for entry in patterns:
        text = prefix + _pattern_text(entry.pattern)
        entry_converters = {**converters, **getattr(entry.pattern, "converters", {})}
        entry_regex = regex or not isinstance(entry.pattern, RoutePattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, text, ns, entry_converters, entry_regex)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield Route(text, name, entry.callback, entry_converters, not entry_regex)


def _is_ours(route: Route) -> bool:
    if route.route.startswith(SKIPPED_PREFIXES):
        return False
    return not getattr(route.callback, "__module__", "").startswith(INTERNAL_VIEW_MODULES)


ALL_ROUTES = list(_walk(get_resolver().url_patterns))
ROUTES = [route for route in ALL_ROUTES if _is_ours(route)]


def _role_cases():
    for route in ROUTES:
        for role in [*ROLES, ANONYMOUS]:
            yield pytest.param(route, role, id=f"{route.label}-{role}")


def _foreign_cases():
    for route in ROUTES:
        for kwarg in route.object_kwargs:
            for role in ROLES:
                if route.allows(role):
                    yield pytest.param(route, kwarg, role, id=f"{route.label}-{kwarg}-{role}")


# --- the objects behind the ids --------------------------------------------------------------


def _objects(*, organization, owner, membership, tag: str) -> dict[str, str]:
    """One of each object kind in `organization`, its customer owned by `owner`; public ids."""
    customer = ledger.customer_create(
        organization=organization,
        external_id=f"ACC-{tag}",
        name=f"Access Test {tag} Ltd",
        owner=owner,
        currency="USD",
    )
    contact = ledger.contact_create(customer=customer, email=f"ap-{tag}@payer.example")
    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=organization,
        customer=customer,
        number=f"INV-{tag}",
        issue_date=today - dt.timedelta(days=45),
        due_date=today - dt.timedelta(days=15),
        currency="USD",
        amount=Decimal("1200.00"),
    )
    payment = ledger.payment_record(
        organization=organization,
        reference=f"PAY-{tag}",
        amount=Decimal("200.00"),
        currency="USD",
        allocations=[ledger.AllocationRequest(invoice=invoice, amount=Decimal("200.00"))],
    )
    return {
        "customer": str(customer.public_id),
        "contact": str(contact.public_id),
        "invoice": str(invoice.public_id),
        "payment": str(payment.public_id),
        "membership": str(membership.public_id),
        "invitation": _invitation_object(organization=organization, tag=tag),
        "import_batch": str(import_batch_with_rejects(organization).public_id),
        **_disputes_objects(customer=customer, tag=tag),
        **_payments_objects(invoice=invoice, tag=tag),
        **_comms_objects(invoice=invoice, contact=contact, tag=tag),
        **_approvals_objects(invoice=invoice, requester=membership.user),
        **_commitments_objects(invoice=invoice, tag=tag),
        **_notes_objects(invoice=invoice, author=membership.user),
        **_workspace_objects(invoice=invoice, membership=membership),
    }


def _invitation_object(*, organization, tag: str) -> str:
    """A pending invitation to `organization` (inviting the same address again replaces it)."""
    from plixo.core.services import invitation_create

    invitation, _ = invitation_create(
        organization=organization,
        email=f"invitee-{tag.lower()}@{organization.slug}.example",
        role=Role.AR_OPERATOR,
        actor=None,
    )
    return str(invitation.public_id)


def _workspace_objects(*, invoice, membership) -> dict[str, str]:
    """An escalation raised on `invoice`, open for the A/R Manager."""
    from plixo.workspace.models import Escalation

    escalation = Escalation.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        from_member=membership,
        reason="No answer to three reminders",
        status=Escalation.Status.OPEN,
    )
    return {"escalation": str(escalation.public_id)}


def _notes_objects(*, invoice, author) -> dict[str, str]:
    """A note on `invoice` mentioning a Legal member (who sees every account), added to the
    organization when it has none."""
    from plixo.core.models import Membership
    from plixo.notes.services import note_add
    from tests.factories import MembershipFactory, UserFactory

    organization = invoice.organization
    legal = Membership.objects.filter(organization=organization, role=Role.LEGAL).first()
    if legal is None:
        legal = MembershipFactory(
            organization=organization,
            role=Role.LEGAL,
            user=UserFactory(email=f"legal@{organization.slug}.example"),
        )
    handle = legal.user.email.split("@")[0]
    note = note_add(
        organization=organization, author=author, body=f"@{handle} please check", invoice=invoice
    )
    return {"mention": str(note.mentions.get().public_id)}


def _commitments_objects(*, invoice, tag: str) -> dict[str, str]:
    """An open promise and a payer's plan proposal on `invoice`."""
    from plixo.commitments.models import CommitmentSource
    from plixo.commitments.services import plan_propose, promise_create

    today = timezone.now().date()
    promise = promise_create(
        invoice=invoice, amount=Decimal("100.00"), promised_on=today + dt.timedelta(days=5)
    )
    plan = plan_propose(
        invoice=invoice,
        installments=[
            (today + dt.timedelta(days=3), Decimal("200.00")),
            (today + dt.timedelta(days=33), Decimal("200.00")),
        ],
        reason=f"Access {tag}",
        source=CommitmentSource.PORTAL,
        actor_label="Payer",
    )
    return {"promise": str(promise.public_id), "plan": str(plan.public_id)}


def _approvals_objects(*, invoice, requester) -> dict[str, str]:
    """A write-off waiting for approval (routed to Legal, so Legal and the Controller may
    decide it; asked by someone else than either) and a routing rule."""
    from plixo.approvals.limits import Guardrail
    from plixo.approvals.models import ApprovalRoute
    from plixo.approvals.services import approval_request_create

    approval = approval_request_create(
        organization=invoice.organization,
        kind="write_off",
        invoice=invoice,
        amount=Decimal("100.00"),
        currency="USD",
        rationale="Goodwill after a late delivery",
        requested_by=requester,
        guardrail=Guardrail(
            message="Write-off of $100.00 exceeds your $0.00 limit — Legal approval required",
            route_to="legal",
            amount_in_base=Decimal("100.00"),
        ),
        params={"amount": "100.00", "reason": "Goodwill after a late delivery"},
    )
    route = ApprovalRoute.objects.create(
        organization=invoice.organization,
        kind="plan",
        amount_above=Decimal("50000"),
        route_to="legal",
    )
    return {"approval": str(approval.public_id), "approval_route": str(route.public_id)}


def _comms_objects(*, invoice, contact, tag: str) -> dict[str, str]:
    """A draft email about `invoice`, a cadence with a segment rule, and the sending domain of
    the organization's sender address."""
    from plixo.comms.models import Message
    from plixo.comms.services import StepSpec, cadence_create, segment_rule_create
    from plixo.comms.services.settings import sending_domain_ensure

    organization = invoice.organization
    purpose = f"manual:access-{tag}"
    message = Message.objects.create(
        organization=organization,
        invoice=invoice,
        contact=contact,
        kind=Message.Kind.MANUAL,
        purpose=purpose,
        idempotency_key=f"{organization.pk}:{invoice.pk}:{purpose}",
        subject="Invoice {invoice_number} is due",
        body="Please pay {amount_due}: {pay_link}",
    )
    cadence = cadence_create(
        organization=organization,
        name=f"Access {tag}",
        steps=[StepSpec(3, "Invoice {invoice_number}", "Please pay {amount_due}: {pay_link}")],
    )
    rule = segment_rule_create(organization=organization, cadence=cadence, name=f"Rule {tag}")
    domain = sending_domain_ensure(organization=organization)
    return {
        "message": str(message.public_id),
        "cadence": str(cadence.public_id),
        "segment_rule": str(rule.public_id),
        "sending_domain": str(domain.public_id),
    }


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    """The sending-domain check route answers without asking any DNS server."""
    from plixo.comms import deliverability

    monkeypatch.setattr(
        deliverability, "sending_domain_check", lambda *, domain, resolver=None: domain
    )


def _payments_objects(*, invoice, tag: str) -> dict[str, str]:
    """A receipt (from a completed sandbox checkout) and an open checkout on `invoice`."""
    from plixo.payments import services as payments
    from plixo.payments.models import StripeEvent, StripeEventStatus

    paid = payments.checkout_create(invoice=invoice, amount=Decimal("100.00"))
    payment = payments.checkout_complete(
        checkout=paid, provider_ref=f"sbx_pi_{tag}", amount=Decimal("100.00"), currency="USD"
    )
    checkout = payments.checkout_create(invoice=invoice, amount=Decimal("50.00"))
    event = StripeEvent.objects.create(
        organization=invoice.organization,
        event_id=f"evt_access_{tag}_{invoice.organization.slug}",
        type="checkout.session.completed",
        payload={},
        stripe_created=timezone.now(),
        received_at=timezone.now(),
        status=StripeEventStatus.REVIEW,
        invoice=invoice,
    )
    return {
        "checkout": str(checkout.public_id),
        "receipt": str(payment.receipt.public_id),
        "stripe_event": event.event_id,
    }


def _disputes_objects(*, customer, tag: str) -> dict[str, str]:
    """A dispute with one attachment, on an invoice of its own so the shared invoice stays open."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from plixo.disputes.services import dispute_file

    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=customer.organization,
        customer=customer,
        number=f"INV-{tag}-DISPUTED",
        issue_date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
        currency="USD",
        amount=Decimal("300.00"),
    )
    dispute = dispute_file(
        invoice=invoice,
        reason_code="pricing",
        amount=Decimal("50.00"),
        description="Unit price differs from the contract.",
        attachments=[SimpleUploadedFile("evidence.pdf", b"%PDF-1.4\n%%EOF\n")],
    )
    from plixo.disputes.configuration import holiday_add, routing_rule_add
    from plixo.disputes.models import DisputeHoliday

    taken = DisputeHoliday.objects.filter(organization=customer.organization).count()
    holiday = holiday_add(
        organization=customer.organization,
        day=today + dt.timedelta(days=30 + taken),
        name=f"Holiday {tag}",
        actor=None,
    )
    rule = routing_rule_add(
        organization=customer.organization, route_to="legal", reason_code="quality", actor=None
    )
    return {
        "attachment": str(dispute.attachments.get().public_id),
        "dispute": str(dispute.public_id),
        "dispute_holiday": str(holiday.public_id),
        "dispute_routing_rule": str(rule.public_id),
    }


def _kwarg_values(route: Route, objects: dict[str, str]) -> dict[str, str]:
    values = {}
    for kwarg in route.kwargs:
        if kwarg in OBJECT_KWARGS:
            values[kwarg] = objects[OBJECT_KWARGS[kwarg]]
        elif kwarg in INSTANCE_KWARGS:
            values[kwarg] = INSTANCE_KWARGS[kwarg]()
        else:
            pytest.fail(
                f"Route {route.label} takes a URL kwarg {kwarg!r} that the generated access "
                "tests do not know: register it in OBJECT_KWARGS or INSTANCE_KWARGS in "
                "tests/core/test_access_generated.py."
            )
    return values


def _owner_for(personas, role: str):
    """Sales and CSMs must own the account to see it; anyone else reads every account."""
    if role in ROLES and sees_only_own_accounts(role):
        return personas.members[role].user
    return personas.members[Role.SALES].user


def _url_for(route: Route, objects: dict[str, str]) -> str:
    url = route.url(_kwarg_values(route, objects))
    match = resolve(urlsplit(url).path)
    assert match.func is route.callback, (
        f"{url} resolves to {match.view_name}, not to {route.label}: the generated test would "
        "check the wrong view. Make the routes unambiguous."
    )
    return url


def _ask(client, url: str, method: str):
    return client.get(url) if method == "GET" else client.post(url, {})


def _reach(client, url: str):
    """GET, and POST with empty data when the view takes only POST."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


def _is_login_redirect(response) -> bool:
    if response.status_code != 302:
        return False
    return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


# --- R7 ----------------------------------------------------------------------------------------


def test_the_walk_finds_the_web_routes():
    names = {route.name for route in ROUTES}
    assert "login" in names, f"The URL walk found no login route; found: {sorted(map(str, names))}"
    assert ROUTES, "The URL walk found no routes at all."


def test_every_url_kwarg_is_registered():
    unknown = {
        f"{route.label}: {kwarg}"
        for route in ROUTES
        for kwarg in route.kwargs
        if kwarg not in OBJECT_KWARGS and kwarg not in INSTANCE_KWARGS
    }
    assert not unknown, (
        "URL kwargs without a test object; register them in OBJECT_KWARGS or INSTANCE_KWARGS in "
        f"tests/core/test_access_generated.py: {sorted(unknown)}"
    )


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_route_declares_its_access(route):
    assert route.access is not None, (
        f"The view behind {route.label} ({route.route!r}) declares no access: put "
        "@requires(Cap.X), @member_required or @public (from plixo.core.access) outermost on it."
    )
    assert route.access in ("public", "member", "portal") or isinstance(route.access, Cap)
    if isinstance(route.access, Cap):
        assert route.callback.required_capability == route.access


@pytest.mark.parametrize(("route", "role"), list(_role_cases()))
def test_route_answers_as_the_permission_table_says(personas, route, role):
    if route.access is None:
        pytest.fail(f"{route.label} declares no access (see test_route_declares_its_access).")
    objects = _objects(
        organization=personas.org,
        owner=_owner_for(personas, role),
        membership=personas.operator,
        tag="OWN",
    )
    if route.access == "portal":
        _assert_payer_route(personas, route, role, objects)
        return
    url = _url_for(route, objects)

    if role == ANONYMOUS:
        client = Client()
        if route.access == "public":
            response = _reach(client, url)
            assert response.status_code not in (403, 404, 405, 500), (
                f"anonymous {response.request['REQUEST_METHOD']} {url} -> "
                f"{response.status_code}, but the view is public"
            )
        else:
            for method in ("GET", "POST"):
                response = _ask(client, url, method)
                assert _is_login_redirect(response), (
                    f"anonymous {method} {url} -> {response.status_code}, expected a redirect "
                    "to the login page"
                )
        return

    client = personas.client_for(role)
    if not route.allows(role):
        # The access decorator is outermost, so the answer is 403 whatever the method.
        for method in ("GET", "POST"):
            response = _ask(client, url, method)
            assert response.status_code == 403, (
                f"{role} {method} {url} -> {response.status_code}; the table says {role} lacks "
                f"{route.access}, so 403"
            )
        return

    response = _reach(client, url)
    assert response.status_code not in (403, 404, 405, 500), (
        f"{role} {response.request['REQUEST_METHOD']} {url} -> {response.status_code}; the "
        f"table lets {role} through ({route.access})"
    )

    scoped = [k for k in route.object_kwargs if OBJECT_KWARGS[k] in CUSTOMER_SCOPED]
    if scoped and sees_only_own_accounts(role):
        # The same objects on an account someone else owns: not found, by any method.
        someone_else = next(
            m.user for r, m in personas.members.items() if r != role and sees_only_own_accounts(r)
        )
        others = _objects(
            organization=personas.org,
            owner=someone_else,
            membership=personas.operator,
            tag="OTHER",
        )
        _assert_not_found(client, route, role, own=objects, foreign=others, kwargs=scoped)


# --- payer routes --------------------------------------------------------------------------------


def _open_payer_link(client, invoice_public_id: str) -> str:
    """`client` follows a fresh payer link for the invoice and clicks Open, as a payer does;
    returns the portal session's public id."""
    from plixo.ledger.models import Invoice
    from plixo.portal.services import portal_link_issue

    _, path = portal_link_issue(invoice=Invoice.objects.get(public_id=invoice_public_id))
    response = client.post(path)
    assert response.status_code == 302, f"opening the payer link answered {response.status_code}"
    return client.session["portal_session"]


def _portal_session_objects(route: Route, objects: dict[str, str], session_ref: str) -> dict:
    """Objects that belong to a portal session rather than to an organization, made for it."""
    objects = dict(objects)
    if "checkout_id" in route.kwargs:
        from plixo.ledger.models import Invoice
        from plixo.payments.services import checkout_create

        checkout = checkout_create(
            invoice=Invoice.objects.get(public_id=objects["invoice"]),
            amount=Decimal("10.00"),
            portal_session_ref=session_ref,
        )
        objects["checkout"] = str(checkout.public_id)
    return objects


def _assert_payer_route(personas, route: Route, role: str, objects: dict[str, str]) -> None:
    cache.clear()  # the portal's per-IP rate-limit counters
    client = Client() if role == ANONYMOUS else personas.client_for(role)
    url = _url_for(route, objects)
    for method in ("GET", "POST"):
        response = _ask(client, url, method)
        assert response.status_code == 403, (
            f"{role} {method} {url} without a portal session -> {response.status_code}, "
            "expected the 403 'open your link' page"
        )
        assert "INV-OWN" not in response.content.decode(), f"{url} leaks invoice data"

    session_ref = _open_payer_link(client, objects["invoice"])
    own = _portal_session_objects(route, objects, session_ref)
    response = _reach(client, _url_for(route, own))
    assert response.status_code not in (403, 404, 405, 500), (
        f"{role} {response.request['REQUEST_METHOD']} {url} with a portal session for the "
        f"invoice -> {response.status_code}"
    )
    if route.object_kwargs and role == ANONYMOUS:
        foreign = _objects(
            organization=personas.other_org,
            owner=personas.outsider.user,
            membership=personas.outsider,
            tag="GLOBEX",
        )
        _assert_not_found(
            client, route, "payer", own=own, foreign=foreign, kwargs=route.object_kwargs
        )


# --- R6 ----------------------------------------------------------------------------------------


def _assert_not_found(client, route, role, *, own, foreign, kwargs):
    """Each of `kwargs` swapped alone to the `foreign` object answers 404 for every method the
    view takes (a method it does not take stays 405, which reveals nothing)."""
    for kwarg in kwargs:
        mixed = dict(own)
        mixed[OBJECT_KWARGS[kwarg]] = foreign[OBJECT_KWARGS[kwarg]]
        url = route.url(_kwarg_values(route, mixed))
        found_404 = False
        for method in ("GET", "POST"):
            answer = _ask(client, url, method).status_code
            if answer == 405 and _ask(client, _url_for(route, own), method).status_code == 405:
                continue
            assert answer == 404, (
                f"{role} {method} {url} with {kwarg} of an object it may not see -> {answer}, "
                "expected 404"
            )
            found_404 = True
        assert found_404, f"{route.label} answered 405 to both GET and POST"


@pytest.mark.parametrize(("route", "kwarg", "role"), list(_foreign_cases()))
def test_another_organizations_ids_answer_404(personas, route, kwarg, role):
    owner = _owner_for(personas, role)
    own = _objects(organization=personas.org, owner=owner, membership=personas.operator, tag="ACME")
    # Owned by the same user, so only the organization scope can hide it.
    foreign = _objects(
        organization=personas.other_org, owner=owner, membership=personas.outsider, tag="GLOBEX"
    )
    client = personas.client_for(role)
    _assert_not_found(client, route, role, own=own, foreign=foreign, kwargs=[kwarg])


# --- ids in URLs ---------------------------------------------------------------------------


def test_no_route_uses_a_sequential_id():
    offenders = []
    for route in ALL_ROUTES:
        for name, converter in route.converters.items():
            if isinstance(converter, IntConverter):
                offenders.append(f"{route.label}: <int:{name}>")
        if not route.is_route_pattern:
            offenders.extend(
                f"{route.label}: {group}"
                for group in re.findall(r"\(\?P<(\w+)>\\d\+\)", route.route)
            )
    assert not offenders, f"Routes with sequential ids (use the uuid converter): {offenders}"


def test_every_role_in_the_table_is_a_real_role():
    assert set(ROLE_CAPABILITIES) == set(ROLES)


# --- the permission table in the docs ---------------------------------------------------------

ROLES_DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
TABLE_START, TABLE_END = "<!-- permission-table:start -->", "<!-- permission-table:end -->"


def render_permission_table() -> str:
    """`docs/roles.md`'s table, rendered from `ROLE_CAPABILITIES`."""
    header = "| capability | " + " | ".join(Role(role).label for role in ROLES) + " |"
    rule = "|---|" + "|".join(":-:" for _ in ROLES) + "|"
    rows = [
        f"| `{cap.value}` | "
        + " | ".join("✓" if role_can(role, cap) else "—" for role in ROLES)
        + " |"
        for cap in Cap
    ]
    own = ", ".join(Role(role).label for role in ROLES if sees_only_own_accounts(role))
    note = f"Own accounts only (customers they are the owner of): {own}."
    return "\n".join([header, rule, *rows, "", note])


def test_the_roles_doc_shows_the_permission_table():
    text = ROLES_DOC.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    assert text[start:end].strip() == render_permission_table(), (
        "docs/roles.md no longer matches plixo/core/permissions.py; replace the table between "
        f"the markers with:\n\n{render_permission_table()}\n"
    )
    undocumented = [cap.value for cap in Cap if f"`{cap.value}`" not in text[end:]]
    assert not undocumented, f"docs/roles.md does not explain: {undocumented}"
