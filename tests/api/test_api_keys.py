"""API keys: creation (only a hash stored), authentication, revocation, last use."""

import datetime as dt
import hashlib
import io
import json
import re
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from plixo.api.models import ApiKey
from plixo.api.services import ApiKeyError, api_key_create, api_key_revoke
from plixo.core.models import AuditEvent, Role
from plixo.core.services import membership_change
from tests.api.conftest import ApiClient

RAW_KEY = re.compile(r"^plx_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


def test_create_returns_raw_key_once_and_stores_only_its_hash(personas):
    membership = personas.operator

    key, raw = api_key_create(membership=membership, name="ERP sync")

    match = RAW_KEY.match(raw)
    assert match, raw
    assert key.prefix == match.group(1)
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.user == membership.user and key.organization == membership.organization
    assert key.name == "ERP sync"
    # Neither the raw key nor its secret part is stored anywhere in the database.
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert raw not in dump.getvalue()
    assert match.group(2) not in dump.getvalue()


def test_keys_are_random_and_long(personas):
    secrets_seen = set()
    for _ in range(20):
        _, raw = api_key_create(membership=personas.operator)
        secret = RAW_KEY.match(raw).group(2)
        # 43 url-safe base64 characters carry 256 bits.
        assert len(secret) == 43
        secrets_seen.add(secret)
    assert len(secrets_seen) == 20
    assert ApiKey.objects.values("prefix").distinct().count() == 20


def test_create_writes_an_audit_event(personas):
    key, _ = api_key_create(membership=personas.operator, name="BI", actor=personas.controller.user)

    event = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_CREATED)
    assert event.organization == personas.org
    assert event.subject == personas.operator.user
    assert event.actor == personas.controller.user
    assert event.after == {"prefix": key.prefix, "name": "BI", "role": Role.AR_OPERATOR}


def test_create_is_one_transaction_with_its_audit_event(personas):
    with (
        mock.patch.object(AuditEvent.objects, "create", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        api_key_create(membership=personas.operator)

    assert not ApiKey.objects.exists()


def test_inactive_membership_cannot_get_a_key(personas):
    membership = personas.operator
    membership.is_active = False
    membership.save()

    with pytest.raises(ApiKeyError, match="inactive"):
        api_key_create(membership=membership)


def test_revoke_is_audited_and_idempotent(personas):
    key, _ = api_key_create(membership=personas.operator)

    api_key_revoke(key=key, actor=personas.controller.user, reason="Integration retired")
    first_revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at
    api_key_revoke(key=key)

    key.refresh_from_db()
    assert key.revoked_at == first_revoked_at is not None
    events = AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_REVOKED)
    assert events.count() == 1
    assert events.get().reason == "Integration retired"


# --- authentication ----------------------------------------------------------------------


def _assert_401(response):
    assert response.status_code == 401
    body = response.json()
    assert "API key" in body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_missing_key_is_401_json():
    _assert_401(ApiClient(None).get("/api/v1/invoices"))


@pytest.mark.parametrize(
    "header",
    [
        "Token abc",
        "Bearer",
        "Bearer not-a-key",
        "Bearer plx_00000000_" + "A" * 43,  # well formed, unknown
        "Bearer " + "x" * 5000,
        "Basic dXNlcjpwYXNz",
    ],
)
def test_bad_keys_are_401(personas, header):
    client = ApiClient(None)
    _assert_401(client.client.get("/api/v1/invoices", headers={"Authorization": header}))


def test_api_writes_need_no_csrf_token(personas):
    _, raw = api_key_create(membership=personas.operator)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    response = client.post(
        "/api/v1/payments",
        json.dumps({"reference": "R-1", "amount": "1.00", "currency": "USD"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_a_session_is_not_an_api_credential(personas):
    client = personas.client_for(Role.CONTROLLER)
    _assert_401(client.get("/api/v1/invoices"))


def test_a_good_key_authenticates(personas):
    _, raw = api_key_create(membership=personas.operator)
    assert ApiClient(raw).get("/api/v1/invoices").status_code == 200


def test_revoked_key_is_401(personas):
    key, raw = api_key_create(membership=personas.operator)
    client = ApiClient(raw)
    assert client.get("/api/v1/invoices").status_code == 200

    api_key_revoke(key=key)

    _assert_401(client.get("/api/v1/invoices"))


def test_key_stops_when_membership_is_deactivated_or_removed(personas):
    membership = personas.operator
    _, raw = api_key_create(membership=membership)
    client = ApiClient(raw)

    membership.is_active = False
    membership.save()
    _assert_401(client.get("/api/v1/invoices"))

    membership.delete()
    _assert_401(client.get("/api/v1/invoices"))


def test_key_stops_when_user_is_deactivated(personas):
    membership = personas.operator
    _, raw = api_key_create(membership=membership)
    membership.user.is_active = False
    membership.user.save()

    _assert_401(ApiClient(raw).get("/api/v1/invoices"))


def test_key_acts_with_the_users_current_role(personas):
    membership = personas.operator
    _, raw = api_key_create(membership=membership)
    client = ApiClient(raw)
    assert client.post("/api/v1/invoices", {}).status_code == 422  # allowed, bad input

    membership_change(
        membership=membership, actor=personas.controller.user, reason="Moved", role=Role.SALES
    )

    response = client.post("/api/v1/invoices", {})
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role (Sales) does not allow this."


def test_request_id_is_echoed_in_header_and_error_body(personas):
    response = ApiClient(None).client.get(
        "/api/v1/invoices", headers={"X-Request-ID": "support-case-4711"}
    )
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "support-case-4711"
    assert response.json()["request_id"] == "support-case-4711"


def test_last_used_at_is_written_at_most_once_a_minute(personas):
    key, raw = api_key_create(membership=personas.operator)
    client = ApiClient(raw)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get("/api/v1/customers")
        key.refresh_from_db()
        assert key.last_used_at == start

    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        client.get("/api/v1/customers")
        key.refresh_from_db()
        assert key.last_used_at == start

    later = start + dt.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        client.get("/api/v1/customers")
        key.refresh_from_db()
        assert key.last_used_at == later
