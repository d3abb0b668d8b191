"""The matcher: for each receipt, which open invoices it most likely pays, how sure we are
(0–100) and why, in words an operator can check.

Signals, strongest first:
- invoice numbers in the remittance text or reference, read the way people and OCR mangle
  them (prefix left out, spaces, leading zeros, O/0, I/1, S/5, B/8, several in one line);
- the amount: equal to the named invoices' balances, or near them (bank fees, short pays, FX);
- the payer: the customer whose name is most like the payer's (rapidfuzz), or a payer name an
  operator confirmed earlier (learned aliases);
- without named invoices, the payer's open invoices whose balances equal the amount alone or
  in a small combination (a bounded subset sum).

Every read is a query on an index: invoice numbers by the (organization, number) unique index,
amounts by (organization, currency, balance), a customer's open invoices by (organization,
customer, due date). No query loads the organization's invoices; a batch of receipts shares
its queries.
"""

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz, process

from plixo.cashapp.models import PayerAlias, Receipt
from plixo.core.models import Organization
from plixo.core.money import format_money, quantize
from plixo.ledger.models import OPEN_STATUSES, Customer, Invoice

QUERY_CHUNK = 500
SHARED_NAMES = 10  # customers one payer name may fit and still be told apart by amount
AMOUNT_ROWS = 20  # invoices of one exact amount read; more means the amount says nothing
MAX_TOKENS = 12  # number-like tokens read from one receipt's text
SUBSET_INVOICES = 24  # a payer's open invoices considered for combinations, oldest first
SUBSET_MAX = 4  # invoices in one combination
SUBSET_ALL = 16  # up to this many candidates, combinations of every size are tried
NAME_MATCH = 88  # payer name score from which a customer is taken as the payer
STRONG_NAME = 95  # a payer name this like the customer's, with an exact amount, is enough
NAME_CONTRADICTS = 55  # below this, the payer name argues against a named invoice
NEAR = Decimal("0.02")  # a difference up to 2% reads as fees or FX …
NEAR_CAP = Decimal("50")  # … and no more than this many currency units

_OCR = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
)
_WORD = re.compile(r"[A-Z0-9]+")
_SHAPE = re.compile(r"^(.*?)(\d+)(\D*)$")
_LEGAL = {
    "LTD",
    "LIMITED",
    "INC",
    "INCORPORATED",
    "LLC",
    "LLP",
    "GMBH",
    "AG",
    "SA",
    "SAS",
    "SARL",
    "BV",
    "NV",
    "PLC",
    "CO",
    "CORP",
    "CORPORATION",
    "COMPANY",
    "THE",
    "AB",
    "AS",
    "OY",
    "SPA",
    "SRL",
    "PTY",
    "KG",
    "EV",
}


@dataclass
class InvoiceRow:
    id: int
    number: str
    customer_id: int
    currency: str
    balance: Decimal
    status: str
    due_date: object

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and self.balance > 0


_ROW_FIELDS = ("id", "number", "customer_id", "currency", "balance", "status", "due_date")


def _row(values) -> InvoiceRow:
    row = InvoiceRow(*values)
    row.balance = quantize(row.balance, row.currency)
    return row


@dataclass
class Proposal:
    allocations: list[tuple[InvoiceRow, Decimal]]
    confidence: int
    rule: str
    reasons: list[str] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        text = "; ".join(self.reasons)
        return text[:1].upper() + text[1:] + "."


def _block_keys(key: str) -> set[str]:
    first = key.split(" ", 1)[0]
    return {first, first[:4] + "*"} if first else set()


def name_key(name: str) -> str:
    """A payer or customer name for comparison: capitals, no punctuation, no legal form."""
    words = re.findall(r"[A-Z0-9]+", name.upper())
    if len(words) > 2 and any(form.startswith(words[-1]) for form in _LEGAL):
        words = words[:-1]  # a legal form cut short by the bank ("SUMMIT STAFFING IN")
    kept = [w for w in words if w not in _LEGAL]
    return " ".join(kept or words)[:200]


# --- invoice numbers in text -------------------------------------------------------------


@dataclass(frozen=True)
class NumberShapes:
    """How this organization writes invoice numbers: (prefix, digit width, suffix) seen in a
    sample read off the number index."""

    shapes: frozenset[tuple[str, int, str]]

    @property
    def prefixes(self) -> set[str]:
        return {re.sub(r"[^A-Z]", "", prefix.upper()) for prefix, _, _ in self.shapes} - {""}


