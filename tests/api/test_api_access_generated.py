"""Generated access tests for the API (R6, R7).

Nothing here is hand-picked: the operations come from `api_operations()` (every route mounted
on the API), the expectations from the one permission table (`role_can`). A new route is
covered the moment it is mounted; a route that forgets `api_requires`, or checks the wrong
capability, or looks objects up without scoping them to the key's organization, fails here.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from plixo.api.routes import ApiOperation, api_operations
from plixo.core.models import Role
from plixo.core.permissions import Cap, role_can, sees_only_own_accounts
from tests.api.conftest import Ledger, client_for_membership, make_ledger
from tests.factories import MembershipFactory, UserFactory
from tests.imports.helpers import import_batch_with_rejects

OPERATIONS = list(api_operations())
OPERATION_IDS = [f"{op.method} {op.path}" for op in OPERATIONS]
WITH_IDS = [op for op in OPERATIONS if op.path_params]

# Path parameter name -> the Ledger attribute whose public id fills it. A route with a path
# parameter that is not listed here fails `test_every_path_parameter_is_known`: add it (and
# an object of that kind to `tests.api.conftest.Ledger`).
OBJECT_FOR_PARAM = {
    "customer_id": "customer",
    "contact_id": "contact",
    "invoice_id": "invoice",
    "payment_id": "payment",
    "import_id": "import_batch",
    "cadence_id": "cadence",
    "message_id": "message",
    "approval_id": "approval",
    "promise_id": "promise",
    "plan_id": "plan",
    "mention_id": "mention",
    "dispute_id": "dispute",
    "member_id": "member",
    "invitation_id": "invitation",
}

# A body for operations with ids in the path whose input has required fields, so that the
# request reaches the object lookup (ninja validates input before the view runs).
SAMPLE_BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/contacts/{contact_id}/suppress"): {"kind": "vacation"},
    ("POST", "/api/v1/invoices/{invoice_id}/write-off"): {"reason": "Bank fee", "amount": "1.00"},
    ("POST", "/api/v1/plans/{plan_id}/decline"): {"note": "Too long"},
    ("POST", "/api/v1/disputes/{dispute_id}/route"): {"team": "legal"},
    ("POST", "/api/v1/disputes/{dispute_id}/resolve"): {
        "outcome": "reject",
        "note": "Price stands",
    },
    ("POST", "/api/v1/plans/{plan_id}/cancel"): {"note": "Paid in full instead"},
    ("POST", "/api/v1/plans/{plan_id}/pay"): {"reference": "CHK-1"},
    ("PATCH", "/api/v1/members/{member_id}"): {"role": "ar_manager", "reason": "Access test"},
    ("POST", "/api/v1/members/{member_id}/temporary-role"): {
        "role": "ar_manager",
        "expires_at": (timezone.now() + dt.timedelta(days=7)).isoformat(),
        "reason": "Access test",
    },
    ("POST", "/api/v1/plans/{plan_id}/counter"): {
        "installments": [
            {"due_on": "2099-01-01", "amount": "1.00"},
            {"due_on": "2099-02-01", "amount": "1.00"},
        ]
    },
}


def ids_for(op: ApiOperation, ledger: Ledger) -> dict:
    ids = {}
    for param in op.path_params:
        if param not in OBJECT_FOR_PARAM:
            pytest.fail(
                f"{op.method} {op.path}: no object is known for path parameter {param!r}; "
                "add it to OBJECT_FOR_PARAM in tests/api/test_api_access_generated.py."
            )
        ids[param] = getattr(ledger, OBJECT_FOR_PARAM[param]).public_id
    return ids


def call(client, op: ApiOperation, ledger: Ledger):
    body = SAMPLE_BODIES.get((op.method, op.path), {})
    return client.request(op.method, op.url(**ids_for(op, ledger)), body)


@pytest.fixture
def world(personas):
    """Acme objects owned by the Sales member, acme objects owned by the CSM, and globex's."""
    sales = personas.members[Role.SALES].user
    csm = personas.members[Role.CSM].user
    world = {
        Role.SALES: make_ledger(personas.org, owner=sales, tag="SALES"),
        Role.CSM: make_ledger(personas.org, owner=csm, tag="CSM"),
        "globex": make_ledger(personas.other_org, tag="GLOBEX"),
    }
    # Imports belong to the organization, not to an account: one per organization will do.
    acme_import = import_batch_with_rejects(personas.org)
    world[Role.SALES].import_batch = world[Role.CSM].import_batch = acme_import
    world["globex"].import_batch = import_batch_with_rejects(personas.other_org)
    # A write-off waiting for Legal's approval on each world's invoice, asked by an operator
    # (so that the Controller and Legal may decide it).
    globex_operator = MembershipFactory(
        organization=personas.other_org,
        role=Role.AR_OPERATOR,
        user=UserFactory(email="operator@globex.example"),
    )
    # Members and invitations belong to the organization: an operator and a pending
    # invitation in each.
    acme_invitation = _invitation(personas.org)
    world[Role.SALES].member = world[Role.CSM].member = personas.operator
    world[Role.SALES].invitation = world[Role.CSM].invitation = acme_invitation
    world["globex"].invitation = _invitation(personas.other_org)
    for key, requester in (
        (Role.SALES, personas.operator),
        (Role.CSM, personas.operator),
        ("globex", globex_operator),
    ):
        world[key].approval = _waiting_write_off(world[key].invoice, requester.user)
        world[key].promise, world[key].plan = _commitments(world[key].invoice)
        world[key].dispute = _dispute(world[key].customer)
        world[key].mention = _mention(
            world[key].invoice,
            author=personas.outsider.user if key == "globex" else requester.user,
            handle="operator" if key == "globex" else "legal",
        )
    world["globex"].member = globex_operator
    return world


