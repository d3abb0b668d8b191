"""Deliverability of an organization's sending domains: bounce and complaint rates from the
provider's tracking events, and a DNS check of SPF, DKIM and DMARC (dnspython).

The DNS check never raises on a DNS problem and returns within a few seconds without a
network: a record that is not there is "fail" ("no record"); a question nobody answered
(timeout, no nameserver, no network) is "unresolved" ("could not resolve"), which says nothing
about the domain itself.
"""

import datetime as dt
import time

import dns.exception
import dns.resolver
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from plixo.comms.models import EmailEvent, Message, SendingDomain
from plixo.core.models import Organization

Check = SendingDomain.Check

# Looked up at <selector>._domainkey.<domain> unless settings.COMMS_DKIM_SELECTORS says
# otherwise: the usual defaults of common mail hosts and providers.
DEFAULT_DKIM_SELECTORS = (
    "default",
    "google",
    "selector1",
    "selector2",
    "k1",
    "k2",
    "pm",
    "s1",
    "s2",
    "mailgun",
    "mx",
    "smtp",
    "dkim",
)
# The whole check (every question together) gives up after this many seconds; one question
# after QUERY_SECONDS.
CHECK_SECONDS = 3.0
QUERY_SECONDS = 1.5

# Above these the providers start to throttle or suspend a sender (Amazon SES reviews an
# account at a 5% bounce rate and a 0.1% complaint rate).
BOUNCE_RATE_LIMIT = 0.05
COMPLAINT_RATE_LIMIT = 0.001

NO_RECORD = "no record"
COULD_NOT_RESOLVE = "could not resolve"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def domain_rates(*, organization: Organization, since: dt.datetime) -> list[dict]:
    """Per sending domain since `since`: emails sent, hard bounces, complaints, and their rates
    (None when nothing was sent, so no rate can be told). Sorted by domain."""
    sent = dict(
        Message.objects.filter(
            organization=organization, status=Message.Status.SENT, sent_at__gte=since
        )
        .order_by()
        .values_list("sending_domain")
        .annotate(n=Count("id"))
    )
    events: dict[tuple[str, str], int] = {
        (domain, kind): n
        for domain, kind, n in EmailEvent.objects.filter(
            organization=organization,
            kind__in=[EmailEvent.Kind.BOUNCED, EmailEvent.Kind.COMPLAINED],
            occurred_at__gte=since,
        )
        .order_by()
        .values_list("sending_domain", "kind")
        .annotate(n=Count("id"))
    }
    domains = set(sent) | {domain for domain, _ in events}
    domains |= set(
        SendingDomain.objects.filter(organization=organization).values_list("domain", flat=True)
    )
    rows = []
    for domain in sorted(domains):
        count = sent.get(domain, 0)
        bounces = events.get((domain, EmailEvent.Kind.BOUNCED), 0)
        complaints = events.get((domain, EmailEvent.Kind.COMPLAINED), 0)
        bounce_rate = _rate(bounces, count)
        complaint_rate = _rate(complaints, count)
        rows.append(
            {
                "domain": domain,
                "sent": count,
                "hard_bounces": bounces,
                "complaints": complaints,
                "bounce_rate": bounce_rate,
                "complaint_rate": complaint_rate,
                "bounce_rate_high": bounce_rate is not None and bounce_rate >= BOUNCE_RATE_LIMIT,
                "complaint_rate_high": complaint_rate is not None
                and complaint_rate >= COMPLAINT_RATE_LIMIT,
            }
        )
    return rows


# --- DNS -----------------------------------------------------------------------------------


class _Unresolved(Exception):
    """Nobody answered: timeout, no nameserver, no network, or the time budget is spent."""


def _default_resolver():
    resolver = dns.resolver.Resolver()  # the system's nameservers (/etc/resolv.conf)
    resolver.timeout = QUERY_SECONDS
    resolver.lifetime = QUERY_SECONDS
    return resolver


def _txt_strings(rdata) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is None:
        return str(rdata).strip('"')
    return b"".join(s if isinstance(s, bytes) else str(s).encode() for s in strings).decode(
        "utf-8", "replace"
    )


