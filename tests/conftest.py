"""Shared fixtures. Areas append their own below; keep session fixtures cheap to share.

`small_mirror` / `school_mirror`: paths to mirrors synced in full from the simulator (seed 1,
year 2025/2026; as of 2026-05-20 for `small`, 2026-06-30 for `school`) by
`asurso_sync.demo.sync_simulator`. They are shared by the whole session: copy the file
(`copy_mirror(path, tmp_path)`) before writing to it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def small_school():
    from asurso_sync.simulator import build_school

    return build_school(size="small", seed=SEED, year_start=YEAR_START)


@pytest.fixture(scope="session")
def school_school():
    from asurso_sync.simulator import build_school

    return build_school(size="school", seed=SEED, year_start=YEAR_START)


def _synced(folder: Path, school, as_of: dt.date) -> Path:
    from asurso_sync.demo import sync_simulator
    from asurso_sync.mirror.db import open_mirror

    path = folder / "asurso.db"
    sync_simulator(path, school, as_of, full=True)
    db = open_mirror(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture(scope="session")
def small_mirror(tmp_path_factory, small_school) -> Path:
    """A mirror synced in full from the `small` simulator as of 2026-05-20 (read-only: copy it)."""
    return _synced(tmp_path_factory.mktemp("small_mirror"), small_school, SMALL_AS_OF)


@pytest.fixture(scope="session")
def school_mirror(tmp_path_factory, school_school) -> Path:
    """A mirror synced in full from the `school` simulator as of 2026-06-30 (read-only: copy it)."""
    return _synced(tmp_path_factory.mktemp("school_mirror"), school_school, SCHOOL_AS_OF)


# archive: `archived` (a sealed store made once per session) and `store_copy` (a private copy)
from archive_fixture import archived, store_copy  # noqa: E402,F401
