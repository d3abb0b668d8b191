"""Sending-domain DNS checks (SPF, DKIM, DMARC) and bounce/complaint rates per domain."""

import datetime as dt
import socket
import time
import uuid

import dns.exception
import dns.resolver
import pytest
from django.test import override_settings
from django.utils import timezone

from plixo.comms import deliverability
from plixo.comms.deliverability import domain_rates, sending_domain_check
from plixo.comms.models import EmailEvent, Message, SendingDomain
from tests.comms.conftest import NOON_NY, invoice_due


class TXT:
    def __init__(self, *chunks: str):
        self.strings = [c.encode() for c in chunks]


class FakeResolver:
    """Answers from a dict: name -> list of TXT records, or an exception to raise. Names not
    in it do not exist (NXDOMAIN)."""

    def __init__(self, zone: dict):
        self.zone = zone
        self.asked: list[str] = []

    def resolve(self, name, rdtype, lifetime=None):
        assert rdtype == "TXT"
        assert lifetime is not None and lifetime <= deliverability.QUERY_SECONDS
        self.asked.append(name)
        answer = self.zone.get(name)
        if answer is None:
            raise dns.resolver.NXDOMAIN
        if isinstance(answer, Exception) or (
            isinstance(answer, type) and issubclass(answer, Exception)
        ):
            raise answer
        return answer


@pytest.fixture
def domain(personas):
    return SendingDomain.objects.create(organization=personas.org, domain="acme.example")


def test_all_three_records_found(domain):
    resolver = FakeResolver(
        {
            "acme.example": [
                TXT("google-site-verification=abc"),
                TXT("v=spf1 include:spf.mtasv.net ", "-all"),
            ],
            "_dmarc.acme.example": [TXT("v=DMARC1; p=quarantine; rua=mailto:d@acme.example")],
            "google._domainkey.acme.example": [TXT("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB")],
        }
    )
    checked = sending_domain_check(domain=domain, resolver=resolver)

    domain.refresh_from_db()
    assert (domain.spf, domain.dkim, domain.dmarc) == ("pass", "pass", "pass")
    assert domain.checked_at is not None
    assert checked.check_details["spf"]["record"] == "v=spf1 include:spf.mtasv.net -all"
    assert domain.check_details["dmarc"]["policy"] == "quarantine"
    assert domain.check_details["dkim"]["selectors"]["google"] == "found"
    assert domain.check_details["dkim"]["selectors"]["default"] == "no record"


def test_missing_records_fail_with_no_record(domain):
    resolver = FakeResolver(
        {"acme.example": dns.resolver.NoAnswer, "_dmarc.acme.example": [TXT("not dmarc")]}
    )
    sending_domain_check(domain=domain, resolver=resolver)

    domain.refresh_from_db()
    assert (domain.spf, domain.dkim, domain.dmarc) == ("fail", "fail", "fail")
    assert domain.check_details["spf"]["detail"] == "no record"
    assert domain.check_details["dmarc"]["detail"] == "no record"
    assert "no DKIM key" in domain.check_details["dkim"]["detail"]
    # Every configured selector was asked for.
    assert {f"{s}._domainkey.acme.example" for s in deliverability.DEFAULT_DKIM_SELECTORS} <= set(
        resolver.asked
    )


def test_two_spf_records_fail_and_a_revoked_dkim_key_is_no_key(domain):
    resolver = FakeResolver(
        {
            "acme.example": [TXT("v=spf1 -all"), TXT("v=spf1 include:mailgun.org ~all")],
            "_dmarc.acme.example": [TXT("v=DMARC1; rua=mailto:d@acme.example")],
            "default._domainkey.acme.example": [TXT("v=DKIM1; p=")],
        }
    )
    sending_domain_check(domain=domain, resolver=resolver)

    domain.refresh_from_db()
    assert domain.spf == "fail" and "2 SPF records" in domain.check_details["spf"]["detail"]
    assert domain.dmarc == "fail" and "no policy" in domain.check_details["dmarc"]["detail"]
    assert domain.dkim == "fail"
    assert domain.check_details["dkim"]["selectors"]["default"].startswith("key revoked")


@override_settings(COMMS_DKIM_SELECTORS=["plixo2026"])
def test_dkim_selectors_come_from_the_setting(domain):
    resolver = FakeResolver(
        {"plixo2026._domainkey.acme.example": [TXT("v=DKIM1; k=rsa; p=MIIBIjAN")]}
    )
    sending_domain_check(domain=domain, resolver=resolver)

    domain.refresh_from_db()
    assert domain.dkim == "pass"
    assert list(domain.check_details["dkim"]["selectors"]) == ["plixo2026"]