class _Lookup:
    """TXT questions under one time budget for the whole check."""

    def __init__(self, resolver, budget: float):
        self.resolver = resolver
        self.deadline = time.monotonic() + budget
        self.network_down = False

    def txt(self, name: str) -> list[str]:
        """The TXT records at `name` ([] when there are none); _Unresolved when nobody
        answered."""
        remaining = self.deadline - time.monotonic()
        if self.network_down or remaining <= 0:
            raise _Unresolved
        try:
            answer = self.resolver.resolve(name, "TXT", lifetime=min(QUERY_SECONDS, remaining))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as exc:
            self.network_down = True
            raise _Unresolved from exc
        except dns.exception.Timeout as exc:
            self.network_down = True
            raise _Unresolved from exc
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            raise _Unresolved from exc
        return [_txt_strings(rdata) for rdata in answer]


def _tag(record: str, name: str) -> str:
    for part in record.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def _spf(lookup: _Lookup, domain: str) -> dict:
    try:
        records = [r for r in lookup.txt(domain) if r.lower().startswith("v=spf1")]
    except _Unresolved:
        return {"result": Check.UNRESOLVED, "detail": COULD_NOT_RESOLVE}
    if not records:
        return {"result": Check.FAIL, "detail": NO_RECORD}
    if len(records) > 1:
        return {
            "result": Check.FAIL,
            "detail": f"{len(records)} SPF records; receivers reject all of them when there "
            "is more than one",
            "records": records,
        }
    return {"result": Check.PASS, "detail": "SPF record found", "record": records[0]}


def _dmarc(lookup: _Lookup, domain: str) -> dict:
    try:
        records = [r for r in lookup.txt(f"_dmarc.{domain}") if r.upper().startswith("V=DMARC1")]
    except _Unresolved:
        return {"result": Check.UNRESOLVED, "detail": COULD_NOT_RESOLVE}
    if not records:
        return {"result": Check.FAIL, "detail": NO_RECORD}
    policy = _tag(records[0], "p").lower()
    if not policy:
        return {
            "result": Check.FAIL,
            "detail": "the DMARC record has no policy (p=)",
            "record": records[0],
        }
    return {
        "result": Check.PASS,
        "detail": f"DMARC policy: {policy}",
        "policy": policy,
        "record": records[0],
    }


def _dkim(lookup: _Lookup, domain: str, selectors) -> dict:
    found, seen = [], {}
    for selector in selectors:
        try:
            records = lookup.txt(f"{selector}._domainkey.{domain}")
        except _Unresolved:
            seen[selector] = COULD_NOT_RESOLVE
            continue
        keys = [r for r in records if "p=" in r.replace(" ", "")]
        if not keys:
            seen[selector] = NO_RECORD
        elif not _tag(keys[0], "p"):
            seen[selector] = "key revoked (empty p=)"
        else:
            seen[selector] = "found"
            found.append(selector)
    if found:
        return {
            "result": Check.PASS,
            "detail": "DKIM key found for selector " + ", ".join(found),
            "selectors": seen,
        }
    if any(value == COULD_NOT_RESOLVE for value in seen.values()):
        return {"result": Check.UNRESOLVED, "detail": COULD_NOT_RESOLVE, "selectors": seen}
    return {
        "result": Check.FAIL,
        "detail": "no DKIM key at the selectors checked: " + ", ".join(seen),
        "selectors": seen,
    }


def dkim_selectors() -> list[str]:
    configured = getattr(settings, "COMMS_DKIM_SELECTORS", None)
    return list(configured) if configured else list(DEFAULT_DKIM_SELECTORS)


def sending_domain_check(
    *, domain: SendingDomain, resolver=None, now: dt.datetime | None = None
) -> SendingDomain:
    """Look up the domain's SPF, DMARC and DKIM records and save what was found.

    `resolver` is anything with dnspython's `resolve(name, rdtype, lifetime=…)` (tests pass a
    fake one); by default the system's nameservers. Never raises on a DNS problem."""
    now = now or timezone.now()
    name = domain.domain.strip().rstrip(".").lower()
    if resolver is None:
        try:
            resolver = _default_resolver()
        except (dns.exception.DNSException, OSError):
            resolver = None
    lookup = _Lookup(resolver, CHECK_SECONDS)
    if resolver is None:
        lookup.network_down = True
    spf = _spf(lookup, name)
    dmarc = _dmarc(lookup, name)
    dkim = _dkim(lookup, name, dkim_selectors())
    domain.spf = spf["result"]
    domain.dmarc = dmarc["result"]
    domain.dkim = dkim["result"]
    domain.check_details = {
        "spf": {**spf, "result": str(spf["result"])},
        "dmarc": {**dmarc, "result": str(dmarc["result"])},
        "dkim": {**dkim, "result": str(dkim["result"])},
    }
    domain.checked_at = now
    domain.save(update_fields=["spf", "dmarc", "dkim", "check_details", "checked_at"])
    return domain
