"""R8: what an attachment is comes from its content; names are sanitised; size is counted."""

import pytest

from plixo.disputes.attachments import MAX_ATTACHMENT_BYTES, sanitise_name
from plixo.disputes.services import AttachmentRejected, attachment_validate
from tests.disputes import files
from tests.disputes.files import upload

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("statement.pdf", files.PDF, ("statement.pdf", "application/pdf")),
        ("photo.png", files.PNG, ("photo.png", "image/png")),
        ("photo.JPG", files.JPEG, ("photo.jpg", "image/jpeg")),
        ("photo.jpeg", files.JPEG, ("photo.jpeg", "image/jpeg")),
        ("lines.csv", files.CSV, ("lines.csv", "text/csv")),
        ("lines.txt", files.CSV, ("lines.csv", "text/csv")),
        ("recon.xlsx", files.xlsx(), ("recon.xlsx", XLSX_TYPE)),
        ("letter.docx", files.docx(), ("letter.docx", DOCX_TYPE)),
        # The sniffed type wins over a wrong or missing extension.
        ("scan.jpg", files.PNG, ("scan.png", "image/png")),
        ("contract", files.PDF, ("contract.pdf", "application/pdf")),
        ("recon.zip", files.xlsx(), ("recon.xlsx", XLSX_TYPE)),
    ],
)
def test_allowed_types_are_recognised_by_content(name, data, expected):
    assert attachment_validate(upload(name, data)) == expected


def test_csv_in_windows_1252_is_accepted():
    data = "customer,note\nCafé Noël,“déjà”\n".encode("cp1252")
    assert attachment_validate(upload("list.csv", data)) == ("list.csv", "text/csv")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("invoice.pdf", files.SCRIPT, "not a genuine PDF"),
        ("invoice.pdf", files.HTML, "not a genuine PDF"),
        ("evil.csv", files.SCRIPT, "markup or a script"),
        ("chart.svg", files.SVG, "not a genuine SVG"),
        ("chart.csv", files.SVG, "markup or a script"),
        ("page.html", files.HTML, "not a genuine HTML"),
        ("page.csv", files.HTML, "markup or a script"),
        ("page.txt", b"<ScRiPt>alert(1)</script>", "markup or a script"),
        ("data.csv", b"a,b\n\x00\x01\x02", "binary"),
        ("data.csv", b"a,b\n\x07bell", "binary"),
        ("data.csv", b'a,"unterminated\nb', "well-formed"),
        ("data.csv", b"   \n", "empty"),
        ("empty.pdf", b"", "empty"),
        ("tool.exe", b"MZ\x90\x00\x03\x00", "not a genuine EXE"),
        ("archive.xlsx", files.plain_zip(), "not an XLSX or DOCX"),
        ("broken.xlsx", b"PK\x03\x04not really a zip", "not an XLSX or DOCX"),
        ("macro.xlsx", files.xlsx({"xl/vbaProject.bin": b"\x00"}), "not an XLSX or DOCX"),
        (
            "macro.xlsm",
            files.xlsx(main="application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
            "not an XLSX or DOCX",
        ),
    ],
)
def test_disallowed_content_is_refused_naming_the_file(name, data, reason):
    with pytest.raises(AttachmentRejected, match=reason) as caught:
        attachment_validate(upload(name, data))
    assert str(caught.value).startswith(sanitise_name(name)[0])


def test_a_file_one_byte_over_10_mb_is_refused_and_10_mb_exactly_passes():
    exact = files.PDF + b"0" * (MAX_ATTACHMENT_BYTES - len(files.PDF))
    assert attachment_validate(upload("big.pdf", exact))[1] == "application/pdf"
    with pytest.raises(AttachmentRejected, match="larger than 10 MB"):
        attachment_validate(upload("huge.pdf", exact + b"0"))


def test_the_declared_size_is_not_trusted():
    big = upload("huge.pdf", files.PDF + b"0" * MAX_ATTACHMENT_BYTES)
    big.size = 100  # what a lying client would declare
    with pytest.raises(AttachmentRejected, match="larger than 10 MB"):
        attachment_validate(big)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", ("passwd", "")),
        ("..\\..\\windows\\system32\\evil.pdf", ("evil", ".pdf")),
        ("/abs/path/report.PDF", ("report", ".pdf")),
        ("..", ("attachment", "")),
        ("../", ("attachment", "")),
        ("", ("attachment", "")),
        ("inv\x00oice\r\n.pdf", ("invoice", ".pdf")),
        ("bill\u202efdp.exe", ("billfdp", ".exe")),  # right-to-left override removed
        ('a<b>:"c|?*.pdf', ("a_b___c___", ".pdf")),
        ("   .hidden.pdf", ("hidden", ".pdf")),
        ("x" * 300 + ".pdf", ("x" * 120, ".pdf")),
    ],
)
def test_names_are_sanitised(raw, expected):
    assert sanitise_name(raw) == expected


def test_a_traversal_name_is_stored_under_its_base_name_only():
    assert attachment_validate(upload("../../../secret/proof.pdf", files.PDF)) == (
        "proof.pdf",
        "application/pdf",
    )


def test_validation_leaves_the_upload_readable_for_the_form():
    item = upload("statement.pdf", files.PDF)
    attachment_validate(item)
    assert item.read() == files.PDF