@pytest.mark.parametrize(
    "error",
    [
        dns.resolver.LifetimeTimeout(timeout=1.5, errors={}),
        dns.resolver.NoNameservers(),
        dns.resolver.NoResolverConfiguration(),
        dns.exception.Timeout(),
        OSError("Network is unreachable"),
    ],
    ids=["timeout", "no-nameservers", "no-configuration", "plain-timeout", "no-network"],
)
def test_dns_failures_are_unresolved_and_never_raise(domain, error):
    resolver = FakeResolver({})
    resolver.resolve = lambda name, rdtype, lifetime=None: (_ for _ in ()).throw(error)

    sending_domain_check(domain=domain, resolver=resolver)

    domain.refresh_from_db()
    assert (domain.spf, domain.dkim, domain.dmarc) == ("unresolved",) * 3
    for check in ("spf", "dkim", "dmarc"):
        assert domain.check_details[check]["detail"] == "could not resolve"


def test_once_dns_stops_answering_the_rest_is_not_asked(domain):
    """Without a network every question would wait its full timeout; one is enough."""
    resolver = FakeResolver({"acme.example": dns.resolver.LifetimeTimeout(timeout=1.5, errors={})})
    sending_domain_check(domain=domain, resolver=resolver)

    assert resolver.asked == ["acme.example"]
    domain.refresh_from_db()
    assert domain.dkim == "unresolved"


def test_real_resolver_with_nobody_listening_is_unresolved_within_seconds(domain):
    # A UDP port on this machine that nothing listens on: no traffic leaves the machine.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port

    started = time.monotonic()
    sending_domain_check(domain=domain, resolver=resolver)
    elapsed = time.monotonic() - started

    assert elapsed < deliverability.CHECK_SECONDS + 1.5
    domain.refresh_from_db()
    assert (domain.spf, domain.dkim, domain.dmarc) == ("unresolved",) * 3
    assert domain.check_details["spf"]["detail"] == "could not resolve"


# --- rates -----------------------------------------------------------------------------------


def _sent(invoice, domain: str, n: int, when, status=Message.Status.SENT):
    for _ in range(n):
        key = f"manual:{uuid.uuid4()}"
        Message.objects.create(
            organization=invoice.organization,
            invoice=invoice,
            purpose=key,
            idempotency_key=key,
            subject="s",
            body="b",
            status=status,
            sending_domain=domain,
            sent_at=when,
        )


def _event(org, domain: str, kind: str, when, n: int = 1):
    for _ in range(n):
        EmailEvent.objects.create(
            provider="postmark",
            event_id=str(uuid.uuid4()),
            kind=kind,
            organization=org,
            sending_domain=domain,
            occurred_at=when,
        )


def test_domain_rates(personas, customer, domain):
    org = personas.org
    invoice = invoice_due(customer, NOON_NY.date())
    since = NOON_NY - dt.timedelta(days=30)
    recent, old = NOON_NY - dt.timedelta(days=2), NOON_NY - dt.timedelta(days=60)
    _sent(invoice, "acme.example", 200, recent)
    _sent(invoice, "acme.example", 50, old)  # before the window
    _event(org, "acme.example", "bounced", recent, n=4)
    _event(org, "acme.example", "soft_bounce", recent, n=9)  # not a hard bounce
    _event(org, "acme.example", "complained", recent, n=1)
    _event(org, "acme.example", "bounced", old, n=7)  # before the window
    _event(personas.other_org, "acme.example", "bounced", recent, n=5)  # not ours
    # A domain with a bounce but nothing sent in the window: no rate can be told.
    _event(org, "mail.acme.example", "bounced", recent)
    _sent(invoice, "acme.example", 3, recent, status=Message.Status.FAILED)  # not sent

    rows = {row["domain"]: row for row in domain_rates(organization=org, since=since)}

    acme = rows["acme.example"]
    assert (acme["sent"], acme["hard_bounces"], acme["complaints"]) == (200, 4, 1)
    assert acme["bounce_rate"] == 0.02
    assert acme["complaint_rate"] == 0.005
    assert acme["bounce_rate_high"] is False
    assert acme["complaint_rate_high"] is True
    mail = rows["mail.acme.example"]
    assert (mail["sent"], mail["hard_bounces"]) == (0, 1)
    assert mail["bounce_rate"] is None and mail["complaint_rate"] is None
    assert mail["bounce_rate_high"] is False


def test_domain_rates_for_a_domain_that_sent_nothing(personas, domain):
    since = timezone.now() - dt.timedelta(days=30)
    assert domain_rates(organization=personas.org, since=since) == [
        {
            "domain": "acme.example",
            "sent": 0,
            "hard_bounces": 0,
            "complaints": 0,
            "bounce_rate": None,
            "complaint_rate": None,
            "bounce_rate_high": False,
            "complaint_rate_high": False,
        }
    ]
