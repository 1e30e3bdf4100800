"""The shared simulated school and its synced mirrors (the constants and helpers; the fixtures
that use them are in conftest.py).

`small_mirror` / `school_mirror` are synced in full from the simulator (seed 1, year 2025/2026;
as of 2026-05-20 for `small`, 2026-06-30 for `school`) and shared by the whole session: copy the
file (`copy_mirror(path, tmp_path)`) before writing to it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.db import open_mirror

SMALL_AS_OF = dt.date(2026, 5, 20)
SCHOOL_AS_OF = dt.date(2026, 6, 30)
SEED = 1
YEAR_START = 2025


def copy_mirror(path: Path, folder: Path) -> Path:
    """A private copy of a shared mirror (the WAL is checkpointed into the main file)."""
    target = Path(folder) / path.name
    shutil.copyfile(path, target)
    target.chmod(0o600)
    return target


def synced(folder: Path, school, as_of: dt.date) -> Path:
    """A full sync of `school` as served at `as_of` into folder/asurso.db, checkpointed."""
    path = folder / "asurso.db"
    sync_simulator(path, school, as_of, full=True)
    db = open_mirror(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path
