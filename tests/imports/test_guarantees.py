"""What an import promises whatever happens: whole chunks or nothing, all-or-nothing, the reject
log round trip, formula neutralisation, and flat memory as files grow."""

import tracemalloc

import pytest

from plixo.core import bulk as bulk_rows
from plixo.imports.models import ImportedKey, ImportStatus
from plixo.imports.pipeline import run as pipeline_run
from plixo.imports.pipeline.reject_log import neutralise, restore_cell
from plixo.ledger.models import Invoice, TimelineEvent
from tests.imports.conftest import reject_rows

HEADER = (
    "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount,status"
)


def invoices(n: int, bad_every: int = 0) -> str:
    lines = [HEADER]
    for i in range(n):
        currency = "XXQ" if bad_every and i % bad_every == bad_every - 1 else "USD"
        status = "paid" if i % 4 == 0 else "open"
        lines.append(
            f"INV-{i:06d},C-{i % 5},Customer {i % 5},2024-01-01,2024-01-31,{currency},"
            f"{i + 1}.50,{status}"
        )
    return "\n".join(lines) + "\n"


def test_a_crash_mid_load_leaves_whole_chunks_and_a_failed_batch(run_import, org, monkeypatch):
    monkeypatch.setattr(pipeline_run, "CHUNK_ROWS", 10)
    real_insert = bulk_rows.BulkTable.insert
    calls = {"events": 0}

    def insert(self, rows):
        if self.model is TimelineEvent and rows:
            calls["events"] += 1
            if calls["events"] == 3:
                # The third chunk dies after its invoices were inserted, before their events.
                raise RuntimeError("disk full")
        return real_insert(self, rows)

    monkeypatch.setattr(bulk_rows.BulkTable, "insert", insert)

    batch = run_import("invoices", invoices(35))

    assert batch.status == ImportStatus.FAILED
    assert "RuntimeError" in batch.error and "Upload the same file again" in batch.error
    assert batch.summary["accepted"] == 20 and batch.summary["created"] == 20
    assert batch.summary["accepted"] + batch.summary["rejected"] == batch.summary["rows"]
    loaded = Invoice.objects.filter(organization=org)
    assert loaded.count() == 20  # chunks one and two; nothing of chunk three
    assert not loaded.filter(timeline__isnull=True).exists()  # no invoice without its event
    assert not ImportedKey.objects.exists()

    monkeypatch.setattr(bulk_rows.BulkTable, "insert", real_insert)
    again = run_import("invoices", invoices(35))
    assert again.status == ImportStatus.LOADED
    assert (again.summary["created"], again.summary["updated"]) == (15, 0)
    assert loaded.count() == 35


def test_all_or_nothing_loads_nothing_when_a_row_is_rejected(run_import, org):
    batch = run_import("invoices", invoices(30, bad_every=10), all_or_nothing=True)

    assert batch.status == ImportStatus.REJECTED
    assert batch.summary["rejected"] == 3 and batch.summary["accepted"] == 27
    assert (batch.summary["created"], batch.summary["updated"]) == (0, 0)
    assert "nothing was loaded" in batch.error
    assert len(reject_rows(batch)) == 3
    assert not Invoice.objects.filter(organization=org).exists()
    assert not org.customers.exists()


def test_all_or_nothing_loads_everything_when_every_row_is_good(run_import, org):
    batch = run_import("invoices", invoices(30), all_or_nothing=True)
    assert batch.status == ImportStatus.LOADED
    assert batch.summary["created"] == 30
    assert Invoice.objects.filter(organization=org).count() == 30


def test_all_or_nothing_crash_rolls_everything_back(run_import, org, monkeypatch):
    monkeypatch.setattr(pipeline_run, "CHUNK_ROWS", 10)
    real_insert = bulk_rows.BulkTable.insert
    seen = {"n": 0}

    def insert(self, rows):
        if self.model is TimelineEvent and rows:
            seen["n"] += 1
            if seen["n"] == 2:
                raise RuntimeError("killed")
        return real_insert(self, rows)

    monkeypatch.setattr(bulk_rows.BulkTable, "insert", insert)
    batch = run_import("invoices", invoices(30), all_or_nothing=True)
    assert batch.status == ImportStatus.FAILED
    assert "Nothing was loaded" in batch.error
    assert not Invoice.objects.filter(organization=org).exists()


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_formula_cells_are_neutralised_and_restored(cell):
    assert neutralise(cell).startswith("'")
    assert restore_cell(neutralise(cell)) == cell
    assert neutralise("plain") == "plain" and restore_cell("'quoted") == "'quoted"


def test_reject_log_neutralises_cells(run_import):
    content = f"{HEADER}\n=cmd|'/c calc'!A1,C-1,@Acme,2024-01-01,2024-01-31,USD,-5,open\n"
    batch = run_import("invoices", content)
    [row] = reject_rows(batch)
    assert row["invoice_number"].startswith("'=")
    assert row["customer_name"] == "'@Acme"
    assert row["amount"] == "'-5"
    assert row["error_code"] == "bad_amount"
    with batch.reject_log.open("rb") as handle:
        raw = handle.read().decode("utf-8-sig")
    assert "\n=" not in raw and ",=" not in raw and ",@" not in raw


def test_the_fixed_reject_log_uploaded_as_is_loads_the_rows(run_import, org):
    content = (
        f"{HEADER}\n"
        "INV-1,C-1,Acme,2024-01-01,2024-01-31,USD,100.00,open\n"
        "INV-2,C-1,Acme,2024-01-01,2024-01-31,USX,200.00,open\n"
        "=INV-3,C-1,Acme,2024-02-30,2024-03-31,USD,300.00,open\n"
    )
    first = run_import("invoices", content)
    assert first.summary["rejected"] == 2
    with first.reject_log.open("rb") as handle:
        log = handle.read().decode("utf-8-sig")
    assert log.splitlines()[0].endswith("row_number,column,error_code,message")

    fixed = log.replace(",USX,", ",USD,").replace("2024-02-30", "2024-02-28")
    second = run_import("invoices", fixed.encode("utf-8-sig"))

    assert second.status == ImportStatus.LOADED
    assert second.summary["rejected"] == 0 and second.summary["created"] == 2
    numbers = set(Invoice.objects.filter(organization=org).values_list("number", flat=True))
    assert numbers == {"INV-1", "INV-2", "=INV-3"}


def test_accepted_plus_rejected_is_rows(run_import):
    content = invoices(40, bad_every=7) + "\n\n" + 'garbage,"unterminated\n'
    batch = run_import("invoices", content)
    summary = batch.summary
    assert summary["accepted"] + summary["rejected"] == summary["rows"]
    assert sum(summary["errors_by_code"].values()) == summary["rejected"]


def _peak_bytes(run_import, rows: int) -> int:
    content = invoices(rows)
    tracemalloc.start()
    try:
        run_import("invoices", content.encode())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_file_grows(run_import, monkeypatch):
    monkeypatch.setattr(pipeline_run, "CHUNK_ROWS", 500)
    _peak_bytes(run_import, 2_000)  # one-time costs (imports, caches) out of the comparison
    small = _peak_bytes(run_import, 2_000)
    large = _peak_bytes(run_import, 10_000)
    # Five times the rows; the peak is set by one chunk, not by the file.
    assert large < small * 1.5, (small, large)
