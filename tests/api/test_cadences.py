"""/api/v1/cadences"""

from typing import get_args

import pytest

from plixo.api.schemas_comms import ToneChoice
from plixo.comms.models import Cadence, CadenceStep, Tone
from plixo.core.models import Role

URL = "/api/v1/cadences"

STEPS = [
    {
        "offset_days": 7,
        "tone": "firm",
        "subject": "Invoice {invoice_number} is a week overdue",
        "body": "Hello {contact_name},\n\n{amount_due} is open. Pay here: {pay_link}",
    },
    {
        "offset_days": -2,
        "subject": "Invoice {invoice_number} is due on {due_date}",
        "body": "Hello {contact_name}, a reminder. {pay_link}",
    },
]


def test_tone_choices_match_the_comms_table():
    assert set(get_args(ToneChoice)) == set(Tone.values)


def test_list_shows_the_organizations_cadences_with_their_steps(controller_api, acme, globex):
    body = controller_api.get(URL).json()

    assert body["count"] == Cadence.objects.filter(organization=acme.customer.organization).count()
    names = [c["name"] for c in body["results"]]
    assert names == sorted(names)
    default = next(c for c in body["results"] if c["is_default"])
    assert default["id"] == str(acme.cadence.public_id)
    offsets = [s["offset_days"] for s in default["steps"]]
    assert offsets == sorted(offsets) and offsets
    assert set(default["steps"][0]) == {"id", "offset_days", "tone", "subject", "body"}
    assert str(globex.cadence.public_id) not in {c["id"] for c in body["results"]}


def test_create_answers_201_with_steps_in_day_order(personas, api_for):
    manager = api_for(Role.AR_MANAGER)

    response = manager.post(
        URL,
        {"name": "Enterprise", "description": "Large accounts", "steps": STEPS},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Enterprise"
    assert body["requires_approval"] is True
    assert body["is_active"] is True
    assert [s["offset_days"] for s in body["steps"]] == [-2, 7]
    assert [s["tone"] for s in body["steps"]] == ["friendly", "firm"]
    cadence = Cadence.objects.get(public_id=body["id"])
    assert cadence.organization == personas.org
    assert cadence.steps.count() == 2
    # The organization's first cadence becomes its default.
    assert body["is_default"] is True

    fetched = manager.get(f"{URL}/{body['id']}").json()
    assert fetched == body


def test_unknown_merge_field_is_422_naming_it_and_nothing_is_written(controller_api):
    steps = [STEPS[0], {**STEPS[1], "body": "Please pay {amout_due} today."}]

    response = controller_api.post(URL, {"name": "Typo", "steps": steps})

    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "steps", 1, "body"]
    assert error["type"] == "unknown_merge_field"
    assert "{amout_due}" in error["msg"]
    assert "{amount_due}" in error["msg"]  # the known fields are listed
    assert not Cadence.objects.filter(name="Typo").exists()


def test_every_bad_template_is_reported_at_once(controller_api):
    steps = [
        {**STEPS[0], "subject": "Invoice {invoice.number}"},
        {**STEPS[1], "body": "Pay {amount_due:>10} or {"},
    ]

    response = controller_api.post(URL, {"name": "Broken", "steps": steps})

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [e["loc"][-2:] for e in detail] == [[0, "subject"], [1, "body"]]
    assert "{invoice.number}" in detail[0]["msg"]
    assert detail[1]["type"] == "invalid_template"
    assert not Cadence.objects.filter(name="Broken").exists()


