"""The demo: "Northwind Supply Co." (slug `demo`) and a small European sister company.

Everything is written through the ledger services, exactly as people and imports would write
it, and the timeline is then dated to when each thing happened, so the story reads right. Dates
are relative to today in the organization's time zone; the random seed is fixed, so every build
tells the same story. Building is idempotent: an organization that exists is left alone (only
missing demo logins are added back), so a second run changes nothing.
"""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from plixo.comms.models import Message
from plixo.comms.services import cadence_tick, message_approve
from plixo.core.models import Role, User
from plixo.core.money import quantize
from plixo.ledger import services
from plixo.ledger.models import Customer, Invoice, PaymentMethod, PaymentSource, TimelineEvent
from plixo.ledger.selectors import org_today
from plixo.ledger.services.cadence import cadence_hooks_suspended
from plixo.seeding import demo_catalog as catalog
from plixo.seeding import words
from plixo.seeding.demo_commitments import demo_commitments
from plixo.seeding.members import (
    SeededOrganization,
    membership_ensure,
    organization_with_members,
)

DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Supply Co."
EUROPE_SLUG = "northwind-eu"
EUROPE_NAME = "Northwind Supply Europe B.V."
DEMO_SEED = 1907

IMPORT_LABEL = "ERP import (nightly)"
BANK_LABEL = "Bank statement import"
OPERATOR_NOTES = (
    "Called {contact}: payment run is on Thursdays, this one should make the next run.",
    "Left a voicemail for {contact} and re-sent the invoice PDF.",
    "{contact} says the invoice was stuck in approval; chasing the approver.",
    "{contact} asked for a copy of the signed delivery note. Sent.",
)
VOID_REASONS = (
    "Duplicate of {other}",
    "Billed to the wrong entity; reissued as {other}",
    "Pricing error; reissued as {other}",
    "Order cancelled before shipment",
)


@dataclass
class DemoResult:
    organizations: list[SeededOrganization]
    created: list[str]  # slugs whose ledger was built in this run

    @property
    def logins(self) -> list[tuple[str, str]]:
        return self.organizations[0].logins


@dataclass
class _Payment:
    on: dt.date
    plans: list["_Plan"]
    shares: list[Decimal]
    memo: str = ""


@dataclass
class _Plan:
    customer: Customer
    spec: catalog.CustomerSpec
    issue: dt.date
    due: dt.date
    amount: Decimal
    po_number: str
    description: str
    by_hand: bool
    number: str = ""
    invoice: Invoice | None = None
    payments: list[tuple[dt.date, Decimal]] = field(default_factory=list)
    write_off: tuple[dt.date, str] | None = None
    void: tuple[dt.date, str] | None = None

    @property
    def closed_on(self) -> dt.date | None:
        if self.void:
            return self.void[0]
        if self.write_off:
            return self.write_off[0]
        if self.payments and sum(s for _, s in self.payments) == self.amount:
            return self.payments[-1][0]
        return None


