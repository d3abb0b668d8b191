"""How a file writes its dates and amounts, read from the file itself when the upload does not
say.

A file comes from one program, which writes every date and every amount the same way, so one
value that can only be read one way settles the format for the whole file: 31/01/2026 can only
be a day before a month, 1.234,56 only has a decimal comma. Values that fit both readings
(03/04/2026, 1,234) settle nothing, and a file of nothing else is ambiguous: the upload has to
say which reading is meant, and the import refuses to guess.

The scan stops as soon as both formats are settled. A file of ISO dates and plain decimal
amounts (what Plixo's own exports and most programs write) is settled on its first rows.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from plixo.imports.pipeline.decode import Record
from plixo.imports.pipeline.headers import HeaderMap
from plixo.imports.pipeline.numbers import number_hint

DATE_COLUMNS = ("issue_date", "due_date", "paid_date", "received_date")
AMOUNT_COLUMNS = (
    "amount",
    "balance",
    "amount_paid",
    "line_amount",
    "total",
    "current",
    "days_1_30",
    "days_31_60",
    "days_61_90",
    "days_over_90",
)
# This many date (or amount) cells with nothing regional (or no separator) in them settle the
# format as ISO (or as a decimal point) without reading the rest of a large file.
SETTLE_AFTER = 1000

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?")
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})/\d{4}")
_DOT = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}")

DATE_LABELS = {
    "iso": "YYYY-MM-DD",
    "mdy": "MM/DD/YYYY",
    "dmy": "DD/MM/YYYY",
    "dmy_dot": "DD.MM.YYYY",
}
NUMBER_LABELS = {"point": "1,234.56", "comma": "1.234,56"}


def date_hint(raw: str) -> str | None:
    """ "iso", "mdy", "dmy", "dmy_dot", "slash" (day and month both 12 or less: either way) or
    None (empty, or no date Plixo reads)."""
    if _ISO.fullmatch(raw):
        return "iso"
    match = _SLASH.fullmatch(raw)
    if match:
        first, second = int(match[1]), int(match[2])
        if first > 12 >= second:
            return "dmy"
        if second > 12 >= first:
            return "mdy"
        return "slash" if first <= 12 and second <= 12 else None
    if _DOT.fullmatch(raw):
        return "dmy_dot"
    return None


@dataclass
class Finding:
    """One format: what was found, and the value and line that showed it."""

    value: str | None = None  # the format, or None while unsettled
    example: str = ""
    line: int = 0
    ambiguous_example: str = ""
    ambiguous_line: int = 0
    plain_seen: int = 0  # values that say nothing (ISO dates; amounts without separators)

    @property
    def ambiguous(self) -> bool:
        return self.value is None and bool(self.ambiguous_example)

    def settle(self, value: str, example: str, line: int) -> None:
        self.value, self.example, self.line = value, example, line


@dataclass
class Detected:
    dates: Finding
    numbers: Finding

    @property
    def date_format(self) -> str:
        return self.dates.value or "iso"

    @property
    def number_format(self) -> str:
        return self.numbers.value or "point"


def detect(
    records: Iterable[Record],
    mapping: HeaderMap,
    *,
    dates: bool,
    numbers: bool,
    limit: int | None = None,
) -> Detected:
    """Read the date and amount columns of the body until each wanted format is settled (or
    the file, or `limit` records, ends)."""
    found = Detected(Finding(), Finding())
    date_cells = [i for name, i in mapping.positions.items() if name in DATE_COLUMNS]
    amount_cells = [i for name, i in mapping.positions.items() if name in AMOUNT_COLUMNS]
    want_dates = dates and bool(date_cells)
    want_numbers = numbers and bool(amount_cells)
    for count, record in enumerate(records):
        if not (want_dates or want_numbers) or (limit is not None and count >= limit):
            break
        cells = record.cells or []
        width = len(cells)
        if want_dates:
            for i in date_cells:
                raw = cells[i].strip() if i < width else ""
                if raw:
                    _see_date(found.dates, raw, record.line)
            want_dates = not _settled(found.dates, "iso")
        if want_numbers:
            for i in amount_cells:
                raw = cells[i].strip() if i < width else ""
                if raw:
                    _see_number(found.numbers, raw, record.line)
            want_numbers = not _settled(found.numbers, "point")
    return found


def _settled(finding: Finding, default: str) -> bool:
    if finding.value is not None:
        return True
    if not finding.ambiguous_example and finding.plain_seen >= SETTLE_AFTER:
        finding.settle(default, "", 0)
        return True
    return False


def _see_date(finding: Finding, raw: str, line: int) -> None:
    hint = date_hint(raw)
    if hint == "iso":
        finding.plain_seen += 1
    elif hint == "slash":
        if not finding.ambiguous_example:
            finding.ambiguous_example, finding.ambiguous_line = raw, line
    elif hint is not None and finding.value is None:
        finding.settle(hint, raw, line)


def _see_number(finding: Finding, raw: str, line: int) -> None:
    hint = number_hint(raw)
    if hint is None:
        finding.plain_seen += 1
    elif hint == "ambiguous":
        if not finding.ambiguous_example:
            finding.ambiguous_example, finding.ambiguous_line = raw, line
    elif finding.value is None:
        finding.settle(hint, raw, line)


def ambiguous_dates_message(finding: Finding) -> str:
    return (
        f"Every date in the file could be read as DD/MM/YYYY or as MM/DD/YYYY (for example "
        f"{finding.ambiguous_example!r} on line {finding.ambiguous_line}), so Plixo does not "
        "guess. Choose how the file writes dates: on the upload page, with --date-format dmy "
        "or mdy on the command line, or date_format in the API."
    )


def ambiguous_amounts_message(finding: Finding) -> str:
    return (
        f"The file's amounts could be read with a decimal point or a decimal comma (for "
        f"example {finding.ambiguous_example!r} on line {finding.ambiguous_line} is a thousand "
        "in one and one in the other), so Plixo does not guess. Choose how the file writes "
        "amounts: on the upload page, with --number-format point or comma on the command "
        "line, or number_format in the API."
    )


def described(finding: Finding, labels: dict[str, str], *, chosen: bool = False) -> str:
    """For the summary and the preview: "DD/MM/YYYY, found from '31/01/2026' on line 7"."""
    if finding.value is None:
        return ""
    label = labels.get(finding.value, finding.value)
    if chosen:
        return f"{label} (as chosen)"
    if finding.example:
        return f"{label}, detected from {finding.example!r} on line {finding.line}"
    return f"{label} (nothing in the file says otherwise)"
