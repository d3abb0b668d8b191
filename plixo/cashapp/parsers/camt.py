"""ISO 20022 bank-to-customer statements (camt.053) and notifications (camt.054), any version.

Parsed with defusedxml: a document with a DOCTYPE, an entity declaration or an external
reference is refused whole before any of it is read (billion laughs, XXE). Elements are found
by local name, so every message version reads the same way.

Each entry (`Ntry`) is a line; an entry that carries several transactions with amounts of
their own (a batch) gives one line per transaction, since each has its own payer and
remittance text. The line number is where the entry starts in the file.
"""

import datetime as dt
import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from plixo.cashapp.parsers.base import Parsed, RawLine, StatementRejected

_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Ntry[\s/>]")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _children(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [c for c in element if _local(c.tag) == name]


def _text(element: Element | None, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _descendants(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [e for e in element.iter() if _local(e.tag) == name]


def _date(element: Element | None) -> dt.date | None:
    if element is None:
        return None
    day = _text(element, "Dt")
    if day:
        return dt.date.fromisoformat(day[:10])
    moment = _text(element, "DtTm")
    if moment:
        return dt.date.fromisoformat(moment[:10])
    return None


def _remittance(tx: Element | None, entry: Element) -> str:
    parts: list[str] = []
    for info in _descendants(tx, "RmtInf"):
        parts += [(u.text or "").strip() for u in _descendants(info, "Ustrd")]
        parts += [(r.text or "").strip() for r in _descendants(info, "Ref")]
        parts += [
            (r.text or "").strip()
            for r in _descendants(info, "RfrdDocInf")
            for r in _descendants(r, "Nb")
        ]
    parts.append(_text(tx, "AddtlTxInf"))
    parts.append(_text(entry, "AddtlNtryInf"))
    return " ".join(dict.fromkeys(p for p in parts if p))


def _party_name(tx: Element | None, role: str) -> str:
    """The debtor's (payer's) or creditor's name; v2–v7 put it in `Dbtr/Nm`, v8+ in
    `Dbtr/Pty/Nm`."""
    parties = _child(tx, "RltdPties")
    return _text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm")


def _amount(element: Element | None) -> tuple[str, str] | None:
    """(amount text, currency) of the element's own `Amt`, or of `AmtDtls/TxAmt/Amt`."""
    amount = _child(element, "Amt")
    if amount is None:
        amount = _child(element, "AmtDtls", "TxAmt", "Amt")
    if amount is None:
        return None
    return (amount.text or "").strip(), (amount.get("Ccy") or "").strip()


def _entry_lines(text: bytes) -> list[int]:
    starts = []
    line = 1
    last = 0
    for match in _ENTRY_START.finditer(text):
        line += text.count(b"\n", last, match.start())
        last = match.start()
        starts.append(line)
    return starts


def parse_camt(data: bytes) -> Parsed:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise StatementRejected(
            "The XML file declares a DOCTYPE, entities or external references, which bank "
            "statements never need; it was refused for safety."
        ) from exc
    except ParseError as exc:
        raise StatementRejected(f"The XML file is not well formed: {exc}") from exc
    if _local(root.tag) != "Document":
        raise StatementRejected("This is not an ISO 20022 camt document (no Document root).")
    message = next(iter(root), None)
    if message is None or _local(message.tag) not in ("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn"):
        raise StatementRejected(
            "This is not a camt.053 statement or camt.054 notification (BkToCstmrStmt or "
            "BkToCstmrDbtCdtNtfctn expected)."
        )
    parsed = Parsed()
    entry_lines = iter(_entry_lines(data))
    accounts = []
    skipped = 0
    for report in [*_children(message, "Stmt"), *_children(message, "Ntfctn")]:
        account = _text(report, "Acct", "Id", "IBAN") or _text(report, "Acct", "Id", "Othr", "Id")
        account_currency = _text(report, "Acct", "Ccy")
        accounts.append(account)
        for entry in _children(report, "Ntry"):
            line = next(entry_lines, 0)
            try:
                lines = _read_entry(entry, line=line, account=account, default=account_currency)
            except (ValueError, TypeError) as exc:
                parsed.reject(line, f"unreadable entry: {exc}")
                continue
            if lines is None:
                skipped += 1
                continue
            parsed.lines += lines
    if skipped:
        parsed.notes.append(f"{skipped} entries not booked yet (pending) were left out.")
    parsed.account = ", ".join(a for a in dict.fromkeys(accounts) if a)[:100]
    return parsed


def _read_entry(entry: Element, *, line: int, account: str, default: str) -> list[RawLine] | None:
    status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
    if status and status != "BOOK":
        return None
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise ValueError(f"credit/debit indicator {indicator!r} is neither CRDT nor DBIT")
    sign = "-" if indicator == "DBIT" else ""
    if _text(entry, "RvslInd").lower() == "true":
        # A reversal of a credit takes money away: it is not a receipt.
        sign = "" if sign else "-"
    booked_on = _date(_child(entry, "BookgDt")) or _date(_child(entry, "ValDt"))
    entry_amount = _amount(entry)
    if entry_amount is None:
        raise ValueError("the entry has no amount")
    entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    transactions = _descendants(_child(entry, "NtryDtls"), "TxDtls")
    with_amounts = [tx for tx in transactions if _amount(tx) is not None]
    if len(transactions) > 1 and len(with_amounts) == len(transactions):
        parts = []
        for index, tx in enumerate(transactions, start=1):
            amount, currency = _amount(tx)
            tx_ref = (
                _text(tx, "Refs", "AcctSvcrRef")
                or _text(tx, "Refs", "TxId")
                or (f"{entry_ref}#{index}" if entry_ref else "")
            )
            parts.append(
                _line(
                    tx, entry, line, sign + amount, currency or default, tx_ref, booked_on, account
                )
            )
        return parts
    tx = transactions[0] if transactions else None
    amount, currency = entry_amount
    tx_ref = entry_ref or _text(tx, "Refs", "AcctSvcrRef") or _text(tx, "Refs", "TxId")
    return [_line(tx, entry, line, sign + amount, currency or default, tx_ref, booked_on, account)]


def _line(tx, entry, line, amount, currency, bank_id, booked_on, account) -> RawLine:
    if amount.lstrip("-").startswith("-"):
        raise ValueError(f"amount {amount!r} is not a positive decimal")
    payer_role = "Dbtr" if not amount.startswith("-") else "Cdtr"
    reference = _text(tx, "Refs", "EndToEndId")
    if reference == "NOTPROVIDED":
        reference = ""
    return RawLine(
        line=line,
        booked_on=booked_on,
        amount=amount,
        currency=currency,
        payer_name=_party_name(tx, payer_role),
        remittance=_remittance(tx, entry),
        reference=reference,
        bank_transaction_id=bank_id,
        account=account,
    )
