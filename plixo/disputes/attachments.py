"""Checking dispute evidence before it is stored (R8).

A file's type is decided by its content, never by its name or the type the browser declared:
PDF, PNG and JPEG by their magic bytes, XLSX and DOCX by the main part their
`[Content_Types].xml` declares, and CSV by decoding and parsing it as text. Markup (HTML, SVG)
and scripts are refused whatever they are called. The size is counted while reading, so a
client cannot slip a large file past the limit by declaring a small one.
"""

import contextlib
import csv
import hashlib
import io
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO

from plixo.ledger.models import LedgerError

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
MAX_NAME_LENGTH = 120
_CHUNK = 64 * 1024
# Files larger than this spool to a temporary file instead of memory while they are checked.
_SPOOL_BYTES = 1024 * 1024
# `[Content_Types].xml` is a few kilobytes; a huge one is a zip bomb, not an office document.
_MAX_CONTENT_TYPES_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    key: str
    content_type: str
    extensions: tuple[str, ...]  # the first one is used when the name's own does not fit


PDF = FileKind("pdf", "application/pdf", (".pdf",))
PNG = FileKind("png", "image/png", (".png",))
JPEG = FileKind("jpeg", "image/jpeg", (".jpg", ".jpeg"))
CSV = FileKind("csv", "text/csv", (".csv",))
XLSX = FileKind(
    "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)
)
DOCX = FileKind(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
ALLOWED_KINDS = (PDF, PNG, JPEG, CSV, XLSX, DOCX)
ALLOWED_TEXT = "PDF, PNG, JPEG, CSV, XLSX or DOCX"

_OFFICE_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
}
# Text that a browser or an interpreter would run. A CSV of invoices never contains these.
_TEXT_MARKERS = ("<script", "<html", "<svg", "<!doctype", "<iframe", "<?php", "<?xml")
# Text kinds are a weak sniff (almost any text parses as CSV), so only a name that claims to be
# a table may be accepted as one; a script renamed .pdf stays refused.
_TEXT_EXTENSIONS = (".csv", ".txt", "")
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f"}
_UNSAFE_NAME_CHARS = re.compile(r'[<>:"/\\|?*]')


class AttachmentRejected(LedgerError):
    """An attachment refused by the R8 rules; the message names the file and why."""

    def __init__(self, name: str, reason: str):
        self.filename, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


@dataclass
class CheckedAttachment:
    """An attachment that passed every check, with its bytes spooled for storing."""

    name: str  # sanitised, with an extension that matches `kind`
    kind: FileKind
    size: int
    sha256: str
    data: IO[bytes]

    @property
    def content_type(self) -> str:
        return self.kind.content_type


def sanitise_name(raw: str | None) -> tuple[str, str]:
    """(stem, extension) of a client-supplied file name, with every directory part (either
    slash, `..`), control and format character (bidi overrides too) and shell-special character
    removed. The stem is never empty."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_NAME_CHARS.sub("_", text)
    text = " ".join(text.split()).strip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot:
        stem, extension = text, ""
    stem = stem.strip(" .")[:MAX_NAME_LENGTH] or "attachment"
    extension = f".{extension.lower()}" if extension and extension.isalnum() else ""
    return stem, extension


def _display_name(raw) -> str:
    stem, extension = sanitise_name(raw)
    return stem + extension


def _spool(upload) -> tuple[IO[bytes], int, str]:
    """Copy the upload into a spooled file, counting and hashing as it goes; stop as soon as
    it passes the limit."""
    if hasattr(upload, "seek"):
        with contextlib.suppress(OSError, ValueError):
            upload.seek(0)
    chunks = (
        upload.chunks(_CHUNK)
        if hasattr(upload, "chunks")
        else iter(lambda: upload.read(_CHUNK), b"")
    )
    # Closed by the caller once stored (or on rejection below).
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        size += len(chunk)
        if size > MAX_ATTACHMENT_BYTES:
            spool.close()
            raise AttachmentRejected(
                _display_name(getattr(upload, "name", "")),
                f"is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
            )
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, size, digest.hexdigest()


def _office_kind(data: IO[bytes]) -> FileKind | None:
    try:
        with zipfile.ZipFile(data) as archive:
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return None
            if info.file_size > _MAX_CONTENT_TYPES_BYTES:
                return None
            names = [name.lower() for name in archive.namelist()]
            if any(name.endswith("vbaproject.bin") for name in names):
                return None  # macros
            types = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, ValueError):
        return None
    found = {kind for part, kind in _OFFICE_MAIN_PARTS.items() if part in types}
    return found.pop() if len(found) == 1 else None


def _text_problem(data: IO[bytes]) -> str | None:
    """Why this content is not an acceptable CSV, or None when it is one."""
    raw = data.read()
    data.seek(0)
    if b"\x00" in raw:
        return "is a binary file, not one of the allowed types."
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return "is not readable text and not one of the allowed types."
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
        return "is a binary file, not one of the allowed types."
    lowered = text.lower()
    if text.lstrip().startswith("#!") or any(marker in lowered for marker in _TEXT_MARKERS):
        return "contains markup or a script; only plain CSV tables are accepted."
    if not text.strip():
        return "is empty."
    try:
        rows = sum(1 for _ in csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return "is not a well-formed CSV file."
    return None if rows else "is empty."


def sniff(data: IO[bytes], extension: str) -> tuple[FileKind | None, str]:
    """The kind of file `data` holds, or (None, why not)."""
    head = data.read(8)
    data.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF, ""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG, ""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG, ""
    if head.startswith(b"PK\x03\x04"):
        kind = _office_kind(data)
        data.seek(0)
        if kind is None:
            return None, "is an archive that is not an XLSX or DOCX document."
        return kind, ""
    if extension not in _TEXT_EXTENSIONS:
        return None, (
            f"is not a genuine {extension.lstrip('.').upper()} file or not an allowed type "
            f"(allowed: {ALLOWED_TEXT})."
        )
    problem = _text_problem(data)
    if problem:
        return None, problem
    return CSV, ""


def attachment_check(upload) -> CheckedAttachment:
    """Read, measure, hash and sniff one upload. Raises `AttachmentRejected`."""
    stem, extension = sanitise_name(getattr(upload, "name", ""))
    shown = stem + extension
    data, size, sha256 = _spool(upload)
    if size == 0:
        data.close()
        raise AttachmentRejected(shown, "is empty.")
    kind, problem = sniff(data, extension)
    if kind is None:
        data.close()
        raise AttachmentRejected(shown, problem)
    if extension not in kind.extensions:
        extension = kind.extensions[0]
    return CheckedAttachment(name=stem + extension, kind=kind, size=size, sha256=sha256, data=data)
