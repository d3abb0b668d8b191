"""BAI2 cash-management files, read with the `bai2` package (the parser the format's users
maintain), with one addition of ours: a malformed transaction record is left out with its line
number instead of failing the whole file.

Each 16 (transaction detail) record, with its 88 continuations, is first parsed on its own
inside a minimal envelope; the records that pass are then parsed as one file. When a record was
left out the file's control totals no longer add up, so they are checked only when nothing was.
"""

from bai2 import bai2 as bai2_lib
from bai2.constants import TypeCodeTransaction
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException

from plixo.cashapp.parsers.base import Parsed, RawLine, StatementRejected
from plixo.core.money import MoneyError, from_minor_units

_PROBE_HEAD = ["01,A,B,200101,0000,1,,,2/", "02,A,B,1,200101,,USD,2/", "03,1,USD,/"]
_PROBE_TAIL = ["49,0,2/", "98,0,1,4/", "99,0,1,6/"]
_BAI2_ERRORS = (IntegrityException, NotSupportedYetException, ParsingException)
_KNOWN_CODES = {"01", "02", "03", "16", "49", "88", "98", "99"}


def _records(text: str) -> list[list[tuple[int, str]]]:
    """Physical lines grouped into logical records (a record plus its 88 continuations)."""
    records: list[list[tuple[int, str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("88,") and records:
            records[-1].append((number, line))
        else:
            records.append([(number, line)])
    return records


def _probe(record: list[tuple[int, str]]) -> str | None:
    """Why the library cannot read this transaction record, or None."""
    lines = _PROBE_HEAD + [line for _, line in record] + _PROBE_TAIL
    try:
        bai2_lib.parse_from_lines(lines, check_integrity=False)
    except (*_BAI2_ERRORS, ValueError, IndexError, KeyError, TypeError) as exc:
        return str(exc) or exc.__class__.__name__
    return None


def parse_bai2(text: str) -> Parsed:
    parsed = Parsed()
    records = _records(text)
    if not records or not records[0][0][1].startswith("01,"):
        raise StatementRejected("This is not a BAI2 file: it does not start with a 01 record.")
    kept: list[tuple[int, str]] = []
    detail_lines: list[int] = []
    for record in records:
        number, first = record[0]
        code = first[:2]
        if code not in _KNOWN_CODES or first[2:3] != ",":
            parsed.reject(number, f"unknown BAI2 record {first[:12]!r}")
            continue
        if code == "16":
            problem = _probe(record)
            if problem:
                parsed.reject(number, f"unreadable transaction record: {problem}")
                continue
            detail_lines.append(number)
        kept.extend(record)
    try:
        document = bai2_lib.parse_from_lines(
            [line for _, line in kept], check_integrity=not parsed.rejects
        )
    except (*_BAI2_ERRORS, ValueError, IndexError, KeyError, TypeError) as exc:
        raise StatementRejected(f"The BAI2 file could not be read: {exc}") from exc
    if parsed.rejects:
        parsed.notes.append("Control totals were not checked: some lines were left out.")

    numbers = iter(detail_lines)
    accounts = set()
    for group in document.children:
        for account in group.children:
            currency = account.header.currency or group.header.currency or "USD"
            account_number = account.header.customer_account_number or ""
            accounts.add(account_number)
            for detail in account.children:
                line = next(numbers)
                type_code = detail.type_code
                if type_code is None or detail.amount is None:
                    parsed.reject(line, "the transaction has no type code or amount")
                    continue
                try:
                    amount = from_minor_units(int(detail.amount), currency)
                except (MoneyError, ValueError) as exc:
                    parsed.reject(line, f"bad amount: {exc}")
                    continue
                if type_code.transaction == TypeCodeTransaction.debit:
                    amount = -amount
                reference = detail.customer_reference or ""
                parsed.lines.append(
                    RawLine(
                        line=line,
                        booked_on=group.header.as_of_date,
                        amount=amount,
                        currency=currency,
                        remittance=detail.text or "",
                        reference=reference,
                        bank_transaction_id=detail.bank_reference or "",
                        account=account_number,
                    )
                )
    parsed.account = ", ".join(sorted(a for a in accounts if a))[:100]
    return parsed