def _invitation(organization):
    from plixo.core.services import invitation_create

    invitation, _ = invitation_create(
        organization=organization,
        email=f"invitee@{organization.slug}.example",
        role=Role.AR_OPERATOR,
        actor=None,
    )
    return invitation


def _dispute(customer):
    from plixo.disputes.services import dispute_file
    from tests.factories import InvoiceFactory

    invoice = InvoiceFactory(customer=customer, amount=Decimal("400.00"))
    return dispute_file(
        invoice=invoice, reason_code="pricing", amount=Decimal("40.00"), description="Price"
    )


def _mention(invoice, *, author, handle):
    from plixo.notes.services import note_add

    note = note_add(
        organization=invoice.organization, author=author, body=f"@{handle} look", invoice=invoice
    )
    return note.mentions.get()


def _commitments(invoice):
    """An open promise and a payer's plan proposal on the invoice."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from plixo.commitments.models import CommitmentSource
    from plixo.commitments.services import plan_propose, promise_create

    today = timezone.now().date()
    promise = promise_create(
        invoice=invoice, amount=Decimal("5.00"), promised_on=today + dt.timedelta(days=5)
    )
    plan = plan_propose(
        invoice=invoice,
        installments=[
            (today + dt.timedelta(days=3), Decimal("5.00")),
            (today + dt.timedelta(days=33), Decimal("5.00")),
        ],
        reason="Cash flow",
        source=CommitmentSource.PORTAL,
        actor_label="Payer",
    )
    return promise, plan


def _waiting_write_off(invoice, requester):
    from decimal import Decimal

    from plixo.approvals.limits import Guardrail
    from plixo.approvals.services import approval_request_create

    return approval_request_create(
        organization=invoice.organization,
        kind="write_off",
        invoice=invoice,
        amount=Decimal("10.00"),
        currency=invoice.currency,
        rationale="Goodwill",
        requested_by=requester,
        guardrail=Guardrail(
            message="Write-off of $10.00 exceeds your $0.00 limit — Legal approval required",
            route_to="legal",
            amount_in_base=Decimal("10.00"),
        ),
        params={"amount": "10.00", "reason": "Goodwill"},
    )


def visible_ledger(world, role: str) -> Ledger:
    """Objects the role may see: Sales and CSMs their own accounts, everyone else any."""
    return world[role] if sees_only_own_accounts(role) else world[Role.SALES]


def test_the_api_has_operations_to_test():
    assert len(OPERATIONS) >= 16
    assert WITH_IDS
    method, path, view_func, capability = OPERATIONS[0]
    assert (method, path, view_func, capability) == (
        OPERATIONS[0].method,
        OPERATIONS[0].path,
        OPERATIONS[0].view_func,
        OPERATIONS[0].capability,
    )


@pytest.mark.parametrize("op", OPERATIONS, ids=OPERATION_IDS)
def test_every_operation_declares_a_capability(op):
    assert isinstance(op.capability, Cap), (
        f"{op.method} {op.path} ({op.view_func.__name__}) has no @api_requires(Cap.…)."
    )


# Capabilities that only let a role read. The R7 test trusts the capability a route declares;
# this catches the likeliest wrong declaration, a write guarded by a read capability.
READ_CAPABILITIES = {Cap.LEDGER_VIEW, Cap.OPS_VIEW, Cap.TEAM_VIEW}


@pytest.mark.parametrize("op", OPERATIONS, ids=OPERATION_IDS)
def test_writes_are_not_guarded_by_a_read_capability(op):
    if op.method not in ("GET", "HEAD", "OPTIONS"):
        assert op.capability not in READ_CAPABILITIES, (
            f"{op.method} {op.path} changes data but only requires {op.capability}."
        )


@pytest.mark.parametrize("op", OPERATIONS, ids=OPERATION_IDS)
def test_every_path_parameter_is_known(op):
    unknown = [param for param in op.path_params if param not in OBJECT_FOR_PARAM]
    assert not unknown, (
        f"{op.method} {op.path}: add {unknown} to OBJECT_FOR_PARAM so the R6 test covers it."
    )


# --- R7: every operation x every role answers as the permission table says -----------------


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("op", OPERATIONS, ids=OPERATION_IDS)
def test_operation_answers_as_the_permission_table_says(personas, world, op, role):
    assert op.capability is not None, f"{op.method} {op.path} declares no capability"
    client = client_for_membership(personas.members[role])

    response = call(client, op, visible_ledger(world, role))

    if role_can(role, op.capability):
        assert response.status_code not in (401, 403, 404), (
            f"{role} may {op.capability} but {op.method} {op.path} answered "
            f"{response.status_code}: {response.content[:300]!r}"
        )
        assert response.status_code < 500, response.content[:300]
        if op.method == "GET":
            assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code == 403, (
            f"{role} may not {op.capability} but {op.method} {op.path} answered "
            f"{response.status_code}"
        )
        body = response.json()
        assert "does not allow" in body["detail"]
        assert body["request_id"] == response.headers["X-Request-ID"]


# --- R6: another organization's ids answer 404 ---------------------------------------------


@pytest.mark.parametrize("op", WITH_IDS, ids=[f"{op.method} {op.path}" for op in WITH_IDS])
def test_other_organizations_ids_answer_404(personas, world, op):
    acme_controller = client_for_membership(personas.controller)
    globex_controller = client_for_membership(personas.outsider)

    # The control: with its own organization's ids the route finds the objects …
    own = call(acme_controller, op, world[Role.SALES])
    assert own.status_code not in (404, 422), (
        f"{op.method} {op.path} does not reach its objects with valid ids "
        f"({own.status_code}: {own.content[:300]!r}); add a body to SAMPLE_BODIES."
    )
    assert call(globex_controller, op, world["globex"]).status_code == own.status_code

    # … and with the other organization's ids, in either direction, it finds nothing.
    for client, ledger in (
        (globex_controller, world[Role.SALES]),
        (acme_controller, world["globex"]),
    ):
        response = call(client, op, ledger)
        assert response.status_code == 404, (
            f"{op.method} {op.path} with another organization's ids answered "
            f"{response.status_code}: {response.content[:300]!r}"
        )
        assert response.json()["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("op", WITH_IDS, ids=[f"{op.method} {op.path}" for op in WITH_IDS])
def test_own_accounts_roles_get_404_for_other_owners_objects(personas, world, op):
    for role in (Role.SALES, Role.CSM):
        if not role_can(role, op.capability):
            continue  # 403 comes first; the R7 test covers it
        other_owner = Role.CSM if role == Role.SALES else Role.SALES
        client = client_for_membership(personas.members[role])
        assert call(client, op, world[role]).status_code != 404
        assert call(client, op, world[other_owner]).status_code == 404


@pytest.mark.parametrize("op", WITH_IDS, ids=[f"{op.method} {op.path}" for op in WITH_IDS])
def test_malformed_ids_answer_404(personas, op):
    client = client_for_membership(personas.controller)
    for bad in ("not-a-uuid", "1", "00000000-0000-0000-0000-000000000000"):
        url = op.url(**dict.fromkeys(op.path_params, bad))
        response = client.request(op.method, url, SAMPLE_BODIES.get((op.method, op.path), {}))
        assert response.status_code == 404, (url, response.status_code)
