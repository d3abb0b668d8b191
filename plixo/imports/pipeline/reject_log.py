"""The reject log: rejected rows as uploaded, plus row number, column, error code and message.

Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return as a
formula (CSV injection), so such cells are written with a leading apostrophe. When a fixed
reject log is uploaded again, `restore_cell` takes the apostrophe off, so the rows load with
the values they had.
"""

import csv
import tempfile

from plixo.imports.pipeline.headers import REJECT_LOG_COLUMNS, is_reject_log_column

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    if cell and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def restore_cell(cell: str) -> str:
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


class RejectLogWriter:
    """Streams rejected rows to a temporary file; `close()` hands back the file (or None when
    nothing was rejected)."""

    def __init__(self, headers: list[str]):
        # A re-uploaded reject log brings its own log columns; they are replaced, not doubled.
        self.keep = [i for i, h in enumerate(headers) if not is_reject_log_column(h)]
        self.headers = [headers[i] for i in self.keep]
        self.count = 0
        self._file = None
        self._writer = None

    def _open(self):
        # Excel opens UTF-8 with a byte order mark correctly; Plixo's reader drops the mark.
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow([neutralise(h) for h in [*self.headers, *REJECT_LOG_COLUMNS]])

    def write(
        self, *, line: int, cells: list[str] | None, column: str, code: str, message: str
    ) -> None:
        if self._writer is None:
            self._open()
        cells = cells or []
        kept = [cells[i] if i < len(cells) else "" for i in self.keep]
        row = [*kept, str(line), column, code, message]
        self._writer.writerow([neutralise(cell) for cell in row])
        self.count += 1

    def close(self):
        if self._file is None:
            return None
        self._file.flush()
        self._file.seek(0)
        return self._file
