"""Template helpers: money in the organization's locale, timeline wording, durations."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.test import Client

from plixo.core.models import Role
from plixo.core.templatetags.plixo import (
    audit_changes,
    describe_event,
    duration_words,
    money_locale_activate,
    money_text,
)
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _reset_locale():
    money_locale_activate(None)
    yield
    money_locale_activate(None)


def test_money_filter_formats_by_currency_digits():
    template = Template(
        "{% load plixo %}{{ a|money:'USD' }}|{{ b|money:'JPY' }}|{{ c|money:'KWD' }}"
    )

    text = template.render(Context({"a": Decimal("1234.5"), "b": Decimal("5000"), "c": "1.2345"}))

    assert text == "$1,234.50|¥5,000|KWD1.235"


def test_money_filter_never_raises():
    assert money_text(None, "USD") == ""
    assert money_text("abc", "USD") == "abc"
    assert money_text(Decimal("5"), "ZZZ") == "5 ZZZ"
    assert money_text(Decimal("5"), "USD", locale="xx_NOPE") == "$5.00"


def test_money_filter_uses_the_active_locale():
    money_locale_activate("de_DE")

    assert money_text(Decimal("2500.5"), "EUR").replace("\xa0", " ") == "2.500,50 €"


@pytest.mark.django_db
def test_pages_format_money_in_the_organizations_locale():
    org = OrganizationFactory(slug="berlin", name="Berlin GmbH", locale="de_DE")
    member = MembershipFactory(
        organization=org, role=Role.CONTROLLER, user=UserFactory(email="c@berlin.example")
    )
    InvoiceFactory(
        customer=CustomerFactory(organization=org), currency="EUR", amount=Decimal("2500.50")
    )
    client = Client()
    client.force_login(member.user)

    body = client.get("/invoices/").content.decode().replace("\xa0", " ")

    assert "2.500,50 €" in body


def _event(kind, data, label=None):
    return SimpleNamespace(kind=kind, data=data, kind_label=label or kind.capitalize())


INVOICE = SimpleNamespace(currency="USD")


def test_created_event_reads_as_a_sentence():
    entry = describe_event(
        _event("created", {"amount": "99.5", "currency": "USD", "due_date": "2030-02-01"}), INVOICE
    )

    assert entry.summary == "Amount $99.50, due Feb 1, 2030."


def test_updated_event_lists_each_change():
    entry = describe_event(
        _event(
            "updated",
            {
                "changes": {
                    "amount": {"from": "100.00", "to": "150.00"},
                    "due_date": {"from": "2030-01-01", "to": "2030-01-15"},
                }
            },
        ),
        INVOICE,
    )

    assert entry.summary == "2 fields changed."
    assert ("Amount", "$100.00 → $150.00") in entry.details
    assert ("Due date", "Jan 1, 2030 → Jan 15, 2030") in entry.details


def test_write_off_and_void_events():
    written = describe_event(
        _event(
            "written_off",
            {
                "amount": "20",
                "reason": "Goodwill",
                "balance": "80",
                "from": "open",
                "to": "partially_paid",
            },
        ),
        INVOICE,
    )
    voided = describe_event(
        _event("voided", {"reason": "Duplicate", "balance": "100", "from": "open"}), INVOICE
    )

    assert written.summary == "$20.00 written off."
    assert ("Status", "Open → Partially paid") in written.details
    assert voided.summary == "Reason: Duplicate"
    assert ("Balance cancelled", "$100.00") in voided.details


def test_unknown_event_kinds_are_rendered_from_their_data():
    entry = describe_event(
        _event("dispute_opened", {"reason_code": "damaged", "amount": "40"}, "Dispute opened"),
        INVOICE,
    )

    assert entry.title == "Dispute opened"
    assert ("Reason code", "damaged") in entry.details
    assert ("Amount", "$40.00") in entry.details


def test_audit_changes_name_roles_and_format_limits():
    event = SimpleNamespace(
        before={"role": "ar_operator", "approval_limit": "10000"},
        after={"role": "ar_manager", "approval_limit": "50000.00"},
    )

    changes = audit_changes(event, "USD")

    assert [(c.label, c.before, c.after) for c in changes] == [
        ("Approval limit", "$10,000.00", "$50,000.00"),
        ("Role", "A/R Operator", "A/R Manager"),
    ]


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (dt.timedelta(minutes=30), "30 minutes"),
        (dt.timedelta(hours=1), "1 hour"),
        (dt.timedelta(days=2), "2 days"),
        (dt.timedelta(seconds=45), "45 seconds"),
        ("nonsense", ""),
    ],
)
def test_duration_words(delta, words):
    assert duration_words(delta) == words


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Northwind Supply Co.", "Northwind Supply Co."), ("Acme", "Acme."), ("Yes!", "Yes!")],
)
def test_a_name_ending_a_sentence_gets_one_full_stop(name, shown):
    from plixo.core.templatetags.plixo import sentence

    assert sentence(name) == shown


def test_the_team_page_never_doubles_the_full_stop(personas):
    personas.org.name = "Northwind Supply Co."
    personas.org.save()

    body = personas.client_for(Role.CONTROLLER).get("/team/").content.decode()

    assert "Northwind Supply Co.." not in body and "Northwind Supply Co." in body
