"""Statement parsers: bytes in, `Parsed` out (lines and rejected lines with their numbers).

Nothing here writes; `plixo.cashapp.services.statement_import` validates and stores.
"""

from plixo.cashapp.models import StatementFormat
from plixo.cashapp.parsers.bai2_format import parse_bai2
from plixo.cashapp.parsers.base import (
    MAX_FILE_BYTES,
    MAX_LINES,
    CleanLine,
    LineReject,
    Parsed,
    StatementRejected,
    clean_line,
    decode_text,
)
from plixo.cashapp.parsers.camt import parse_camt
from plixo.cashapp.parsers.csv_format import parse_csv
from plixo.cashapp.parsers.ofx import parse_ofx


def detect_format(data: bytes, file_name: str = "") -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"01,"):
        return StatementFormat.BAI2
    if b"OFXHEADER" in head[:200] or b"<OFX>" in head.upper():
        return StatementFormat.OFX
    if head.startswith(b"<?xml") or head.startswith(b"<Document"):
        return StatementFormat.OFX if b"<?OFX" in head else StatementFormat.CAMT
    name = file_name.lower()
    for suffix, kind in (
        (".bai", "bai2"),
        (".bai2", "bai2"),
        (".ofx", "ofx"),
        (".qfx", "ofx"),
        (".xml", "camt"),
        (".csv", "csv"),
    ):
        if name.endswith(suffix):
            return kind
    return StatementFormat.CSV


def parse(data: bytes, *, format: str, default_currency: str = "") -> Parsed:
    if len(data) > MAX_FILE_BYTES:
        raise StatementRejected(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it by date."
        )
    if not data.strip():
        raise StatementRejected("The file is empty.")
    if format == StatementFormat.CAMT:
        parsed = parse_camt(data)
    else:
        text = decode_text(data)
        if format == StatementFormat.BAI2:
            parsed = parse_bai2(text)
        elif format == StatementFormat.OFX:
            parsed = parse_ofx(text)
        elif format == StatementFormat.CSV:
            parsed = parse_csv(text, default_currency=default_currency)
        else:
            raise StatementRejected(f"Unknown statement format {format!r}.")
    if len(parsed.lines) + len(parsed.rejects) > MAX_LINES:
        raise StatementRejected(f"The file has more than {MAX_LINES:,} lines; split it by date.")
    return parsed


__all__ = [
    "CleanLine",
    "LineReject",
    "Parsed",
    "StatementRejected",
    "clean_line",
    "detect_format",
    "parse",
]
