"""Reading what a document render wrote: its CSV tables and the one file of a kind."""

from __future__ import annotations

import csv
from pathlib import Path


def read_csv(path: Path) -> list[list[str]]:
    """A document's CSV table as rows of cells (UTF-8 with BOM, as a spreadsheet opens it)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def one(paths: list[Path], suffix: str) -> Path:
    """The one written file whose name ends with `suffix` (two or none fail the test)."""
    found = [p for p in paths if p.name.endswith(suffix)]
    assert len(found) == 1, (suffix, [p.name for p in paths])
    return found[0]