def number_shapes(organization: Organization, sample: int = 200) -> NumberShapes:
    invoices = Invoice.objects.filter(organization=organization)
    numbers = list(invoices.order_by("number").values_list("number", flat=True)[:sample])
    numbers += invoices.order_by("-number").values_list("number", flat=True)[:sample]
    shapes = set()
    for number in numbers:
        match = _SHAPE.match(number)
        if match:
            shapes.add((match.group(1), len(match.group(2)), match.group(3)))
    return NumberShapes(frozenset(shapes))


def number_tokens(text: str, prefixes: set[str]) -> list[str]:
    """Digit strings that may be invoice numbers, as written in `text`, OCR confusions read
    back as digits. `INV 1043`, `inv-01043`, `INVOICE NO. 1O43` and `10 43` all give 1043."""
    words = _WORD.findall(text.upper())
    found: list[str] = []

    def add(digits: str, shortest: int) -> None:
        if shortest <= len(digits) <= 14 and digits not in found:
            found.append(digits)

    for index, word in enumerate(words):
        body = word
        for prefix in sorted(prefixes, key=len, reverse=True):
            if body.startswith(prefix) and len(body) > len(prefix):
                body = body[len(prefix) :]
                break
        # Short numbers ("INV 7") count only right after the prefix; alone they are noise.
        prefixed = body != word or (index > 0 and words[index - 1] in prefixes)
        shortest = 1 if prefixed else 3
        digits_in = sum(ch.isdigit() for ch in body)
        if body.isdigit():
            add(body, shortest)
        elif digits_in and digits_in * 2 >= len(body):
            mapped = body.translate(_OCR)
            if mapped.isdigit():
                add(mapped, shortest)
        # "10 43": a number the payer typed with a space in it.
        following = words[index + 1] if index + 1 < len(words) else ""
        if body.isdigit() and following.isdigit() and len(body) <= 4 and len(following) <= 4:
            add(body + following, 3)
        if len(found) >= MAX_TOKENS:
            break
    return found


def number_candidates(token: str, shapes: NumberShapes) -> set[str]:
    value = str(int(token))
    candidates = {token, value}
    for prefix, width, suffix in shapes.shapes:
        candidates.add(f"{prefix}{value.zfill(width)}{suffix}")
        candidates.add(f"{prefix}{token}{suffix}")
    return candidates


# --- the batch matcher -------------------------------------------------------------------


