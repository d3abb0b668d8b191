"""OFX bank statements, 1.x (SGML, closing tags optional) and 2.x (XML), read with a small
tokenizer of our own rather than an XML or SGML parser: only the statement aggregates are read,
nothing is resolved or fetched, and a `<!DOCTYPE` or `<!ENTITY` is refused outright.

The maintained OFX packages either pull in an HTML parser stack or expand XML entities; a
statement needs neither.
"""

import datetime as dt
import re

from plixo.cashapp.parsers.base import Parsed, RawLine, StatementRejected

_TAG = re.compile(r"<(/?)([A-Za-z0-9.]+)>([^<]*)")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&nbsp;": " "}
_ENTITY = re.compile(r"&(?:lt|gt|quot|apos|nbsp);")


def _value(raw: str) -> str:
    value = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], raw.strip())
    return value.replace("&amp;", "&")


def _ofx_date(value: str) -> dt.date:
    digits = value[:8]
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"date {value!r} is not YYYYMMDD")
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def parse_ofx(text: str) -> Parsed:
    if re.search(r"<!(?:DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise StatementRejected(
            "The OFX file declares a DOCTYPE or entities, which statements never need; it was "
            "refused for safety."
        )
    start = text.upper().find("<OFX>")
    if start < 0:
        raise StatementRejected("This is not an OFX file: no <OFX> element.")
    parsed = Parsed()
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line_of(offset: int) -> int:
        # Binary search over line starts.
        low, high = 0, len(line_starts)
        while low + 1 < high:
            mid = (low + high) // 2
            if line_starts[mid] <= offset:
                low = mid
            else:
                high = mid
        return low + 1

    currency = ""
    account = ""
    accounts: list[str] = []
    current: dict[str, str] | None = None
    current_line = 0
    path: list[str] = []
    for match in _TAG.finditer(text, start):
        closing, name, raw = match.group(1), match.group(2).upper(), match.group(3)
        if closing:
            if name == "STMTTRN" and current is not None:
                _finish(parsed, current, current_line, currency, account)
                current = None
            if name in path:
                del path[len(path) - 1 - path[::-1].index(name) :]
            continue
        value = _value(raw)
        if value:
            # An SGML element with a value has no closing tag: it is a leaf.
            if current is not None:
                key = "PAYEE.NAME" if name == "NAME" and path and path[-1] == "PAYEE" else name
                current.setdefault(key, value)
            elif name == "CURDEF":
                currency = value
            elif name == "ACCTID":
                account = value
                accounts.append(value)
            continue
        if name == "STMTTRN":
            if current is not None:  # SGML without closing tags: the next one closes it
                _finish(parsed, current, current_line, currency, account)
            current, current_line = {}, line_of(match.start())
        elif name in ("STMTRS", "CCSTMTRS"):
            currency, account = "", ""
        elif name == "BANKTRANLIST" and current is not None:
            _finish(parsed, current, current_line, currency, account)
            current = None
        path.append(name)
    if current is not None:
        _finish(parsed, current, current_line, currency, account)
    parsed.account = ", ".join(dict.fromkeys(accounts))[:100]
    return parsed


def _finish(parsed: Parsed, fields: dict, line: int, currency: str, account: str) -> None:
    amount = fields.get("TRNAMT", "")
    if not re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", amount):
        parsed.reject(line, f"amount {amount!r} is not a decimal number")
        return
    try:
        booked_on = _ofx_date(fields.get("DTPOSTED", ""))
    except ValueError:
        parsed.reject(line, f"posted date {fields.get('DTPOSTED', '')!r} is not a valid date")
        return
    memo = fields.get("MEMO", "")
    name = fields.get("NAME") or fields.get("PAYEE.NAME", "")
    parsed.lines.append(
        RawLine(
            line=line,
            booked_on=booked_on,
            amount=amount.replace(",", ".").lstrip("+"),
            currency=fields.get("CURRENCY") or currency,
            payer_name=name,
            remittance=" ".join(p for p in (memo, fields.get("CHECKNUM", "").lstrip("0")) if p),
            reference=fields.get("REFNUM", ""),
            bank_transaction_id=fields.get("FITID", ""),
            account=account,
        )
    )
