"""Merge fields: unknown or decorated fields are errors that name them, `{{` is a literal brace,
amounts follow the invoice currency and the organization's locale, and a sent email never
shows a literal `{…}` from a field."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail

from plixo.comms.merge import MERGE_FIELDS, MergeContext, MergeFieldError, render, template_check
from plixo.comms.services import outbox_send
from tests.comms.outbox_helpers import approved


def _context(**changes) -> MergeContext:
    values = {
        "invoice_number": "INV-0042",
        "amount_due": Decimal("1234.50"),
        "currency": "USD",
        "due_date": dt.date(2026, 3, 1),
        "customer_name": "Initech",
        "contact_name": "Peter",
        "days_overdue": 2,
        "sender_name": "Acme AR",
        "pay_link": "https://pay.example/p/abc",
        "locale": "en_US",
    }
    return MergeContext(**{**values, **changes})


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Pay {amout_due} now", "{amout_due}"),
        ("Hello {contact}", "{contact}"),
        ("Invoice {Invoice_Number}", "{Invoice_Number}"),
    ],
)
def test_an_unknown_or_misspelt_field_is_an_error_that_names_it(text, named):
    with pytest.raises(MergeFieldError) as caught:
        template_check(subject="Reminder", body=text)
    assert named in str(caught.value)
    assert str(caught.value).startswith("Body: ")
    assert named.strip("{}") in caught.value.fields


@pytest.mark.parametrize(
    "text",
    [
        "{invoice_number.__class__}",
        "{invoice_number.__class__.__init__.__globals__}",
        "{amount_due:>10}",
        "{amount_due!r}",
        "{invoice_number[0]}",
    ],
)
def test_format_specs_attributes_and_indexes_are_refused(text):
    with pytest.raises(MergeFieldError) as caught:
        template_check(subject=text, body="Body")
    assert str(caught.value).startswith("Subject: ")
    assert "is not allowed" in str(caught.value)
    with pytest.raises(MergeFieldError):
        render(text, _context())


@pytest.mark.parametrize("text", ["Unclosed {invoice_number", "Stray } brace", "Empty {}"])
def test_broken_braces_are_errors(text):
    with pytest.raises(MergeFieldError):
        template_check(subject="Reminder", body=text)


def test_double_braces_are_a_literal_brace():
    template_check(subject="{{not a field}}", body="Use {{braces}} for {invoice_number}")
    assert render("Use {{braces}} for {invoice_number}", _context()) == "Use {braces} for INV-0042"


def test_every_field_renders():
    text = " ".join("{" + name + "}" for name in MERGE_FIELDS)
    rendered = render(text, _context())
    assert "{" not in rendered and "}" not in rendered
    assert "https://pay.example/p/abc" in rendered and "INV-0042" in rendered


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (Decimal("125000"), "JPY", "en_US", "¥125,000"),
        (Decimal("1234.567"), "KWD", "en_US", "KWD1,234.567"),
        (Decimal("1234.50"), "EUR", "de_DE", "1.234,50\xa0€"),
        (Decimal("1234.50"), "USD", "en_US", "$1,234.50"),
    ],
)
def test_amounts_follow_the_currency_and_the_organizations_locale(
    amount, currency, locale, expected
):
    rendered = render("{amount_due}", _context(amount_due=amount, currency=currency, locale=locale))
    assert rendered == expected


def test_jpy_has_no_decimals_and_kwd_three():
    jpy = render("{amount_due}", _context(amount_due=Decimal("125000"), currency="JPY"))
    kwd = render("{amount_due}", _context(amount_due=Decimal("12.5"), currency="KWD"))
    assert not re.search(r"[.,]\d{1,2}$", jpy)
    assert re.search(r"\.500$", kwd)


def test_the_german_locale_formats_dates_in_german():
    assert render("{due_date}", _context(locale="de_DE")) == "01.03.2026"


def test_a_sent_email_never_contains_a_literal_field(personas, customer, contact, live_org, clock):
    approved(customer, actor=personas.operator.user)
    assert outbox_send()["sent"] == 1
    email = mail.outbox[0]
    for text in (email.subject, email.body, email.alternatives[0][0]):
        assert not re.search(r"\{[^{}]*\}", text), text
    assert "$1,250.00" in email.body


def test_a_reminder_without_its_pay_link_and_every_bad_field_are_named_in_one_error():
    import pytest as _pytest

    from plixo.comms.merge import MergeFieldError, template_check

    with _pytest.raises(MergeFieldError) as caught:
        template_check(
            subject="Invoice {invoce_number}",
            body="Hello {Contact_Name}, please pay.",
            require_pay_link=True,
        )
    message = str(caught.value)
    assert "Subject: Unknown merge field {invoce_number}" in message
    assert "Body: Unknown merge field {Contact_Name}" in message
    assert set(caught.value.fields) == {"invoce_number", "Contact_Name"}
    with _pytest.raises(MergeFieldError, match=r"\{pay_link\} is missing"):
        template_check(subject="Invoice", body="Please pay.", require_pay_link=True)
    with _pytest.raises(MergeFieldError, match="near “pay here: {pay_l"):
        template_check(subject="Invoice", body="Please pay here: {pay_link")
    template_check(subject="Invoice", body="Pay: {pay_link}", require_pay_link=True)
