"""R14: provider tracking webhooks through anymail's own views. Hard bounces and complaints
suppress the address, soft bounces and deferrals do not, and each provider event is applied
once. Payloads (tests/comms/esp_payloads/) follow each provider's documented shape."""

import base64
import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from plixo.comms import tracking
from plixo.comms.models import EmailEvent, Message
from plixo.comms.services import contact_suppress
from plixo.ledger.models import Contact, TimelineEvent
from tests.comms.conftest import NOON_NY, invoice_due
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")

PAYLOADS = Path(__file__).parent / "esp_payloads"
SECRET = "plixo-hooks:8f3e2b1c9d7a"
SIGNING_KEY = "mailgun-signing-key-for-tests"
WEBHOOK_SETTINGS = {
    "WEBHOOK_SECRET": SECRET,
    "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
    "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,
}
# The provider message ids the payload files carry, as the outbox records them at send time.
PROVIDER_IDS = {
    "postmark": "883953f4-6105-42a2-a16a-77a8eac79483",
    "amazon_ses": "0100018e0a1b2c3d-7f2e4a10-5c3b-4d2a-9e1f-0a1b2c3d4e5f-000000",
    "sendgrid": "2a1b7c9e-3d4f-4e5a-8b6c-0d1e2f3a4b5c",
    "mailgun": "<20260303150000.1.5B0D3E7A1C2F4E6A@mg.acme.example>",
}


def payload(name: str):
    return json.loads((PAYLOADS / name).read_text())


def sendgrid_events(*events: str) -> list[dict]:
    return [e for e in payload("sendgrid_events.json") if e["event"] in events]


def sendgrid_event(sg_event_id: str) -> list[dict]:
    return [e for e in payload("sendgrid_events.json") if e["sg_event_id"] == sg_event_id]


def mailgun_signed(body: dict, key: str = SIGNING_KEY) -> dict:
    """Sign the payload as Mailgun does: HMAC-SHA256(key, timestamp + token), hex."""
    body = copy.deepcopy(body)
    sig = body["signature"]
    sig["signature"] = hmac.new(
        key.encode(), f"{sig['timestamp']}{sig['token']}".encode(), hashlib.sha256
    ).hexdigest()
    return body


