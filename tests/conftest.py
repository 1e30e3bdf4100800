"""Shared fixtures (their constants and helpers: tests/mirrors.py, tests/archive_fixture.py).

Test helpers are imported by their module name (`from mirrors import copy_mirror`): tests/ is
on the path; conftest itself is never imported.

* `small_school` / `school_school`: the simulated schools, built once per session;
* `school`: a fresh `small` school for each simulator test module (they may change its state);
* `small_mirror` / `school_mirror`: mirrors synced from them (read-only: copy before writing);
* `archived` / `store_copy`: a sealed archive store made once per session, and a private copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from archive_fixture import archived, store_copy
from mirrors import SCHOOL_AS_OF, SEED, SMALL_AS_OF, YEAR_START, synced

from asurso_sync.simulator import build_school

__all__ = ["archived", "store_copy"]  # fixtures defined with the archive helpers


@pytest.fixture(scope="session")
def small_school():
    return build_school(size="small", seed=SEED, year_start=YEAR_START)


@pytest.fixture(scope="session")
def school_school():
    return build_school(size="school", seed=SEED, year_start=YEAR_START)


@pytest.fixture(scope="module")
def school():
    """A `small` school of the simulator tests' own (not shared with other modules)."""
    return build_school(size="small", seed=SEED, year_start=YEAR_START)


@pytest.fixture(scope="session")
def small_mirror(tmp_path_factory, small_school) -> Path:
    """A mirror synced in full from the `small` simulator as of 2026-05-20 (read-only: copy it)."""
    return synced(tmp_path_factory.mktemp("small_mirror"), small_school, SMALL_AS_OF)


@pytest.fixture(scope="session")
def school_mirror(tmp_path_factory, school_school) -> Path:
    """A mirror synced in full from the `school` simulator as of 2026-06-30 (read-only: copy it)."""
    return synced(tmp_path_factory.mktemp("school_mirror"), school_school, SCHOOL_AS_OF)