class Matcher:
    """Matches receipts of one organization; reuse one per batch so the queries are shared."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self.shapes = number_shapes(organization)
        self._customers: dict[int, str] | None = None
        self._keys: list[str] = []
        self._key_ids: list[int] = []
        self._by_key: dict[str, list[int]] = {}
        # First word, and its first four letters: the fuzzy match compares a payer with the
        # customers that share one of these, not with every customer.
        self._blocks: dict[str, list[int]] = defaultdict(list)
        self._fuzzy_cache: dict[str, tuple[int, float] | None] = {}
        self._by_amount: dict[tuple[str, Decimal], list[InvoiceRow]] = {}

    # customers ---------------------------------------------------------------------------

    def _load_customers(self) -> None:
        # Customers are tens of thousands at most (invoices are what grows): names are
        # read once per batch for the fuzzy match.
        if self._customers is not None:
            return
        self._customers = {}
        for pk, name in Customer.objects.filter(organization=self.organization).values_list(
            "pk", "name"
        ):
            key = name_key(name)
            self._customers[pk] = name
            self._keys.append(key)
            self._key_ids.append(pk)
            self._by_key.setdefault(key, []).append(pk)
            for block in _block_keys(key):
                self._blocks[block].append(len(self._keys) - 1)

    def customer_name(self, customer_id: int) -> str:
        self._load_customers()
        return self._customers.get(customer_id, "")

    def name_score(self, payer: str, customer_id: int) -> float:
        self._load_customers()
        name = self._customers.get(customer_id)
        if not payer or name is None:
            return 0.0
        return fuzz.token_set_ratio(name_key(payer), name_key(name))

    def payer_customer(self, payer: str, aliases: dict[str, int]) -> tuple[int, float, str] | None:
        """(customer id, score, how) for the payer name: a learned alias, the same name, or
        the most similar customer name if it is similar enough and clearly the best."""
        if not payer:
            return None
        key = name_key(payer)
        if key in aliases:
            return aliases[key], 100.0, "alias"
        self._load_customers()
        same = self._by_key.get(key, [])
        if len(same) == 1:
            return same[0], 100.0, "name"
        if len(same) > 1:
            return None
        if key not in self._fuzzy_cache:
            indexes = sorted({i for block in _block_keys(key) for i in self._blocks.get(block, ())})
            # Banks cut names short: a payer name that begins exactly one customer's name (and
            # is long enough to mean something) is that customer.
            starting = [i for i in indexes if len(key) >= 10 and self._keys[i].startswith(key)]
            if len({self._key_ids[i] for i in starting}) == 1:
                self._fuzzy_cache[key] = (self._key_ids[starting[0]], 96.0)
                return self._key_ids[starting[0]], 96.0, "name"
            best = process.extract(
                key,
                [self._keys[i] for i in indexes],
                scorer=fuzz.token_sort_ratio,
                limit=2,
                score_cutoff=NAME_MATCH,
            )
            result = None
            if best and (len(best) == 1 or best[0][1] - best[1][1] >= 4):
                result = (self._key_ids[indexes[best[0][2]]], best[0][1])
            self._fuzzy_cache[key] = result
        found = self._fuzzy_cache[key]
        return (found[0], found[1], "name") if found else None

    # queries -----------------------------------------------------------------------------

    def _invoices_by_number(self, numbers: set[str]) -> dict[str, InvoiceRow]:
        found: dict[str, InvoiceRow] = {}
        numbers = sorted(numbers)
        for start in range(0, len(numbers), QUERY_CHUNK):
            rows = Invoice.objects.filter(
                organization=self.organization, number__in=numbers[start : start + QUERY_CHUNK]
            ).values_list(*_ROW_FIELDS)
            for row in rows:
                found[row[1]] = _row(row)
        return found

    def _open_with_balance(self, currency: str, amount: Decimal) -> list[InvoiceRow]:
        """Open invoices whose balance is exactly `amount` (at most a few come back).

        One query per amount, asked only for receipts nothing else matched: three equality
        terms make (organization, currency, balance) the index every planner takes, where an
        `IN` list let SQLite without statistics walk every invoice in the currency."""
        key = (currency, amount)
        if key not in self._by_amount:
            rows = Invoice.objects.filter(
                organization=self.organization, currency=currency, balance=amount
            ).values_list(*_ROW_FIELDS)[:AMOUNT_ROWS]
            self._by_amount[key] = [r for r in map(_row, rows) if r.is_open]
        return self._by_amount[key]

    def _customer_open(self, customer_id: int, currency: str) -> list[InvoiceRow]:
        # By the customer alone (the id comes from this organization's customers): every
        # index that starts with the organization would tempt a planner without statistics
        # into walking all the organization's open invoices in this currency.
        rows = (
            Invoice.objects.filter(
                customer_id=customer_id,
                status__in=OPEN_STATUSES,
                currency=currency,
                balance__gt=0,
            )
            .order_by("due_date", "number")
            .values_list(*_ROW_FIELDS)[:SUBSET_INVOICES]
        )
        return [_row(row) for row in rows]

    # matching ----------------------------------------------------------------------------

    def match(self, receipts: list[Receipt]) -> dict[int, list[Proposal]]:
        aliases = dict(
            PayerAlias.objects.filter(
                organization=self.organization,
                name_key__in={name_key(r.payer_name) for r in receipts if r.payer_name},
            )
            .order_by("confirmations")
            .values_list("name_key", "customer_id")
        )
        tokens = {
            r.pk: number_tokens(f"{r.reference} {r.remittance}", self.shapes.prefixes)
            for r in receipts
        }
        wanted = set()
        for found in tokens.values():
            for token in found:
                wanted |= number_candidates(token, self.shapes)
        by_number = self._invoices_by_number(wanted)
        results = {}
        for receipt in receipts:
            named: dict[int, InvoiceRow] = {}
            found_by: dict[str, InvoiceRow] = {}
            for token in tokens[receipt.pk]:
                for candidate in sorted(number_candidates(token, self.shapes)):
                    invoice = by_number.get(candidate)
                    if invoice is not None:
                        found_by.setdefault(token, invoice)
            # "INV-001 234" reads as 001, 234 and 001234: when the joined number is an
            # invoice, its halves are not other invoices the payer meant.
            halves = {
                part
                for joined in found_by
                for cut in range(1, len(joined))
                if joined[:cut] in found_by and joined[cut:] in found_by
                for part in (joined[:cut], joined[cut:])
            }
            for token, invoice in found_by.items():
                if token not in halves:
                    named.setdefault(invoice.id, invoice)
            payer = self.payer_customer(receipt.payer_name, aliases)
            results[receipt.pk] = self._propose(receipt, list(named.values()), payer)
        return results

    def _payer_reason(
        self, receipt: Receipt, customer_id: int, alias_hit: bool
    ) -> tuple[str, float]:
        if not receipt.payer_name:
            return "", -1.0
        if alias_hit:
            return (
                f"payer name {receipt.payer_name!r} confirmed earlier for "
                f"{self.customer_name(customer_id)}",
                100.0,
            )
        score = self.name_score(receipt.payer_name, customer_id)
        return f"payer name {score:.0f}% like {self.customer_name(customer_id)}", score

    def _propose(self, receipt, named, payer) -> list[Proposal]:
        amount = receipt.unapplied_amount
        currency = receipt.currency
        proposals: list[Proposal] = []
        if named:
            proposal = self._from_named(receipt, named, payer)
            if proposal:
                proposals.append(proposal)
                if proposal.confidence >= 90:
                    return proposals
        customer_id = payer[0] if payer else None
        if customer_id is not None:
            proposals += self._from_customer(receipt, customer_id, payer)
        if not proposals and payer is None and receipt.payer_name:
            proposals += self._from_name_shared(receipt)
        if not proposals:
            same = self._open_with_balance(currency, amount)
            if len(same) == 1:
                invoice = same[0]
                reasons = [
                    f"only open invoice with a balance of {format_money(amount, currency)}: "
                    f"{invoice.number}"
                ]
                confidence = 60
                reason, score = self._payer_reason(receipt, invoice.customer_id, False)
                if score >= NAME_MATCH:
                    confidence = 90
                    reasons.append(reason)
                elif 0 <= score < NAME_CONTRADICTS:
                    confidence = 40
                    reasons.append(reason)
                proposals.append(Proposal([(invoice, amount)], confidence, "amount", reasons))
        proposals.sort(key=lambda p: -p.confidence)
        return proposals[:3]

    def _from_name_shared(self, receipt) -> list[Proposal]:
        """The payer's name is exactly (or the start of) several customers' names: if just
        one of them has an open invoice of exactly this amount, that is the payer."""
        key = name_key(receipt.payer_name)
        self._load_customers()
        sharing = set(self._by_key.get(key, []))
        if len(key) >= 10:
            indexes = {i for block in _block_keys(key) for i in self._blocks.get(block, ())}
            sharing |= {self._key_ids[i] for i in indexes if self._keys[i].startswith(key)}
        if not 2 <= len(sharing) <= SHARED_NAMES:
            return []
        amount, currency = receipt.unapplied_amount, receipt.currency
        hits = [i for i in self._open_with_balance(currency, amount) if i.customer_id in sharing]
        if len(hits) != 1:
            return []
        invoice = hits[0]
        return [
            Proposal(
                [(invoice, amount)],
                95,
                "payer_amount",
                [
                    f"payer name {receipt.payer_name!r} fits {len(sharing)} customers",
                    f"only {self.customer_name(invoice.customer_id)} has an open invoice of "
                    f"this amount: {invoice.number}",
                ],
            )
        ]

    def _from_named(self, receipt, named: list[InvoiceRow], payer) -> Proposal | None:
        amount = receipt.unapplied_amount
        currency = receipt.currency
        usable = [i for i in named if i.is_open and i.currency == currency]
        if not usable:
            return None
        if len(usable) > 1:
            customers = {i.customer_id for i in usable}
            if payer and payer[0] in customers:
                usable = [i for i in usable if i.customer_id == payer[0]] or usable
        usable.sort(key=lambda i: (i.due_date, i.number))
        numbers = " and ".join(i.number for i in usable[:3]) + (
            f" and {len(usable) - 3} more" if len(usable) > 3 else ""
        )
        reasons = [f"{numbers} named in the remittance"]
        total = sum((i.balance for i in usable), Decimal("0"))
        if amount == total:
            confidence, rule = 97, "number_exact"
            reasons.append(
                "amounts sum exactly" if len(usable) > 1 else "amount equals the balance"
            )
            allocations = [(i, i.balance) for i in usable]
        elif amount > total:
            extra = amount - total
            near = extra <= min(total * NEAR, NEAR_CAP)
            confidence, rule = (88 if near else 80), "number_over"
            reasons.append(
                f"{format_money(extra, currency)} more than the balance"
                + (" (small difference)" if near else "; the rest stays unapplied")
            )
            allocations = [(i, i.balance) for i in usable]
        else:
            short = total - amount
            near = short <= min(total * NEAR, NEAR_CAP)
            # Which invoices a short pay over several leaves open is a guess: oldest first.
            confidence = (93 if near else 86) if len(usable) == 1 else (85 if near else 75)
            rule = "number_short"
            reasons.append(
                f"{format_money(short, currency)} short of the balance"
                + (" (likely fees or exchange)" if near else " (a short pay)")
            )
            allocations, left = [], amount
            for invoice in usable:
                take = min(left, invoice.balance)
                if take > 0:
                    allocations.append((invoice, take))
                    left -= take
        customers = {i.customer_id for i in usable}
        if len(customers) == 1:
            customer_id = customers.pop()
            alias_hit = bool(payer and payer[2] == "alias" and payer[0] == customer_id)
            reason, score = self._payer_reason(receipt, customer_id, alias_hit)
            if reason:
                reasons.append(reason)
            if score >= NAME_MATCH:
                # The payer is the invoice's customer: a named invoice paid a little short
                # (fees, exchange) by its own customer is as safe as an exact one.
                bonus = 3 if rule == "number_short" and confidence == 93 else 2
                confidence = min(99, confidence + bonus)
            elif 0 <= score < NAME_CONTRADICTS:
                confidence -= 20
        else:
            confidence -= 15
            reasons.append("the invoices belong to different customers")
        return Proposal(allocations, confidence, rule, reasons)

    def _from_customer(self, receipt, customer_id: int, payer) -> list[Proposal]:
        amount = receipt.unapplied_amount
        currency = receipt.currency
        invoices = self._customer_open(customer_id, currency)
        if not invoices:
            return []
        how = payer[2]
        name = self.customer_name(customer_id)
        who = (
            f"payer name {receipt.payer_name!r} confirmed earlier for {name}"
            if how == "alias"
            else f"payer name {payer[1]:.0f}% like {name}"
        )
        exact = [i for i in invoices if i.balance == amount]
        if len(exact) == 1:
            return [
                Proposal(
                    [(exact[0], amount)],
                    96 if how == "alias" or payer[1] >= STRONG_NAME else 91,
                    "payer_amount",
                    [who, f"{exact[0].number} is their only open invoice of this amount"],
                )
            ]
        if len(exact) > 1:
            return [
                Proposal(
                    [(exact[0], amount)],
                    65,
                    "payer_amount",
                    [who, f"{len(exact)} of their open invoices have this amount; oldest first"],
                )
            ]
        combos = subset_sums(invoices, amount)
        if len(combos) == 1:
            combo = combos[0]
            # Sure only when every combination was tried (few enough invoices) and the payer
            # is known beyond doubt; a coincidence of sums is otherwise too likely.
            tried_all = sum(0 < i.balance < amount for i in invoices) <= SUBSET_ALL
            strong = how == "alias" or payer[1] >= STRONG_NAME
            return [
                Proposal(
                    [(i, i.balance) for i in combo],
                    95 if strong and tried_all else 88,
                    "payer_subset",
                    [who, " + ".join(i.number for i in combo) + " sum exactly to the amount"],
                )
            ]
        if len(combos) > 1:
            combo = combos[0]
            return [
                Proposal(
                    [(i, i.balance) for i in combo],
                    55,
                    "payer_subset",
                    [
                        who,
                        f"{len(combos)} combinations of their invoices sum to the amount; "
                        "oldest shown",
                    ],
                )
            ]
        return []


def subset_sums(
    invoices: list[InvoiceRow], amount: Decimal, *, limit: int = 3
) -> list[list[InvoiceRow]]:
    """Combinations of 2 to SUBSET_MAX invoices whose balances sum to `amount`, oldest first,
    stopping after `limit`. Bounded: at most C(24, 4) ≈ 10,600 sums, pruned by the running total."""
    found: list[list[InvoiceRow]] = []
    candidates = [i for i in invoices if 0 < i.balance < amount]
    for size in range(2, SUBSET_MAX + 1):
        if size > 3 and len(candidates) > SUBSET_ALL:
            break
        for combo in itertools.combinations(candidates, size):
            if sum((i.balance for i in combo), Decimal("0")) == amount:
                found.append(list(combo))
                if len(found) >= limit:
                    return found
    return found