def auth(secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


def post(provider: str, body, *, secret: str | None = SECRET, headers: dict | None = None):
    """POST like the provider would: JSON, basic auth in the URL, no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    extra = dict(headers or {})
    if secret is not None:
        extra["HTTP_AUTHORIZATION"] = auth(secret)
    if provider == "amazon_ses":
        extra["HTTP_X_AMZ_SNS_MESSAGE_TYPE"] = body["Type"]
        extra["HTTP_X_AMZ_SNS_MESSAGE_ID"] = body["MessageId"]
        content_type = "text/plain; charset=UTF-8"  # what SNS sends
    else:
        content_type = "application/json"
    return client.post(
        f"/webhooks/email/{provider}/tracking/",
        data=json.dumps(body),
        content_type=content_type,
        **extra,
    )


@pytest.fixture(autouse=True)
def webhooks_configured():
    with override_settings(ANYMAIL=WEBHOOK_SETTINGS):
        yield


@pytest.fixture
def invoice(customer):
    return invoice_due(customer, NOON_NY.date())


def sent_message(invoice, contact, provider: str) -> Message:
    return Message.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        contact=contact,
        kind=Message.Kind.MANUAL,
        purpose=f"manual:{uuid.uuid4()}",
        idempotency_key=f"manual:{uuid.uuid4()}",
        subject="Invoice {invoice_number} is due",
        body="Hello",
        status=Message.Status.SENT,
        to_email=contact.email,
        intended_email=contact.email,
        sending_domain="acme.example",
        provider_message_id=PROVIDER_IDS[provider],
        sent_at=timezone.now(),
    )


@pytest.fixture
def messages(invoice, contact):
    return {provider: sent_message(invoice, contact, provider) for provider in PROVIDER_IDS}


def timeline(invoice, kind: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(invoice=invoice, kind=kind))


HARD_BOUNCES = [
    pytest.param("postmark", lambda: payload("postmark_hard_bounce.json"), id="postmark"),
    pytest.param("amazon_ses", lambda: payload("ses_bounce_permanent.json"), id="ses-permanent"),
    pytest.param("sendgrid", lambda: sendgrid_event("sg-bounce-0004"), id="sendgrid-bounce"),
    pytest.param(
        "mailgun",
        lambda: mailgun_signed(payload("mailgun_failed_permanent.json")),
        id="mailgun-permanent",
    ),
]
COMPLAINTS = [
    pytest.param("postmark", lambda: payload("postmark_spam_complaint.json"), id="postmark"),
    pytest.param("amazon_ses", lambda: payload("ses_complaint.json"), id="ses"),
    pytest.param("sendgrid", lambda: sendgrid_event("sg-spamreport-0005"), id="sendgrid"),
    pytest.param(
        "mailgun", lambda: mailgun_signed(payload("mailgun_complained.json")), id="mailgun"
    ),
]
SOFT = [
    # (provider, payload, stored kind)
    pytest.param(
        "postmark", lambda: payload("postmark_soft_bounce.json"), "soft_bounce", id="pm-soft"
    ),
    pytest.param(
        "postmark", lambda: payload("postmark_transient.json"), "soft_bounce", id="pm-transient"
    ),
    pytest.param(
        "amazon_ses",
        lambda: payload("ses_bounce_transient.json"),
        "soft_bounce",
        id="ses-transient",
    ),
    pytest.param(
        "sendgrid", lambda: sendgrid_event("sg-deferred-0002"), "deferred", id="sg-deferred"
    ),
    pytest.param(
        "sendgrid", lambda: sendgrid_event("sg-bounce-0003"), "soft_bounce", id="sg-blocked"
    ),
    pytest.param(
        "mailgun",
        lambda: mailgun_signed(payload("mailgun_failed_temporary.json")),
        "soft_bounce",
        id="mailgun-temporary",
    ),
]


@pytest.mark.parametrize(("provider", "make"), HARD_BOUNCES)
def test_hard_bounce_suppresses_the_address_and_goes_on_the_timeline(
    provider, make, messages, invoice, contact
):
    response = post(provider, make())

    assert response.status_code == 200, response.content
    event = EmailEvent.objects.get(provider=provider)
    assert event.kind == EmailEvent.Kind.BOUNCED
    assert event.message == messages[provider]
    assert event.organization == invoice.organization
    assert event.sending_domain == "acme.example"
    assert event.recipient.lower() == "ap@initech.example"
    contact.refresh_from_db()
    assert contact.suppression_kind == "bounced"
    assert contact.is_suppressed
    [bounced] = timeline(invoice, "email_bounced")
    assert bounced.data["message"] == str(messages[provider].public_id)
    assert bounced.data["recipient"].lower() == "ap@initech.example"
    assert bounced.data["description"]
    assert bounced.actor_label.startswith("Email provider (")
    [suppressed] = timeline(invoice, "contact_suppressed")
    assert suppressed.actor_label == bounced.actor_label


@pytest.mark.parametrize(("provider", "make"), COMPLAINTS)
def test_complaint_suppresses_the_address(provider, make, messages, invoice, contact):
    response = post(provider, make())

    assert response.status_code == 200, response.content
    assert EmailEvent.objects.get(provider=provider).kind == EmailEvent.Kind.COMPLAINED
    contact.refresh_from_db()
    assert contact.suppression_kind == "complained"
    assert len(timeline(invoice, "email_complained")) == 1


@pytest.mark.parametrize(("provider", "make", "kind"), SOFT)
def test_soft_bounces_and_deferrals_do_not_suppress(
    provider, make, kind, messages, invoice, contact
):
    response = post(provider, make())

    assert response.status_code == 200, response.content
    event = EmailEvent.objects.get(provider=provider)
    assert event.kind == kind
    assert event.message == messages[provider]
    contact.refresh_from_db()
    assert not contact.is_suppressed
    assert contact.suppression_kind == ""
    assert timeline(invoice, "contact_suppressed") == []
    expected = 1 if kind == "soft_bounce" else 0
    assert len(timeline(invoice, "email_soft_bounced")) == expected


@pytest.mark.parametrize(("provider", "make"), HARD_BOUNCES)
def test_the_same_event_delivered_twice_is_applied_once(provider, make, messages, invoice, contact):
    body = make()
    assert post(provider, body).status_code == 200
    assert post(provider, body).status_code == 200

    assert EmailEvent.objects.filter(provider=provider).count() == 1
    assert len(timeline(invoice, "email_bounced")) == 1
    assert len(timeline(invoice, "contact_suppressed")) == 1


def test_sendgrid_batch_records_each_event_once_and_skips_processed(messages, invoice, contact):
    body = payload("sendgrid_events.json")
    assert post("sendgrid", body).status_code == 200
    assert post("sendgrid", list(reversed(body))).status_code == 200

    kinds = sorted(EmailEvent.objects.filter(provider="sendgrid").values_list("kind", flat=True))
    assert kinds == ["bounced", "complained", "deferred", "soft_bounce"]
    contact.refresh_from_db()
    # The complaint came after the hard bounce in the batch: the last reason wins.
    assert contact.suppression_kind == "complained"
    assert len(timeline(invoice, "email_bounced")) == 1
    assert len(timeline(invoice, "email_soft_bounced")) == 1
    assert len(timeline(invoice, "email_complained")) == 1


def test_sendgrid_drop_of_a_bounced_address_suppresses(messages, contact):
    assert post("sendgrid", payload("sendgrid_dropped.json")).status_code == 200

    assert EmailEvent.objects.get(provider="sendgrid").kind == EmailEvent.Kind.REJECTED
    contact.refresh_from_db()
    assert contact.suppression_kind == "bounced"


def test_ses_notification_for_two_recipients_stores_one_event_each(
    messages, invoice, contact, customer
):
    billing = ContactFactory(customer=customer, email="billing@initech.example")
    body = payload("ses_bounce_two_recipients.json")
    assert post("amazon_ses", body).status_code == 200
    assert post("amazon_ses", body).status_code == 200

    events = EmailEvent.objects.filter(provider="amazon_ses").order_by("recipient")
    assert [e.recipient for e in events] == ["ap@initech.example", "billing@initech.example"]
    contact.refresh_from_db()
    billing.refresh_from_db()
    assert contact.suppression_kind == billing.suppression_kind == "bounced"
    assert len(timeline(invoice, "email_bounced")) == 2


def test_every_contact_of_the_organization_with_the_address_is_suppressed_and_no_other(
    personas, messages, contact
):
    # Postmark reports "AP@Initech.example": the match ignores case.
    sister = ContactFactory(
        customer=CustomerFactory(organization=personas.org, name="Initech Europe"),
        email="ap@initech.example",
    )
    other_org = ContactFactory(
        customer=CustomerFactory(organization=personas.other_org, name="Initech at Globex"),
        email="ap@initech.example",
    )
    assert post("postmark", payload("postmark_hard_bounce.json")).status_code == 200

    for c in (contact, sister, other_org):
        c.refresh_from_db()
    assert contact.suppression_kind == sister.suppression_kind == "bounced"
    assert other_org.suppression_kind == ""
    assert "unknown user" in contact.suppression_reason


def test_a_contact_already_suppressed_for_the_same_reason_is_left_alone(messages, invoice, contact):
    contact_suppress(contact=contact, kind="bounced", reason="Bounced last year")
    assert len(timeline(invoice, "contact_suppressed")) == 1

    assert post("postmark", payload("postmark_hard_bounce.json")).status_code == 200

    contact.refresh_from_db()
    assert contact.suppression_reason == "Bounced: Bounced last year"
    assert len(timeline(invoice, "contact_suppressed")) == 1
    assert len(timeline(invoice, "email_bounced")) == 1


def test_unknown_message_is_stored_without_organization_and_suppresses_nothing(invoice, contact):
    body = payload("postmark_hard_bounce.json")
    body["MessageID"] = "00000000-0000-4000-8000-000000000000"

    assert post("postmark", body).status_code == 200

    event = EmailEvent.objects.get(provider="postmark")
    assert event.kind == EmailEvent.Kind.BOUNCED
    assert event.organization is None
    assert event.message is None
    contact.refresh_from_db()
    assert not contact.is_suppressed
    assert not TimelineEvent.objects.filter(kind__startswith="email_").exists()


def test_message_found_by_the_public_id_in_the_metadata(invoice, contact):
    message = sent_message(invoice, contact, "postmark")
    message.provider_message_id = ""
    message.save(update_fields=["provider_message_id"])
    body = payload("postmark_hard_bounce.json")
    body["MessageID"] = "not-recorded"
    body["Metadata"] = {"plixo_message": str(message.public_id)}

    assert post("postmark", body).status_code == 200

    assert EmailEvent.objects.get(provider="postmark").message == message
    contact.refresh_from_db()
    assert contact.suppression_kind == "bounced"


def test_event_without_an_id_is_deduplicated_on_a_hash_of_its_fields(messages, invoice):
    body = payload("postmark_delivery.json")
    assert post("postmark", body).status_code == 200
    assert post("postmark", body).status_code == 200
    later = dict(body, DeliveredAt="2026-03-03T16:01:00Z")
    assert post("postmark", later).status_code == 200

    events = EmailEvent.objects.filter(provider="postmark")
    assert events.count() == 2
    assert all(e.kind == "delivered" and e.event_id.startswith("sha256:") for e in events)
    assert not TimelineEvent.objects.filter(kind__startswith="email_").exists()


def test_a_racing_duplicate_returns_the_stored_event_and_changes_nothing(
    monkeypatch, messages, invoice, contact
):
    assert post("postmark", payload("postmark_hard_bounce.json")).status_code == 200
    first = EmailEvent.objects.get()
    # The second delivery does not see the first before inserting, as when both run at once:
    # the unique constraint stops it.
    monkeypatch.setattr(tracking, "_stored", lambda provider, key: None)

    assert post("postmark", payload("postmark_hard_bounce.json")).status_code == 200

    assert EmailEvent.objects.get() == first
    assert len(timeline(invoice, "email_bounced")) == 1
    assert len(timeline(invoice, "contact_suppressed")) == 1


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "make"), HARD_BOUNCES)
def test_wrong_basic_auth_is_refused_and_nothing_is_stored(provider, make, messages, contact):
    response = post(provider, make(), secret="plixo-hooks:wrong")

    assert response.status_code == 400
    assert not EmailEvent.objects.exists()
    contact.refresh_from_db()
    assert not contact.is_suppressed


@pytest.mark.parametrize(("provider", "make", "status"), [(*p.values, 400) for p in HARD_BOUNCES])
def test_missing_basic_auth_is_refused(provider, make, status, messages):
    response = post(provider, make(), secret=None)

    # SNS sends the credentials only after a 401 that asks for them.
    assert response.status_code == (401 if provider == "amazon_ses" else status)
    assert not EmailEvent.objects.exists()


def test_mailgun_signature_made_with_another_key_is_refused(messages, contact):
    body = mailgun_signed(payload("mailgun_failed_permanent.json"), key="someone-else")

    assert post("mailgun", body).status_code == 400
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("provider", list(PROVIDER_IDS))
def test_without_a_webhook_secret_every_request_is_refused(provider, messages, contact):
    makers = {p.values[0]: p.values[1] for p in HARD_BOUNCES}
    with override_settings(ANYMAIL={"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}):
        response = post(provider, makers[provider](), secret="")

    assert response.status_code == 503
    assert b"ANYMAIL_WEBHOOK_SECRET" in response.content
    assert not EmailEvent.objects.exists()
    contact.refresh_from_db()
    assert not contact.is_suppressed


def test_mailgun_without_its_signing_key_is_refused(messages):
    with override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET}):
        response = post("mailgun", mailgun_signed(payload("mailgun_failed_permanent.json")))

    assert response.status_code == 503
    assert b"ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY" in response.content
    assert not EmailEvent.objects.exists()


def test_ses_subscription_confirmation_is_not_confirmed_when_auto_confirm_is_off(messages):
    body = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e2425f004aed5a7",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-feedback",
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "Timestamp": "2026-03-03T15:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
    }
    assert post("amazon_ses", body).status_code == 200
    assert not EmailEvent.objects.exists()


def test_routes_need_no_sign_in_and_are_public():
    from django.urls import resolve

    for provider in PROVIDER_IDS:
        match = resolve(f"/webhooks/email/{provider}/tracking/")
        assert match.func.plixo_access == "public"
        assert match.func.csrf_exempt is True


# --- mapping, without HTTP ------------------------------------------------------------------------


class Event:
    """The attributes anymail's AnymailTrackingEvent carries."""

    def __init__(self, **kw):
        self.event_type = kw.get("event_type", "bounced")
        self.event_id = kw.get("event_id")
        self.message_id = kw.get("message_id")
        self.recipient = kw.get("recipient", "ap@initech.example")
        self.timestamp = kw.get("timestamp")
        self.description = kw.get("description")
        self.mta_response = kw.get("mta_response")
        self.reject_reason = kw.get("reject_reason")
        self.metadata = kw.get("metadata", {})
        self.esp_event = kw.get("esp_event", {})


@pytest.mark.parametrize(
    ("provider", "event", "kind"),
    [
        ("postmark", Event(esp_event={"RecordType": "Bounce", "Type": "HardBounce"}), "bounced"),
        (
            "postmark",
            Event(esp_event={"RecordType": "Bounce", "Type": "SoftBounce"}),
            "soft_bounce",
        ),
        ("amazon_ses", Event(esp_event={"bounce": {"bounceType": "Undetermined"}}), "soft_bounce"),
        ("sendgrid", Event(esp_event={"event": "bounce"}), "bounced"),
        ("mailgun", Event(event_type="deferred"), "soft_bounce"),
        ("postmark", Event(event_type="deferred", esp_event={}), "deferred"),
        ("postmark", Event(event_type="opened"), "opened"),
        ("postmark", Event(event_type="queued"), None),
        ("sendgrid", Event(event_type="sent"), None),
    ],
)
def test_event_kind(provider, event, kind):
    assert tracking.event_kind(provider=provider, event=event) == kind


@pytest.mark.parametrize(
    ("reason", "suppression"),
    [("bounced", "bounced"), ("invalid", "bounced"), ("spam", "complained"), ("blocked", None)],
)
def test_rejections_suppress_only_for_reasons_about_the_address(
    reason, suppression, messages, contact
):
    event = Event(
        event_type="rejected",
        event_id=f"rej-{reason}",
        message_id=PROVIDER_IDS["postmark"],
        reject_reason=reason,
        description="Refused by the provider",
    )
    stored = tracking.email_event_record(provider="Postmark", event=event)

    assert stored.kind == "rejected"
    contact.refresh_from_db()
    assert contact.suppression_kind == (suppression or "")
    assert stored == tracking.email_event_record(provider="Postmark", event=event)


def test_queued_and_sent_are_not_kept(messages):
    event = Event(event_type="queued", event_id="q-1", message_id=PROVIDER_IDS["postmark"])
    assert tracking.email_event_record(provider="Postmark", event=event) is None
    assert not EmailEvent.objects.exists()


def test_untidy_provider_text_is_kept_on_one_line(messages, contact):
    event = Event(
        event_id="untidy-1",
        message_id=PROVIDER_IDS["mailgun"],
        esp_event={"event-data": {"severity": "permanent"}},
        description="550 5.1.1\r\nuser unknown\x00",
    )
    tracking.email_event_record(provider="Mailgun", event=event)

    contact.refresh_from_db()
    assert contact.suppression_reason == "Bounced: 550 5.1.1 user unknown"
    assert Contact.objects.filter(suppression_kind="bounced").count() == 1


def test_short_webhook_paths_reach_the_same_views():
    from django.urls import resolve

    for provider in ("postmark", "amazon_ses", "sendgrid", "mailgun"):
        short = resolve(f"/webhooks/email/{provider}/").func
        long = resolve(f"/webhooks/email/{provider}/tracking/").func
        assert short.__wrapped__.view_class is long.__wrapped__.view_class