def test_update_renames_and_replaces_the_steps(controller_api, acme):
    cadence = acme.cadence
    before = {s.offset_days: s.pk for s in cadence.steps.filter(is_active=True)}
    kept = next(iter(before))
    url = f"{URL}/{cadence.public_id}"

    response = controller_api.patch(
        url,
        {
            "name": "Gentle",
            "requires_approval": False,
            "steps": [
                {"offset_days": kept, "subject": "Invoice {invoice_number}", "body": "{pay_link}"},
                {"offset_days": 60, "tone": "final", "subject": "Final", "body": "{pay_link}"},
            ],
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Gentle"
    assert body["requires_approval"] is False
    assert [s["offset_days"] for s in body["steps"]] == sorted([kept, 60])
    cadence.refresh_from_db()
    assert cadence.name == "Gentle"
    # A step on a day that stays keeps its row; the others are retired, not deleted.
    assert cadence.steps.get(offset_days=kept, is_active=True).pk == before[kept]
    retired = set(before) - {kept}
    assert CadenceStep.objects.filter(
        cadence=cadence, offset_days__in=retired, is_active=False
    ).count() == len(retired)


def test_update_with_an_unknown_merge_field_writes_nothing(controller_api, acme):
    cadence = acme.cadence
    steps_before = list(cadence.steps.values_list("pk", "offset_days", "subject", "is_active"))

    response = controller_api.patch(
        f"{URL}/{cadence.public_id}",
        {
            "name": "Renamed",
            "steps": [{"offset_days": 5, "subject": "Hi {customer}", "body": "{pay_link}"}],
        },
    )

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "steps", 0, "subject"]
    assert "{customer}" in error["msg"]
    cadence.refresh_from_db()
    assert cadence.name != "Renamed"
    assert list(cadence.steps.values_list("pk", "offset_days", "subject", "is_active")) == (
        steps_before
    )


def test_business_rules_answer_400(controller_api, acme):
    name = acme.cadence.name
    duplicate = controller_api.post(URL, {"name": name, "steps": STEPS})
    assert duplicate.status_code == 400
    assert "already a cadence named" in duplicate.json()["detail"]

    same_day = [STEPS[0], {**STEPS[1], "offset_days": 7}]
    response = controller_api.post(URL, {"name": "Twice", "steps": same_day})
    assert response.status_code == 400
    assert "same day" in response.json()["detail"]

    off = controller_api.patch(f"{URL}/{acme.cadence.public_id}", {"is_active": False})
    assert off.status_code == 400
    assert "default cadence cannot be switched off" in off.json()["detail"]
    assert not Cadence.objects.filter(name="Twice").exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "Bad\x00name", "steps": STEPS},
        {"name": "Two\nlines", "steps": STEPS},
        {"name": "No steps", "steps": []},
        {"name": "Far", "steps": [{**STEPS[0], "offset_days": 400}]},
        {"name": "Tone", "steps": [{**STEPS[0], "tone": "angry"}]},
        {"name": "Long", "steps": [{**STEPS[0], "subject": "x" * 201}]},
        {"name": "Control", "steps": [{**STEPS[0], "body": "Pay\x07 now {pay_link}"}]},
        {"name": "", "steps": STEPS},
    ],
)
def test_invalid_input_is_422_and_writes_nothing(controller_api, payload):
    response = controller_api.post(URL, payload)

    assert response.status_code == 422, response.content
    assert not Cadence.objects.exists()


def test_roles_without_cadences_manage_get_403(personas, api_for, acme):
    url = f"{URL}/{acme.cadence.public_id}"
    for role in (Role.AR_OPERATOR, Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL):
        client = api_for(role)
        assert client.get(URL).status_code == 403
        assert client.post(URL, {"name": "Mine", "steps": STEPS}).status_code == 403
        assert client.patch(url, {"name": "Mine"}).status_code == 403
    assert not Cadence.objects.filter(name="Mine").exists()


def test_another_organizations_cadence_is_404(controller_api, acme, globex):
    url = f"{URL}/{globex.cadence.public_id}"

    assert controller_api.get(url).status_code == 404
    response = controller_api.patch(url, {"name": "Taken over"})
    assert response.status_code == 404
    globex.cadence.refresh_from_db()
    assert globex.cadence.name != "Taken over"
