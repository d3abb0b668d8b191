"""Import fixtures: uploads kept in a temporary media root, and a helper that imports CSV text."""

from pathlib import Path

import pytest

from plixo.imports.models import ImportBatch
from plixo.imports.services import import_file


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def run_import(org, tmp_path):
    """`run_import(kind, text_or_bytes, **options)` -> the finished ImportBatch."""
    counter = {"n": 0}

    def run(kind: str, content, *, encoding="utf-8", organization=None, **options) -> ImportBatch:
        counter["n"] += 1
        path = tmp_path / f"{kind}-{counter['n']}.csv"
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return import_file(organization=organization or org, kind=kind, path=path, **options)

    return run


def reject_rows(batch: ImportBatch) -> list[dict]:
    """The reject log as dicts (header -> cell)."""
    import csv
    import io

    with batch.reject_log.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))
