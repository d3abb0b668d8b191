"""The cadence pages: the list with rules in words, the editor (saved through the services,
refused writes write nothing), the preview (real invoice, formatted amounts, no payer link)
and the segment rule forms."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.comms.models import Cadence, CadenceStep, SegmentRule
from plixo.comms.selectors import PREVIEW_PAY_PATH, rule_conditions
from plixo.comms.services import (
    StepSpec,
    cadence_create,
    default_cadences_ensure,
    enrollment_ensure,
    segment_rule_create,
)
from plixo.core.models import Role
from plixo.portal.models import PortalLink
from tests.comms.conftest import NOON_NY, invoice_due
from tests.factories import ContactFactory, CustomerFactory

MANAGERS = [Role.CONTROLLER, Role.AR_MANAGER]
OTHERS = [Role.AR_OPERATOR, Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL]


def _steps_post(steps, *, initial=0, prefix="steps"):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(steps)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "20",
    }
    for i, step in enumerate(steps):
        for key, value in step.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def _cadence(org, name="Strategic", steps=None, **extra):
    return cadence_create(
        organization=org,
        name=name,
        steps=steps
        or [
            StepSpec(-3, "Invoice {invoice_number} is due soon", "Hello {contact_name} {pay_link}"),
            StepSpec(
                14, "Invoice {invoice_number} is late", "Pay {amount_due}: {pay_link}", "firm"
            ),
        ],
        **extra,
    )


# --- the list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MANAGERS)
def test_list_gives_a_new_organization_its_default_cadences(personas, role):
    assert not Cadence.objects.filter(organization=personas.org).exists()
    response = personas.client_for(role).get(reverse("comms:cadence-list"))
    assert response.status_code == 200
    names = list(Cadence.objects.filter(organization=personas.org).values_list("name", flat=True))
    assert len(names) >= 3
    page = response.content.decode()
    for name in names:
        assert name in page
    assert "Default" in page
    assert "−3" in page and "+14" in page  # day offsets relative to the due date


@pytest.mark.parametrize("role", OTHERS)
def test_list_is_refused_to_roles_that_do_not_manage_cadences(personas, role):
    response = personas.client_for(role).get(reverse("comms:cadence-list"))
    assert response.status_code == 403


def test_list_counts_enrolled_invoices_per_cadence(personas, customer, clock):
    default_cadences_ensure(personas.org)
    for days in (2, 5, 9):
        enrollment_ensure(invoice_due(customer, NOON_NY.date() - dt.timedelta(days=days)))
    default = Cadence.objects.get(organization=personas.org, is_default=True)
    response = personas.client_for(Role.AR_MANAGER).get(reverse("comms:cadence-list"))
    page = response.content.decode()
    assert "<strong>3</strong> invoices enrolled" in page
    cadences = response.context["cadences"]
    assert next(c for c in cadences if c.pk == default.pk).enrolled == 3
    assert all(c.enrolled == 0 for c in cadences if c.pk != default.pk)


def test_list_counts_with_one_grouped_query(
    personas, customer, clock, django_assert_max_num_queries
):
    default_cadences_ensure(personas.org)
    for i in range(4):
        _cadence(personas.org, name=f"Extra {i}")
    client = personas.client_for(Role.AR_MANAGER)
    client.get(reverse("comms:cadence-list"))  # settings and defaults created
    with django_assert_max_num_queries(16):
        response = client.get(reverse("comms:cadence-list"))
    assert response.status_code == 200


def test_rules_are_listed_in_priority_order_in_words(personas):
    default_cadences_ensure(personas.org)
    firm = Cadence.objects.get(organization=personas.org, name__icontains="firm")
    segment_rule_create(
        organization=personas.org,
        cadence=firm,
        name="Large enterprise",
        priority=20,
        segment="enterprise",
        currency="USD",
        min_amount="10000",
        min_days_overdue=31,
        max_days_overdue=90,
        min_risk=60,
    )
    segment_rule_create(organization=personas.org, cadence=firm, name="Everyone", priority=10)
    page = personas.client_for(Role.AR_MANAGER).get(reverse("comms:cadence-list")).content.decode()
    assert "Segment enterprise · USD 10,000 or more · 31–90 days overdue · risk 60 or more" in page
    assert "∞" not in page and "≥" not in page
    assert page.index("Everyone") < page.index("Large enterprise")
    assert "Every invoice" in page


@pytest.mark.parametrize(
    "bounds, words",
    [
        ({"currency": "USD", "min_amount": "10000"}, ["USD 10,000 or more"]),
        ({"currency": "USD", "max_amount": "5000"}, ["up to USD 5,000"]),
        ({"currency": "USD", "min_amount": "1000", "max_amount": "5000"}, ["USD 1,000–5,000"]),
        ({"currency": "EUR"}, ["Invoices in EUR"]),
        ({"min_days_overdue": 31}, ["31 or more days overdue"]),
        ({"max_days_overdue": 30}, ["up to 30 days overdue"]),
        ({"min_days_overdue": -3, "max_days_overdue": 5}, ["−3 to 5 days overdue"]),
        ({"min_days_overdue": 7, "max_days_overdue": 7}, ["7 days overdue"]),
        ({"min_risk": 60}, ["risk 60 or more"]),
        ({"max_risk": 40}, ["risk up to 40"]),
        ({"min_risk": 40, "max_risk": 60}, ["risk 40–60"]),
        ({}, []),
    ],
)
def test_rule_conditions_read_as_words(personas, bounds, words):
    default_cadences_ensure(personas.org)
    cadence = Cadence.objects.get(organization=personas.org, is_default=True)
    rule = segment_rule_create(organization=personas.org, cadence=cadence, name="R", **bounds)
    assert rule_conditions(rule) == words


def test_rule_page_shows_the_saved_conditions_in_words(personas):
    default_cadences_ensure(personas.org)
    cadence = Cadence.objects.get(organization=personas.org, is_default=True)
    rule = segment_rule_create(
        organization=personas.org, cadence=cadence, name="Mid", currency="USD", max_amount="5000"
    )
    url = reverse("comms:rule-edit", kwargs={"rule_id": rule.public_id})
    page = personas.client_for(Role.AR_MANAGER).get(url).content.decode()
    assert "up to USD 5,000" in page


# --- the editor ----------------------------------------------------------------------------------


def test_new_cadence_is_saved_through_the_service(personas):
    client = personas.client_for(Role.AR_MANAGER)
    assert client.get(reverse("comms:cadence-new")).status_code == 200
    data = {
        "name": "Enterprise",
        "description": "Large accounts",
        "requires_approval": "on",
        **_steps_post(
            [
                {
                    "offset_days": "14",
                    "tone": "firm",
                    "subject": "Late: {invoice_number}",
                    "body": "Pay {amount_due} {pay_link}",
                },
                {
                    "offset_days": "-3",
                    "tone": "friendly",
                    "subject": "Soon: {invoice_number}",
                    "body": "Hi {contact_name} {pay_link}",
                },
                {"offset_days": "", "tone": "friendly", "subject": "", "body": ""},  # empty row
            ]
        ),
    }
    response = client.post(reverse("comms:cadence-new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    cadence = Cadence.objects.get(organization=personas.org, name="Enterprise")
    assert cadence.requires_approval is True
    assert cadence.description == "Large accounts"
    steps = list(cadence.steps.filter(is_active=True).order_by("offset_days"))
    assert [(s.offset_days, s.tone) for s in steps] == [(-3, "friendly"), (14, "firm")]


def test_auto_send_cadence_when_approval_is_off(personas):
    data = {
        "name": "Auto",
        **_steps_post(
            [{"offset_days": "1", "tone": "firm", "subject": "Due", "body": "Pay {pay_link}"}]
        ),
    }
    client = personas.client_for(Role.CONTROLLER)
    assert client.post(reverse("comms:cadence-new"), data).status_code == 302
    assert Cadence.objects.get(organization=personas.org, name="Auto").requires_approval is False


def test_unknown_merge_field_is_named_and_nothing_is_written(personas):
    client = personas.client_for(Role.AR_MANAGER)
    data = {
        "name": "Typo",
        "requires_approval": "on",
        **_steps_post(
            [
                {"offset_days": "1", "tone": "friendly", "subject": "Due", "body": "Hi {pay_link}"},
                {
                    "offset_days": "5",
                    "tone": "firm",
                    "subject": "Late",
                    "body": "Pay {amout_due} now {pay_link}",
                },
            ]
        ),
    }
    response = client.post(reverse("comms:cadence-new"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unknown merge field {amout_due}" in page
    assert "{amount_due}" in page  # the known fields are listed
    assert not Cadence.objects.filter(organization=personas.org, name="Typo").exists()


def test_editing_with_an_unknown_field_changes_nothing(personas):
    cadence = _cadence(personas.org)
    before = list(cadence.steps.values_list("offset_days", "subject", "body", "is_active"))
    data = {
        "name": "Renamed",
        "is_active": "on",
        **_steps_post(
            [
                {
                    "offset_days": "-3",
                    "tone": "friendly",
                    "subject": "New {invoice_number}",
                    "body": "Hi {pay_link}",
                },
                {
                    "offset_days": "14",
                    "tone": "firm",
                    "subject": "Late {invoce_number}",
                    "body": "Pay {pay_link}",
                },
            ],
            initial=2,
        ),
    }
    url = reverse("comms:cadence-edit", kwargs={"cadence_id": cadence.public_id})
    response = personas.client_for(Role.AR_MANAGER).post(url, data)
    assert response.status_code == 200
    assert "{invoce_number}" in response.content.decode()
    cadence.refresh_from_db()
    assert cadence.name == "Strategic"
    assert list(cadence.steps.values_list("offset_days", "subject", "body", "is_active")) == before


def test_a_refusal_of_the_service_is_shown_on_the_form(personas):
    _cadence(personas.org, name="Taken")
    data = {
        "name": "Taken",
        **_steps_post(
            [{"offset_days": "1", "tone": "firm", "subject": "Due", "body": "Pay {pay_link}"}]
        ),
    }
    response = personas.client_for(Role.AR_MANAGER).post(reverse("comms:cadence-new"), data)
    assert response.status_code == 200
    assert "There is already a cadence named" in response.content.decode()
    assert Cadence.objects.filter(organization=personas.org, name="Taken").count() == 1


def test_duplicate_days_and_out_of_range_offsets_are_refused(personas):
    client = personas.client_for(Role.AR_MANAGER)
    same_day = {
        "name": "Twice",
        **_steps_post(
            [
                {"offset_days": "3", "tone": "firm", "subject": "A", "body": "A {pay_link}"},
                {"offset_days": "3", "tone": "firm", "subject": "B", "body": "B {pay_link}"},
            ]
        ),
    }
    response = client.post(reverse("comms:cadence-new"), same_day)
    assert "Two steps fall on the same day (+3)" in response.content.decode()
    far = {
        "name": "Far",
        **_steps_post(
            [{"offset_days": "900", "tone": "firm", "subject": "A", "body": "A {pay_link}"}]
        ),
    }
    response = client.post(reverse("comms:cadence-new"), far)
    assert response.status_code == 200
    assert "less than or equal to 365" in response.content.decode()
    control = {
        "name": "Bell\x07",
        **_steps_post(
            [{"offset_days": "1", "tone": "firm", "subject": "A\nB", "body": "A {pay_link}"}]
        ),
    }
    response = client.post(reverse("comms:cadence-new"), control)
    page = response.content.decode()
    assert "contains a control character" in page
    assert "must be a single line" in page
    assert not Cadence.objects.filter(organization=personas.org).exists()


def test_edit_removes_and_changes_steps(personas):
    cadence = _cadence(personas.org, is_default=True)
    url = reverse("comms:cadence-edit", kwargs={"cadence_id": cadence.public_id})
    client = personas.client_for(Role.CONTROLLER)
    page = client.get(url).content.decode()
    assert "Invoice {invoice_number} is due soon" in page
    assert "{pay_link}" in page  # the merge-field reference
    data = {
        "name": "Strategic accounts",
        "description": "",
        "is_active": "on",
        # is_default unticked: the box is locked on the default cadence, so it stays default
        **_steps_post(
            [
                {
                    "offset_days": "-3",
                    "tone": "friendly",
                    "subject": "Soon",
                    "body": "Hi {pay_link}",
                    "DELETE": "on",
                },
                {
                    "offset_days": "14",
                    "tone": "final",
                    "subject": "Final {invoice_number}",
                    "body": "Pay {pay_link}",
                },
                {
                    "offset_days": "30",
                    "tone": "final",
                    "subject": "Really",
                    "body": "Pay now {pay_link}",
                },
            ],
            initial=2,
        ),
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    cadence.refresh_from_db()
    assert cadence.name == "Strategic accounts"
    assert cadence.is_default is True
    assert cadence.requires_approval is False
    active = list(cadence.steps.filter(is_active=True).order_by("offset_days"))
    assert [(s.offset_days, s.tone, s.subject) for s in active] == [
        (14, "final", "Final {invoice_number}"),
        (30, "final", "Really"),
    ]
    assert CadenceStep.objects.filter(cadence=cadence, offset_days=-3, is_active=False).exists()


def test_making_a_cadence_the_default_says_what_changes(personas):
    default_cadences_ensure(personas.org)
    firm = Cadence.objects.get(organization=personas.org, name="Firm")
    steps = list(firm.steps.filter(is_active=True).order_by("offset_days"))
    data = {
        "name": "Firm",
        "description": "",
        "requires_approval": "on",
        "is_default": "on",
        "is_active": "on",
        **_steps_post(
            [
                {"offset_days": s.offset_days, "tone": s.tone, "subject": s.subject, "body": s.body}
                for s in steps
            ],
            initial=len(steps),
        ),
    }
    url = reverse("comms:cadence-edit", kwargs={"cadence_id": firm.public_id})
    client = personas.client_for(Role.AR_MANAGER)
    response = client.post(url, data, follow=True)
    page = response.content.decode()
    assert "Firm is now the default cadence" in page
    assert "Invoices already in a cadence keep theirs." in page
    firm.refresh_from_db()
    assert firm.is_default
    # Saving it again, already the default, says nothing about the default.
    page = client.post(url, data, follow=True).content.decode()
    assert "is now the default cadence" not in page


def test_an_added_step_starts_in_the_tone_of_the_last_step(personas):
    cadence = _cadence(personas.org)  # −3 friendly, +14 firm
    client = personas.client_for(Role.AR_MANAGER)
    response = client.get(reverse("comms:cadence-edit", kwargs={"cadence_id": cadence.public_id}))
    steps = response.context["steps"]
    extra = steps.forms[steps.initial_form_count()]
    assert extra["tone"].value() == "firm"
    assert '<option value="firm" selected>' in str(extra["tone"])
    new = client.get(reverse("comms:cadence-new")).context["steps"]
    assert new.forms[0]["tone"].value() == "friendly"
    # Left empty, the added rows are not steps, whatever their tone.
    data = {
        "name": cadence.name,
        "description": "",
        "requires_approval": "on",
        "is_active": "on",
        **_steps_post(
            [
                {"offset_days": "-3", "tone": "friendly", "subject": "Soon", "body": "{pay_link}"},
                {"offset_days": "14", "tone": "firm", "subject": "Late", "body": "{pay_link}"},
                {"offset_days": "", "tone": "firm", "subject": "", "body": ""},
                {"offset_days": "", "tone": "final", "subject": "", "body": ""},
            ],
            initial=2,
        ),
    }
    url = reverse("comms:cadence-edit", kwargs={"cadence_id": cadence.public_id})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert cadence.steps.filter(is_active=True).count() == 2


def test_another_organizations_cadence_is_not_found(personas):
    foreign = _cadence(personas.other_org)
    client = personas.client_for(Role.CONTROLLER)
    for name in ("comms:cadence-edit", "comms:cadence-preview"):
        url = reverse(name, kwargs={"cadence_id": foreign.public_id})
        assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("comms:cadence-edit", kwargs={"cadence_id": foreign.public_id}), {"name": "x"}
        ).status_code
        == 404
    )


# --- the preview -----------------------------------------------------------------------------


@pytest.fixture
def yen_and_dinar(personas, clock):
    customer = CustomerFactory(organization=personas.org, name="Nakamura KK", currency="JPY")
    ContactFactory(
        customer=customer, name="Aiko Sato", email="ap@nakamura.example", is_primary=True
    )
    yen = invoice_due(
        customer, NOON_NY.date() - dt.timedelta(days=5), amount="120000", currency="JPY"
    )
    kuwaiti = CustomerFactory(organization=personas.org, name="Gulf Trading", currency="KWD")
    dinar = invoice_due(
        kuwaiti, NOON_NY.date() - dt.timedelta(days=40), amount="1234.500", currency="KWD"
    )
    return yen, dinar


def test_preview_fills_a_real_invoice_and_issues_no_payer_link(personas, yen_and_dinar):
    yen, dinar = yen_and_dinar
    cadence = _cadence(personas.org)
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    client = personas.client_for(Role.AR_MANAGER)

    response = client.get(url, {"invoice": str(yen.public_id)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Pay ¥120,000: " in page
    assert "Hello Aiko Sato" in page
    assert f"Invoice {yen.number} is due soon" in page
    assert PREVIEW_PAY_PATH in page
    assert "{" not in response.context["previews"][0]["body"]

    page = client.get(url, {"invoice": str(dinar.public_id)}).content.decode()
    assert "Pay KWD1,234.500: " in page  # three decimals for the dinar
    assert "Hello there" in page  # no contact: the merge field says "there"
    assert PortalLink.objects.count() == 0


def test_preview_defaults_to_the_open_invoice_due_last_and_can_show_one_step(
    personas, yen_and_dinar
):
    yen, _dinar = yen_and_dinar
    cadence = _cadence(personas.org)
    late_step = cadence.steps.get(offset_days=14)
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    client = personas.client_for(Role.CONTROLLER)
    response = client.get(url)
    assert response.context["invoice"] == yen
    assert len(response.context["previews"]) == 2
    response = client.get(url, {"step": str(late_step.public_id)}, HTTP_HX_REQUEST="true")
    assert [p["step"] for p in response.context["previews"]] == [late_step]
    page = response.content.decode()
    assert "<html" not in page  # the HTMX partial
    assert "Invoice" in page and "is late" in page
    assert client.get(url, {"number": yen.number}).context["invoice"] == yen


def test_preview_refuses_foreign_or_unknown_ids(personas, yen_and_dinar):
    cadence = _cadence(personas.org)
    foreign_customer = CustomerFactory(organization=personas.other_org)
    foreign = invoice_due(foreign_customer, NOON_NY.date())
    other_cadence = _cadence(personas.other_org, name="Theirs")
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    client = personas.client_for(Role.CONTROLLER)
    assert client.get(url, {"invoice": str(foreign.public_id)}).status_code == 404
    assert client.get(url, {"invoice": "not-a-uuid"}).status_code == 404
    response = client.get(url, {"number": foreign.number})  # a number is typed: never a 404
    assert response.status_code == 200
    assert response.context["invoice"] != foreign
    assert f"No open invoice {foreign.number} in Acme Widgets" in response.content.decode()
    foreign_step = other_cadence.steps.first()
    assert client.get(url, {"step": str(foreign_step.public_id)}).status_code == 404


def test_preview_reads_each_step_on_its_own_day(personas, yen_and_dinar):
    yen, _dinar = yen_and_dinar  # due five days ago
    cadence = _cadence(
        personas.org,
        steps=[
            StepSpec(-3, "{invoice_number}: {days_overdue} days", "{days_overdue} {pay_link}"),
            StepSpec(0, "{invoice_number}: {days_overdue} days", "{days_overdue} {pay_link}"),
            StepSpec(
                14, "{invoice_number}: {days_overdue} days", "{amount_due} {pay_link}", "firm"
            ),
        ],
    )
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    response = personas.client_for(Role.AR_MANAGER).get(url, {"invoice": str(yen.public_id)})
    subjects = [p["subject"] for p in response.context["previews"]]
    assert subjects == [f"{yen.number}: 0 days", f"{yen.number}: 0 days", f"{yen.number}: 14 days"]
    assert [p["sends_on"] for p in response.context["previews"]] == [
        yen.due_date + dt.timedelta(days=d) for d in (-3, 0, 14)
    ]
    late = yen.due_date + dt.timedelta(days=14)
    page = response.content.decode()
    assert f"As it would read on <strong>{late:%b} {late.day}, {late.year}</strong>" in page
    assert "¥120,000" in response.context["previews"][2]["body"]  # today's balance


@pytest.mark.parametrize("typed", ["{number}", "{lower}", "{digits}", "  {number} "])
def test_preview_finds_an_invoice_number_as_typed(personas, yen_and_dinar, typed):
    yen, dinar = yen_and_dinar
    cadence = _cadence(personas.org)
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    query = typed.format(
        number=dinar.number, lower=dinar.number.lower(), digits=dinar.number.split("-")[1]
    )
    response = personas.client_for(Role.AR_MANAGER).get(url, {"number": query})
    assert response.status_code == 200
    assert response.context["invoice"] == dinar
    assert not response.context["number_missing"]


def test_preview_number_lookup_matches_case_and_digits_without_a_known_prefix(
    personas, customer, clock
):
    from plixo.comms.selectors import open_invoice_by_number

    due = NOON_NY.date()
    mixed = invoice_due(customer, due, number="Acme/7731")
    padded = invoice_due(customer, due, number="B-0010019")
    invoice_due(customer, due, number="B-110019")  # ends in the digits, but is another number
    membership = personas.members[Role.AR_MANAGER]
    assert open_invoice_by_number(membership=membership, number="acme/7731") == mixed
    assert open_invoice_by_number(membership=membership, number="10019") == padded
    assert open_invoice_by_number(membership=membership, number="x-10019") == padded
    assert open_invoice_by_number(membership=membership, number="0019") is None
    assert open_invoice_by_number(membership=membership, number="") is None


def test_preview_of_a_number_with_no_open_invoice_says_so_inline(personas, yen_and_dinar):
    yen, dinar = yen_and_dinar
    cadence = _cadence(personas.org)
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    client = personas.client_for(Role.AR_MANAGER)
    for typed in ("INV-99999", "99999"):
        response = client.get(url, {"number": typed})
        assert response.status_code == 200
        page = response.content.decode()
        assert f"No open invoice {typed} in Acme Widgets." in page
        assert response.context["invoice"] == yen  # the default preview, due last
        assert len(response.context["previews"]) == 2
        assert f'value="{typed}"' in page  # the box keeps what was typed
    response = client.get(url, {"number": "INV-99999"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "No open invoice INV-99999" in response.content.decode()


def test_preview_without_open_invoices_says_so(personas):
    cadence = _cadence(personas.org)
    url = reverse("comms:cadence-preview", kwargs={"cadence_id": cadence.public_id})
    response = personas.client_for(Role.CONTROLLER).get(url)
    assert response.status_code == 200
    assert "no open invoice to preview with" in response.content.decode()


# --- segment rules ------------------------------------------------------------------------------


def test_rule_is_created_edited_and_deleted_through_the_forms(personas):
    cadence = _cadence(personas.org)
    client = personas.client_for(Role.AR_MANAGER)
    assert client.get(reverse("comms:rule-new")).status_code == 200
    response = client.post(
        reverse("comms:rule-new"),
        {
            "name": "Big and late",
            "cadence": str(cadence.public_id),
            "segment": "enterprise",
            "currency": "usd",
            "min_amount": "10000",
            "min_days_overdue": "31",
            "max_days_overdue": "90",
            "min_risk": "60",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = SegmentRule.objects.get(organization=personas.org)
    assert (rule.currency, rule.min_amount, rule.max_amount) == ("USD", Decimal("10000"), None)
    assert (rule.min_days_overdue, rule.max_days_overdue, rule.min_risk) == (31, 90, 60)
    assert rule.priority >= 10

    url = reverse("comms:rule-edit", kwargs={"rule_id": rule.public_id})
    page = client.get(url).content.decode()
    assert 'value="10000"' in page
    response = client.post(
        url, {"name": "Any late", "cadence": str(cadence.public_id), "priority": "5"}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.priority, rule.segment, rule.min_amount, rule.min_risk) == (
        "Any late",
        5,
        "",
        None,
        None,
    )

    assert (
        client.get(reverse("comms:rule-delete", kwargs={"rule_id": rule.public_id})).status_code
        == 405
    )
    response = client.post(reverse("comms:rule-delete", kwargs={"rule_id": rule.public_id}))
    assert response.status_code == 302
    assert not SegmentRule.objects.filter(pk=rule.pk).exists()


def test_rule_errors_are_shown_and_nothing_is_written(personas):
    cadence = _cadence(personas.org)
    foreign = _cadence(personas.other_org, name="Theirs")
    client = personas.client_for(Role.AR_MANAGER)
    cases = [
        ({"min_amount": "500"}, "An amount condition needs a currency"),
        ({"currency": "JPY", "min_amount": "10.5"}, "more decimal places than JPY allows"),
        ({"currency": "ZZZ"}, "is not an ISO 4217 currency code"),
        ({"min_risk": "70", "max_risk": "20"}, "The risk up to is below the risk from"),
        ({"max_risk": "101"}, "less than or equal to 100"),
        ({"name": "Tab\x0bbed"}, "contains a control character"),
        ({"cadence": str(foreign.public_id)}, "Select a valid choice"),
    ]
    for extra, message in cases:
        data = {"name": "Rule", "cadence": str(cadence.public_id), **extra}
        response = client.post(reverse("comms:rule-new"), data)
        assert response.status_code == 200, extra
        assert message in response.content.decode(), (extra, message)
    assert not SegmentRule.objects.exists()


def test_another_organizations_rule_is_not_found(personas):
    theirs = _cadence(personas.other_org, name="Theirs")
    rule = segment_rule_create(organization=personas.other_org, cadence=theirs, name="Theirs")
    client = personas.client_for(Role.CONTROLLER)
    assert (
        client.get(reverse("comms:rule-edit", kwargs={"rule_id": rule.public_id})).status_code
        == 404
    )
    response = client.post(reverse("comms:rule-delete", kwargs={"rule_id": rule.public_id}))
    assert response.status_code == 404
    assert SegmentRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize("role", OTHERS)
def test_rule_and_editor_pages_are_refused_to_other_roles(personas, role):
    client = personas.client_for(role)
    for name in ("comms:cadence-new", "comms:rule-new"):
        assert client.get(reverse(name)).status_code == 403
