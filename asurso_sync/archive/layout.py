"""The store on disk: where it is, its lock, the sealed modes and staging.

    <store>/                  0700
        register.sqlite       0600  the fixity register (append-only, hash-chained)
        .lock                 0600  one writer at a time (create, destroy, act approval)
        .staging/             0700  bags being built, bags being destroyed
        acts/                 0700  destruction acts (HTML, PDF)
        ej-…-journal-v1/      0550  a sealed bag: folders 0550, files 0440

Imported by `build` (which writes bags), `store` (which reads and removes them) and `act`.
Files outside bags (the acts) are written with `documents.output.atomic_write`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asurso_sync.archive.names import ArchiveError, parse_bag_name
from asurso_sync.config import Config

log = logging.getLogger(__name__)

STAGING = ".staging"
LOCK_NAME = ".lock"
ACTS = "acts"
FILE_MODE, DIR_MODE = 0o440, 0o550
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


def store_path(config: Config) -> Path:
    return config.archive_path


@contextmanager
def store_lock(store: Path) -> Iterator[None]:
    """One writer at a time (create, destroy, approving an act); readers need no lock."""
    store.mkdir(parents=True, exist_ok=True)
    fd = os.open(store / LOCK_NAME, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError(f"another archive command is writing to {store}") from None
        yield
    finally:
        os.close(fd)


def make_writable(path: Path) -> None:
    """Give back owner write rights so a sealed tree (or staging debris) can be removed."""
    if not path.exists():
        return
    os.chmod(path, stat.S_IMODE(path.stat().st_mode) | 0o700)
    for dirpath, dirs, files in os.walk(path):
        for name in dirs:
            p = Path(dirpath, name)
            os.chmod(p, stat.S_IMODE(p.stat().st_mode) | 0o700)
        for name in files:
            p = Path(dirpath, name)
            if not p.is_symlink():
                os.chmod(p, stat.S_IMODE(p.stat().st_mode) | 0o600)


def remove_tree(path: Path) -> None:
    make_writable(path)
    shutil.rmtree(path)


def staged_bags(store: Path) -> list[Path]:
    """Folders a killed run left in staging."""
    staging = store / STAGING
    return sorted(staging.iterdir()) if staging.is_dir() else []


def clean_staging(store: Path) -> int:
    """Remove what a killed run left in staging (call with the store lock held)."""
    removed = 0
    for child in staged_bags(store):
        remove_tree(child) if child.is_dir() else child.unlink()
        removed += 1
    if removed:
        log.warning("removed %d unfinished staging folder(s) of an interrupted run", removed)
    return removed


def bag_dirs(store: Path) -> list[Path]:
    """The sealed bags in a store (or on a medium), by name."""
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if p.is_dir() and parse_bag_name(p.name))


def read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _real(path: Path) -> Path:
    """The resolved path, through symlinks, even when its last parts do not exist yet."""
    return Path(os.path.realpath(Path(path).expanduser().absolute()))


def refuse_inside_store(store: Path, path: Path, what: str) -> None:
    """An output folder inside the store could write into a sealed bag (as root) or add
    bags nobody ingested: refuse it, naming the store."""
    real_store, real_path = _real(store), _real(path)
    if real_path == real_store or real_store in real_path.parents:
        raise ArchiveError(
            f"{what} {path} is inside the archive store {store}; choose a folder outside it"
        )
