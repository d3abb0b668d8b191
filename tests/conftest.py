"""Shared fixtures: an organization with one member per role, and an outsider elsewhere."""

import os
from dataclasses import dataclass

import pytest
from django.test import Client, override_settings

from plixo.core.models import Membership, Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

PASSWORD = "plixo-test-password"


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` (real row-lock races) select themselves only when the suite runs on
    PostgreSQL, which `.ci/run`'s second pass does; there they must find PostgreSQL or fail."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass
class Personas:
    org: Organization
    other_org: Organization
    members: dict[str, Membership]  # role value -> membership in `org`
    outsider: Membership  # a controller of `other_org`, no membership in `org`

    def client_for(self, role: str) -> Client:
        client = Client()
        client.force_login(self.members[role].user)
        return client

    @property
    def controller(self) -> Membership:
        return self.members[Role.CONTROLLER]

    @property
    def operator(self) -> Membership:
        return self.members[Role.AR_OPERATOR]


@pytest.fixture(autouse=True, scope="session")
def _private_media_root(tmp_path_factory):
    """Uploaded files (dispute evidence) go to a throw-away folder, never the data dir."""
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("private-media"))):
        yield


@pytest.fixture(autouse=True)
def _customer_balances_hold(request):
    """After every test that touched the database, each customer's cached open balance equals
    its open invoices: whatever path the test took (services, imports, webhooks, seeding) must
    have moved the cache with the invoices. A test that forces an invoice into a state with a
    raw UPDATE marks itself `raw_invoice_writes`."""
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and not uses_db:
        uses_db = {"transactional_db" if marker.kwargs.get("transaction") else "db"}
    if not uses_db or request.node.get_closest_marker("raw_invoice_writes"):
        yield
        return
    request.getfixturevalue(sorted(uses_db)[-1])
    yield
    from django.db import connection

    if connection.closed_in_transaction:
        return  # a command's run_from_argv closed the connection; the test's data is gone
    from plixo.ledger.services.balances import customer_balances_differences

    problems = {
        org.slug: found
        for org in Organization.objects.all()
        if (found := customer_balances_differences(organization=org))
    }
    assert not problems, f"customer balances out of step with the invoices: {problems}"


@pytest.fixture
def personas(db) -> Personas:
    org = OrganizationFactory(name="Acme Widgets", slug="acme")
    other = OrganizationFactory(name="Globex", slug="globex")
    members = {
        role: MembershipFactory(
            organization=org,
            role=role,
            user=UserFactory(email=f"{role}@acme.example"),
        )
        for role in Role.values
    }
    outsider = MembershipFactory(
        organization=other,
        role=Role.CONTROLLER,
        user=UserFactory(email="controller@globex.example"),
    )
    return Personas(org=org, other_org=other, members=members, outsider=outsider)


@pytest.fixture
def org(personas) -> Organization:
    return personas.org


@pytest.fixture
def controller_client(personas) -> Client:
    return personas.client_for(Role.CONTROLLER)


@pytest.fixture
def operator_client(personas) -> Client:
    return personas.client_for(Role.AR_OPERATOR)
