"""Text input rules shared by every write: no NUL or other control characters (PostgreSQL
refuses NUL outright; CR/LF in a one-line field ends up in email headers)."""

import re

from plixo.ledger.models import LedgerError

# C0 controls and DEL, except tab, LF and CR, which multi-line text may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x85]")


def text_problem(value: str, *, single_line: bool = False) -> str | None:
    if _CONTROL.search(value):
        return "contains a control character"
    if single_line and _LINE_BREAK.search(value):
        return "must be a single line"
    return None


def text_check(value: str, what: str, *, single_line: bool = False) -> str:
    """`value` unchanged, or a LedgerError that names the field and the problem."""
    if not isinstance(value, str):
        raise LedgerError(f"{what} must be text.")
    problem = text_problem(value, single_line=single_line)
    if problem:
        raise LedgerError(f"{what} {problem}.")
    return value
