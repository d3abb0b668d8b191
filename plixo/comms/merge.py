"""Merge fields: what a template may say in braces, checked when it is saved, filled when it is
previewed or sent.

Templates use `{field}` (and `{{` / `}}` for a literal brace). Only the names in
`MERGE_FIELDS` are allowed, with no format spec, conversion, index or attribute: `{amount_due}`
is fine, `{amount_due:>10}`, `{invoice.number}` and `{amout_due}` are errors that name the
field. A checked template therefore always renders completely, so a sent email never shows a
literal `{…}`.
"""

import datetime as dt
import string
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date

from plixo.core.money import format_money

MERGE_FIELDS: dict[str, str] = {
    "pay_link": "The payer's single-use link to the invoice in the portal (fresh for each email)",
    "invoice_number": "The invoice number",
    "amount_due": "The open balance, in the invoice currency, formatted for the organization",
    "due_date": "The due date, formatted for the organization",
    "customer_name": "The customer's name",
    "contact_name": "The contact's name (or “there” when there is none)",
    "days_overdue": "Days past the due date (0 before it)",
    "sender_name": "Who sends it: the approving operator, or the organization's sender name",
}

_FORMATTER = string.Formatter()


class MergeFieldError(ValueError):
    """A template that names an unknown field or cannot be parsed; the message says which."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()):
        self.fields = fields
        super().__init__(message)


def template_fields(text: str) -> list[str]:
    """The merge fields a template uses, in order; raises MergeFieldError for anything else."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        raise MergeFieldError(
            "A brace { or } has no partner"
            + _near(text)
            + ". Close the field, like {pay_link}, or write {{ or }} for a brace itself."
        ) from None
    used, unknown = [], []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "":
            raise MergeFieldError(
                "Empty braces {} are not a merge field. Write {{}} for literal braces."
            )
        if spec or conversion or not name.isidentifier():
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            if name.split(".")[0].split("[")[0] in MERGE_FIELDS:
                raise MergeFieldError(
                    f"{shown} is not allowed: write the field alone, like "
                    f"{{{name.split('.')[0].split('[')[0]}}}.",
                    fields=(name,),
                )
            unknown.append(name)
            continue
        if name not in MERGE_FIELDS:
            unknown.append(name)
        else:
            used.append(name)
    if unknown:
        names = ", ".join("{" + n + "}" for n in dict.fromkeys(unknown))
        known = ", ".join("{" + n + "}" for n in MERGE_FIELDS)
        raise MergeFieldError(
            f"Unknown merge field{'s' if len(set(unknown)) > 1 else ''} {names}. "
            f"Known fields: {known}.",
            fields=tuple(dict.fromkeys(unknown)),
        )
    return used


def _near(text: str) -> str:
    """Where the first unpaired brace is, as a short quote."""
    depth, start = 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if text[i : i + 2] == "{{" and depth == 0:
                continue
            depth, start = depth + 1, i
        elif ch == "}" and depth:
            depth -= 1
    if start is None:
        for i, ch in enumerate(text):
            if ch == "}" and text[i : i + 2] != "}}" and (i == 0 or text[i - 1] != "}"):
                start = i
                break
    if start is None:
        return ""
    snippet = text[max(0, start - 10) : start + 15].replace("\n", " ")
    return f" near “{snippet}”"


def template_check(*, subject: str, body: str, require_pay_link: bool = False) -> None:
    """Both parts of a template; every problem of both in one error, each with its part.
    A payer email (`require_pay_link`) must carry `{pay_link}` in its body: every reminder
    gives the payer their way to pay (PORTAL-1)."""
    problems, fields = [], []
    used_in_body: list[str] = []
    for part, text in (("Subject", subject), ("Body", body)):
        try:
            used = template_fields(text)
        except MergeFieldError as exc:
            problems.append(f"{part}: {exc}")
            fields.extend(exc.fields)
            continue
        if part == "Body":
            used_in_body = used
    if (
        require_pay_link
        and "pay_link" not in used_in_body
        and not any(p.startswith("Body") for p in problems)
    ):
        problems.append(
            "Body: {pay_link} is missing. Every reminder carries the payer's single-use link "
            "to view and pay the invoice."
        )
    if problems:
        raise MergeFieldError(" ".join(problems), fields=tuple(fields))


@dataclass(frozen=True)
class MergeContext:
    invoice_number: str
    amount_due: Decimal
    currency: str
    due_date: dt.date
    customer_name: str
    contact_name: str
    days_overdue: int
    sender_name: str
    pay_link: str
    locale: str = "en_US"

    def values(self) -> dict[str, str]:
        try:
            due = format_date(self.due_date, format="medium", locale=self.locale)
        except Exception:  # an unknown locale must not stop an email
            due = self.due_date.isoformat()
        return {
            "pay_link": self.pay_link,
            "invoice_number": self.invoice_number,
            "amount_due": format_money(self.amount_due, self.currency, self.locale),
            "due_date": due,
            "customer_name": self.customer_name,
            "contact_name": self.contact_name or "there",
            "days_overdue": str(max(self.days_overdue, 0)),
            "sender_name": self.sender_name,
        }


def render(text: str, context: MergeContext) -> str:
    template_fields(text)  # refuse rather than send a half-filled email
    return text.format_map(context.values())
