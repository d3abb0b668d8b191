"""Bytes to CSV records, streaming: encoding detection, delimiter sniffing, bounded lines.

The encoding is settled by one pass over the bytes before any row is read (UTF-8, with or
without a byte order mark, else Windows-1252), so a file that is neither is rejected whole
before anything is written. Records are then read lazily; no line or field is held beyond
`MAX_FIELD` characters, so a file with a gigantic line cannot exhaust memory.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
MAX_FIELD = 1 << 20  # characters in one field or one physical line
SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
# Stands in for a line longer than MAX_LINE; a NUL never survives decoding, so it cannot
# collide with real data.
OVERLONG = "\x00overlong"

csv.field_size_limit(MAX_FIELD)


class UndecodableFile(ValueError):
    """The bytes are not text in an encoding Plixo reads."""


@dataclass(frozen=True)
class Dialect:
    encoding: str  # "utf-8-sig" or "cp1252"
    delimiter: str


# What finance users upload by mistake, by the bytes files of that kind start with.
_NOT_CSV = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zipped file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
)
_EXPORT_HINT = (
    "In your spreadsheet or accounting product, export or save it as CSV and upload that."
)


def not_a_csv(stream: BinaryIO) -> None:
    """Refuse a file that is plainly another format (a PDF, a workbook, an image), naming it."""
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    for magic, what in _NOT_CSV:
        if head.startswith(magic):
            raise UndecodableFile(f"This is {what}, not a CSV file. {_EXPORT_HINT}")


def detect_encoding(stream: BinaryIO) -> str:
    """Scan the whole file once: UTF-8 (a BOM is dropped) or Windows-1252, else reject."""
    not_a_csv(stream)
    stream.seek(0)
    if b"\x00" in stream.read(SAMPLE_BYTES):
        raise UndecodableFile(f"This is not a CSV file: it holds binary data. {_EXPORT_HINT}")
    stream.seek(0)
    head = stream.read(len(codecs.BOM_UTF8))
    stream.seek(0)
    if _decodes(stream, "utf-8"):
        return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    stream.seek(0)
    if _decodes(stream, "cp1252"):
        return "cp1252"
    raise UndecodableFile(
        "The file could not be read as text: it is not UTF-8 or Windows-1252 (cp1252). "
        "Save it as CSV UTF-8 and upload it again."
    )


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(CHUNK):
            if b"\x00" in chunk:
                # Text files have no NUL bytes; this is a spreadsheet or another binary file.
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(sample: str) -> str:
    """The delimiter of the first line: the most frequent of `,` `;` tab outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in sample:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
        elif not quoted and char in "\r\n" and any(counts.values()):
            break
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def text_stream(stream: BinaryIO, encoding: str) -> io.TextIOWrapper:
    stream.seek(0)
    if encoding == "utf-8":
        encoding = "utf-8-sig"
    return io.TextIOWrapper(stream, encoding=encoding, newline="")


def bounded_lines(text: io.TextIOBase) -> Iterator[str]:
    """Physical lines, each at most MAX_FIELD characters; a longer line becomes OVERLONG."""
    while True:
        line = text.readline(MAX_FIELD)
        if not line:
            return
        if len(line) >= MAX_FIELD and not line.endswith(("\n", "\r")):
            # Skip the rest of the line without holding it.
            while True:
                rest = text.readline(MAX_FIELD)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            yield OVERLONG + "\n"
            continue
        yield line


@dataclass
class Record:
    line: int  # physical line where the record starts (the header is usually line 1)
    cells: list[str] | None  # None when the record could not be parsed
    problem: str = ""


def records(stream: BinaryIO, dialect: Dialect) -> Iterator[Record]:
    text = text_stream(stream, dialect.encoding)
    reader = csv.reader(bounded_lines(text), delimiter=dialect.delimiter)
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Record(start, None, f"This line could not be read as CSV ({exc}).")
                continue
            # One scan of the joined row first: the marker starts with a NUL, which text rows
            # do not have.
            if "\x00" in "".join(cells) and any(OVERLONG in cell for cell in cells):
                yield Record(start, None, f"A line is longer than {MAX_FIELD:,} characters.")
                continue
            yield Record(start, cells)
    finally:
        # A text wrapper closes the file it wraps when it goes away; the caller still needs it.
        if not stream.closed:
            text.detach()


def open_dialect(stream: BinaryIO) -> Dialect:
    """Encoding (whole-file scan) and delimiter (first line) of an uploaded file."""
    encoding = detect_encoding(stream)
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES).decode(encoding, errors="replace")
    stream.seek(0)
    return Dialect(encoding=encoding, delimiter=sniff_delimiter(sample.lstrip("\ufeff")))


def head_dialect(stream: BinaryIO) -> Dialect:
    """A cheap guess from the first bytes only, for the mapping preview."""
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    not_a_csv(stream)
    if b"\x00" in sample:
        raise UndecodableFile(f"This is not a CSV file: it holds binary data. {_EXPORT_HINT}")
    try:
        # A multi-byte character may be cut at the end of the sample.
        text = codecs.getincrementaldecoder("utf-8")().decode(sample)
        encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError:
        try:
            text = sample.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError as exc:
            raise UndecodableFile(
                "The file could not be read as text: it is not UTF-8 or Windows-1252 (cp1252)."
            ) from exc
    return Dialect(encoding=encoding, delimiter=sniff_delimiter(text.lstrip("\ufeff")))


def average_line_bytes(stream: BinaryIO) -> float:
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    lines = sample.count(b"\n") or 1
    return max(1.0, len(sample) / lines)