class _Story:
    """One organization's ledger: customers, contacts, invoices and what happened to them."""

    def __init__(self, *, seeded: SeededOrganization, people: dict[str, User], specs, prefix):
        self.org = seeded.organization
        self.people = people
        self.specs = specs
        self.prefix = prefix
        self.rng = random.Random(f"{DEMO_SEED}:{self.org.slug}")
        self.today = org_today(self.org)
        self.tz = ZoneInfo(self.org.time_zone)
        self.now = timezone.now()
        self.references: set[str] = set()
        self.contacts: dict[int, list] = {}

    def person(self, role: str) -> User:
        return self.people.get(role) or self.people[Role.CONTROLLER]

    def at(self, day: dt.date, hour: int, minute: int | None = None, zone=None) -> dt.datetime:
        minute = self.rng.randrange(60) if minute is None else minute
        moment = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone or self.tz)
        # Nothing in the story happens later than now, nor (in the first minutes after the
        # organization's midnight) before the start of its day.
        midnight = dt.datetime.combine(self.today, dt.time(0), tzinfo=self.tz)
        return min(moment, max(self.now - dt.timedelta(minutes=5), midnight))

    def build(self) -> None:
        # The story is history from before Plixo chased anyone: the cadence engine meets it
        # as it stands, on the tick that `demo_build` runs afterwards.
        self._exchange_rates()
        with cadence_hooks_suspended():
            customers = self._customers()
            plans = self._plan_invoices(customers)
            self._plan_voids_and_short_pays(plans)
            self._create_invoices(plans)
            self._record_money(plans, customers)
            self._reminders_and_notes(plans)
            demo_commitments(
                organization=self.org,
                today=self.today,
                operator=self.person(Role.AR_OPERATOR),
                contacts=self.contacts,
            )

    def _exchange_rates(self) -> None:
        """Daily rates for the 180 days up to today for every currency the demo invoices in,
        through the rates service an import or the API uses, so base-currency reports convert.
        Illustrative values: a reference rate per currency with a small seeded daily drift."""
        from plixo.reports.models import ExchangeRateSource
        from plixo.reports.services import RateRow, exchange_rates_upsert

        base = self.org.base_currency
        currencies = sorted({spec.currency for spec in self.specs} - {base})
        rows = []
        for currency in currencies:
            reference = catalog.USD_PER_UNIT[currency] / catalog.USD_PER_UNIT[base]
            drift = 1.0
            for back in range(180, -1, -1):
                drift *= 1 + self.rng.uniform(-0.003, 0.003)
                rate = Decimal(str(reference * drift)).quantize(Decimal("0.000001"))
                rows.append(RateRow(self.today - dt.timedelta(days=back), currency, rate))
        if rows:
            exchange_rates_upsert(
                organization=self.org, rows=rows, source=ExchangeRateSource.MANUAL
            )

    def chase(self, approve: int = 3) -> None:
        """Run the product's cadence engine once, as the scheduler does, then have the operator
        approve a few of the drafts it wrote: they go through the outbox in test mode."""
        cadence_tick()
        operator = self.person(Role.AR_OPERATOR)
        drafts = Message.objects.filter(
            organization=self.org, status=Message.Status.DRAFT, contact__isnull=False
        ).order_by("invoice__due_date", "pk")[:approve]
        for message in drafts:
            message_approve(message=message, actor=operator)

    # -- customers and contacts ----------------------------------------------------------

    def _customers(self) -> list[tuple[Customer, catalog.CustomerSpec]]:
        owners = {"sales": self.people.get(Role.SALES), "csm": self.people.get(Role.CSM)}
        # The operator works most accounts; the manager keeps every fourth one.
        operator, manager = self.people.get(Role.AR_OPERATOR), self.people.get(Role.AR_MANAGER)
        result = []
        for index, spec in enumerate(self.specs, start=1):
            low, high = catalog.RISK_RANGE[spec.behaviour]
            customer = services.customer_create(
                organization=self.org,
                external_id=f"{self.prefix}C-{1000 + index}",
                name=spec.name,
                segment=spec.segment,
                owner=owners.get(spec.owner),
                collector=manager if index % 4 == 0 else operator,
                time_zone=spec.time_zone,
                country=spec.country,
                currency=spec.currency,
                risk_score=self.rng.randint(low, high),
            )
            self._contacts(customer, spec)
            result.append((customer, spec))
        self._suppressions()
        return result

    def _contact_name(self, country: str) -> str:
        if country == "JP":
            first = self.rng.choice(catalog.JAPANESE_FIRST_NAMES)
            return f"{first} {self.rng.choice(catalog.JAPANESE_LAST_NAMES)}"
        return words.person_name(self.rng)

    def _contacts(self, customer: Customer, spec: catalog.CustomerSpec) -> None:
        domain = words.email_domain(spec.name)
        count = {"enterprise": 3, "mid-market": 2, "smb": 1}[spec.segment]
        count = max(1, min(3, count + self.rng.choice((-1, 0, 0, 1))))
        made = []
        if spec.segment == catalog.ENTERPRISE:
            made.append(
                services.contact_create(
                    customer=customer,
                    email=f"ap@{domain}",
                    name="Accounts Payable Team",
                    role="Accounts payable",
                )
            )
        while len(made) < count:
            name = self._contact_name(spec.country)
            email = f"{words.email_local(name)}@{domain}"
            if any(contact.email == email for contact in made):
                continue
            made.append(
                services.contact_create(
                    customer=customer,
                    email=email,
                    name=name,
                    role=catalog.CONTACT_ROLES[len(made) % len(catalog.CONTACT_ROLES)],
                )
            )
        self.contacts[customer.pk] = made

    def _suppressions(self) -> None:
        candidates = [contacts for contacts in self.contacts.values() if len(contacts) > 1]
        reasons = (
            ("On parental leave; the covering colleague is the primary contact.", 21),
            ("Asked to pause reminders while the PO is being reissued.", 6),
            ("Mailbox no longer monitored (hard bounce).", None),
        )
        chosen = self.rng.sample(candidates, min(len(candidates), len(reasons)))
        for contacts, (reason, days) in zip(chosen, reasons, strict=False):
            until = self.now + dt.timedelta(days=days) if days else None
            services.contact_suppress(contact=contacts[-1], reason=reason, until=until)

    # -- planning -------------------------------------------------------------------------

    def _plan_invoices(self, customers) -> list[_Plan]:
        plans = []
        for customer, spec in customers:
            (low, high), terms, (fewest, most) = catalog.SEGMENT_PROFILE[spec.segment]
            factor = catalog.CURRENCY_FACTOR[spec.currency]
            age = self.rng.randint(0, 20)
            for _ in range(self.rng.randint(fewest, most)):
                issue = self.today - dt.timedelta(days=age)
                usd = Decimal(self.rng.randint(low * 100, high * 100)) / 100
                plan = _Plan(
                    customer=customer,
                    spec=spec,
                    issue=issue,
                    due=issue + dt.timedelta(days=self.rng.choice(terms)),
                    amount=quantize(usd * factor, spec.currency),
                    po_number=(
                        f"PO-{self.rng.randint(4500000000, 4509999999)}"
                        if spec.segment == catalog.ENTERPRISE or self.rng.random() < 0.3
                        else ""
                    ),
                    description=f"{self.rng.choice(catalog.PRODUCT_LINES)}, {issue:%B %Y}",
                    by_hand=self.rng.random() < 0.15,
                )
                self._plan_outcome(plan)
                plans.append(plan)
                age += self.rng.randint(24, 36)
        plans.sort(key=lambda plan: (plan.issue, plan.customer.external_id))
        for number, plan in enumerate(plans, start=1):
            plan.number = f"{self.prefix}INV-{10000 + number}"
        return plans

    def _plan_outcome(self, plan: _Plan) -> None:
        behaviour, rng = plan.spec.behaviour, self.rng
        delay = {
            catalog.PROMPT: (-8, 4),
            catalog.STEADY: (2, 28),
            catalog.SLOW: (25, 80),
            catalog.DISTRESSED: (60, 160),
        }[behaviour]
        pays_on = max(
            plan.due + dt.timedelta(days=rng.randint(*delay)), plan.issue + dt.timedelta(2)
        )
        overdue = (self.today - plan.due).days
        partial_odds = {catalog.SLOW: 0.3, catalog.DISTRESSED: 0.55}.get(behaviour, 0)
        if pays_on < self.today:
            if rng.random() < partial_odds:
                plan.payments.append((pays_on, self._part(plan.amount, plan.spec.currency)))
            else:
                plan.payments.append((pays_on, plan.amount))
        elif partial_odds and overdue > 20 and rng.random() < 0.35:
            on = plan.due + dt.timedelta(days=rng.randint(7, min(overdue - 1, 30)))
            plan.payments.append((on, self._part(plan.amount, plan.spec.currency)))
        if (
            behaviour == catalog.DISTRESSED
            and plan.closed_on is None
            and overdue > 130
            and rng.random() < 0.5
        ):
            on = plan.due + dt.timedelta(days=rng.randint(121, overdue - 1))
            if not plan.payments or plan.payments[-1][0] < on:
                reason = rng.choice(
                    (
                        "Customer entered administration; claim filed with the administrator.",
                        "Uncollectable: no response after final notice and collection agency.",
                    )
                )
                plan.write_off = (on, reason)

    def _part(self, amount: Decimal, currency: str) -> Decimal:
        return quantize(amount * Decimal(self.rng.choice((25, 40, 50, 60))) / 100, currency)

    def _plan_voids_and_short_pays(self, plans: list[_Plan]) -> None:
        untouched = [
            p
            for p in plans
            if not p.payments and not p.write_off and 15 < (self.today - p.issue).days < 200
        ]
        voids = max(1, len(plans) // 75)  # four in the main demo, one in the small one
        for plan in self.rng.sample(untouched, min(voids, len(untouched))):
            later = [p for p in plans if p.customer == plan.customer and p.issue > plan.issue]
            other = later[0].number if later else ""
            reasons = [r for r in VOID_REASONS if other or "{other}" not in r]
            reason = self.rng.choice(reasons).format(other=other)
            plan.void = (plan.issue + dt.timedelta(days=self.rng.randint(1, 3)), reason)
        # Wires from abroad often arrive short by the banks' charges; the rest is written off.
        wired = [
            p
            for p in plans
            if p.spec.currency != self.org.base_currency
            and len(p.payments) == 1
            and p.payments[0][1] == p.amount
            and not p.write_off
        ]
        for plan in self.rng.sample(wired, min(2, len(wired))):
            on, amount = plan.payments[0]
            fee = quantize(
                Decimal(25) * catalog.CURRENCY_FACTOR[plan.spec.currency], plan.spec.currency
            )
            plan.payments = [(on, amount - fee)]
            plan.write_off = (
                on + dt.timedelta(days=2),
                "Bank charges deducted by the payer's bank.",
            )

    # -- writing --------------------------------------------------------------------------

    def _backdate(self, invoice: Invoice, kind: str, at: dt.datetime) -> None:
        latest = invoice.timeline.filter(kind=kind).order_by("-id").values_list("pk", flat=True)[:1]
        TimelineEvent.objects.filter(pk__in=list(latest)).update(at=at)

    def _create_invoices(self, plans: list[_Plan]) -> None:
        billing = self.person(Role.BILLING_ADMIN)
        for plan in plans:
            plan.invoice = services.invoice_create(
                organization=self.org,
                customer=plan.customer,
                number=plan.number,
                issue_date=plan.issue,
                due_date=plan.due,
                currency=plan.spec.currency,
                amount=plan.amount,
                po_number=plan.po_number,
                description=plan.description,
                actor=billing if plan.by_hand else None,
                actor_label=None if plan.by_hand else IMPORT_LABEL,
                event_kind=(
                    TimelineEvent.Kind.CREATED if plan.by_hand else TimelineEvent.Kind.IMPORTED
                ),
            )
            created = self.at(plan.issue, 10 if plan.by_hand else 6)
            kind = TimelineEvent.Kind.CREATED if plan.by_hand else TimelineEvent.Kind.IMPORTED
            self._backdate(plan.invoice, kind, created)

    def _payments(self, plans: list[_Plan]) -> list[_Payment]:
        """Payments in date order; big customers pay several invoices with one remittance."""
        payments: list[_Payment] = []
        grouped: dict[int, _Payment] = {}
        for plan in plans:
            for on, share in plan.payments:
                last = grouped.get(plan.customer.pk)
                if (
                    plan.spec.segment == catalog.ENTERPRISE
                    and share == plan.amount
                    and last is not None
                    and abs((on - last.on).days) <= 12
                    and all(s == p.amount for s, p in zip(last.shares, last.plans, strict=True))
                ):
                    last.on = max(last.on, on)
                    last.plans.append(plan)
                    last.shares.append(share)
                    continue
                payment = _Payment(on=on, plans=[plan], shares=[share])
                payments.append(payment)
                if plan.spec.segment == catalog.ENTERPRISE:
                    grouped[plan.customer.pk] = payment
        return sorted(payments, key=lambda p: (p.on, p.plans[0].number))

    def _reference(self, method: str, on: dt.date) -> str:
        while True:
            reference = {
                PaymentMethod.ACH: f"ACH-{on:%Y%m%d}-{self.rng.randint(1000, 9999)}",
                PaymentMethod.CHECK: f"CHK-{self.rng.randint(10000, 99999)}",
                PaymentMethod.WIRE: f"WIRE-{self.rng.getrandbits(32):08X}",
                PaymentMethod.CARD: f"CARD-{self.rng.randint(100000, 999999)}",
            }[method]
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def _record_money(self, plans: list[_Plan], customers) -> None:
        """Apply payments, voids and write-offs in the order they happened."""
        actions: list[tuple[dt.date, int, Callable[[], None]]] = []
        for payment in self._payments(plans):
            actions.append((payment.on, len(actions), partial(self._record_payment, payment)))
        for plan in plans:
            if plan.void:
                actions.append((plan.void[0], len(actions), partial(self._void, plan)))
            if plan.write_off:
                actions.append((plan.write_off[0], len(actions), partial(self._write_off, plan)))
        slow = [customer for customer, spec in customers if spec.behaviour == catalog.SLOW]
        if slow:
            # Cash that arrived without remittance advice: recorded, not yet applied.
            on_account = _Payment(
                on=self.today - dt.timedelta(days=3),
                plans=[],
                shares=[],
                memo="No remittance advice; asked the customer which invoices it covers.",
            )
            record = partial(self._record_payment, on_account, customer=slow[0])
            actions.append((on_account.on, len(actions), record))
        for _, _, action in sorted(actions, key=lambda item: item[:2]):
            action()

    def _record_payment(self, payment: _Payment, customer: Customer | None = None) -> None:
        customer = customer or payment.plans[0].customer
        if customer.currency != "USD":
            method = PaymentMethod.WIRE
        elif not payment.plans:
            method = PaymentMethod.ACH
        elif customer.segment == catalog.SMB:
            method = self.rng.choice((PaymentMethod.CHECK, PaymentMethod.CARD, PaymentMethod.ACH))
        else:
            method = self.rng.choice((PaymentMethod.ACH, PaymentMethod.ACH, PaymentMethod.CHECK))
        by_hand = method in (PaymentMethod.CHECK, PaymentMethod.CARD)
        received = self.at(payment.on, self.rng.randint(9, 15))
        operator = self.person(Role.AR_OPERATOR)
        total = sum(payment.shares, Decimal(0)) or quantize(
            Decimal(self.rng.randint(800, 2400)) * catalog.CURRENCY_FACTOR[customer.currency],
            customer.currency,
        )
        services.payment_record(
            organization=self.org,
            reference=self._reference(method, payment.on),
            amount=total,
            currency=customer.currency,
            received_at=received,
            method=method,
            source=PaymentSource.MANUAL if by_hand else PaymentSource.BANK,
            customer=customer,
            allocations=[
                services.AllocationRequest(invoice=plan.invoice, amount=share)
                for plan, share in zip(payment.plans, payment.shares, strict=True)
            ],
            memo=payment.memo,
            actor=operator if by_hand else None,
            actor_label=None if by_hand else BANK_LABEL,
        )
        recorded = min(received + dt.timedelta(hours=2), self.now - dt.timedelta(minutes=1))
        for plan in payment.plans:
            self._backdate(plan.invoice, TimelineEvent.Kind.PAYMENT_RECORDED, recorded)

    def _void(self, plan: _Plan) -> None:
        on, reason = plan.void
        services.invoice_void(
            invoice=plan.invoice, actor=self.person(Role.BILLING_ADMIN), reason=reason
        )
        self._backdate(plan.invoice, TimelineEvent.Kind.VOIDED, self.at(on, 11))

    def _write_off(self, plan: _Plan) -> None:
        on, reason = plan.write_off
        actor = self.person(Role.LEGAL if "administration" in reason else Role.AR_MANAGER)
        if plan.invoice.currency != self.org.base_currency:
            # No exchange rate compares a foreign amount with a manager's approval limit, so
            # the write-off would wait for approval: the Controller, who has no limit, does it.
            actor = self.person(Role.CONTROLLER)
        services.invoice_write_off(invoice=plan.invoice, actor=actor, reason=reason)
        self._backdate(plan.invoice, TimelineEvent.Kind.WRITTEN_OFF, self.at(on, 16))

    def _reminders_and_notes(self, plans: list[_Plan]) -> None:
        operator = self.person(Role.AR_OPERATOR)
        for plan in plans:
            if plan.void:
                continue
            stop = min(plan.closed_on or self.today, self.today)
            contacts = [c for c in self.contacts[plan.customer.pk] if not c.suppression_reason]
            contact = contacts[0] if contacts else self.contacts[plan.customer.pk][0]
            late = (stop - plan.due).days
            if late > 25 and plan.spec.behaviour in (catalog.SLOW, catalog.DISTRESSED):
                first_name = (contact.name or "AP").split()[0]
                text = self.rng.choice(OPERATOR_NOTES).format(contact=first_name)
                services.timeline_record(
                    invoice=plan.invoice,
                    kind=TimelineEvent.Kind.NOTE,
                    actor=operator,
                    at=self.at(plan.due + dt.timedelta(days=25), 14),
                    data={"text": text},
                )
            if late > 60 and plan.spec.behaviour == catalog.DISTRESSED:
                services.timeline_record(
                    invoice=plan.invoice,
                    kind=TimelineEvent.Kind.NOTE,
                    actor=self.person(Role.AR_MANAGER),
                    at=self.at(plan.due + dt.timedelta(days=60), 11),
                    data={
                        "text": "Escalated: account on credit hold until the balance is cleared."
                    },
                )


def demo_build() -> DemoResult:
    """Build the demo organizations unless they exist; safe and fast to call on every start."""
    built: list[str] = []
    with transaction.atomic():
        main = organization_with_members(
            slug=DEMO_SLUG,
            name=DEMO_NAME,
            base_currency="USD",
            locale="en_US",
            time_zone="America/New_York",
            full_names=catalog.DEMO_FULL_NAMES,
        )
        people = {role: membership.user for role, membership in main.members.items()}
        if main.created:
            story = _Story(seeded=main, people=people, specs=catalog.DEMO_CUSTOMERS, prefix="")
            story.build()
            built.append(DEMO_SLUG)
    with transaction.atomic():
        europe = organization_with_members(
            slug=EUROPE_SLUG,
            name=EUROPE_NAME,
            base_currency="EUR",
            locale="nl_NL",
            time_zone="Europe/Amsterdam",
            roles=(),
        )
        controller = people[Role.CONTROLLER]
        membership = membership_ensure(
            organization=europe.organization, user=controller, role=Role.CONTROLLER
        )
        europe.members[Role.CONTROLLER] = membership
        if europe.created:
            _Story(
                seeded=europe,
                people={Role.CONTROLLER: controller},
                specs=catalog.EUROPE_CUSTOMERS,
                prefix="EU-",
            ).build()
            built.append(EUROPE_SLUG)
    if main.created:
        with transaction.atomic():
            story.chase()
    return DemoResult(organizations=[main, europe], created=built)
