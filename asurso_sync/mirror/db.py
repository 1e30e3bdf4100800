"""Open the mirror: owner-only file, WAL, foreign keys, migrations applied.

A file that exists but is empty or not a SQLite database is an error (`MirrorDamaged`), never
silently replaced by a fresh mirror. Read-only commands open it with `readonly=True`: nothing
is migrated or written, and a missing mirror is an error too.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlite_utils import Database, Migrations

from asurso_sync.errors import MirrorDamaged, MirrorOutdated
from asurso_sync.mirror.schema import SYNCED_TABLES, migrations

SQLITE_HEADER = b"SQLite format 3\x00"


def open_mirror(
    path: str | os.PathLike[str] | None = None,
    *,
    memory: bool = False,
    readonly: bool = False,
) -> Database:
    """The mirror database, created on first use with mode 0600 and migrated to the latest
    shape; `readonly=True` opens an existing mirror as it is, for reading only."""
    if memory or path is None:
        db = Database(memory=True)
        db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(db)
        return db
    path = Path(path)
    check_mirror_file(path, must_exist=readonly)
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        db = Database(conn)
        db.execute("PRAGMA busy_timeout=5000")
        _probe(db, path)
        pending = migrations.pending(db)
        if pending:
            db.close()
            raise MirrorOutdated(
                f"the mirror {path} was made by an older asurso-sync ({len(pending)} upgrade(s) "
                "pending): run `asurso-sync sync` once to upgrade it"
            )
        return db
    return open_private_db(path, migrations)


def open_private_db(path: Path, schema: Migrations, *, what: str = "the mirror") -> Database:
    """A SQLite file only its owner reads (0600, its WAL files too), WAL, foreign keys, the
    schema's migrations applied: the mirror, and the web page's accounts beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)
    db = Database(sqlite3.connect(str(path)))
    _probe(db, path, what)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=ON")
    schema.apply(db)
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            os.chmod(side, 0o600)
    return db


def first_import_journal(db: Database) -> None:
    """Before a mirror's first import (no synced table holds a row), switch its file to the
    rollback journal: the pages are then written once, into the file, instead of into the WAL
    and again by the checkpoint. Only when nobody else has the file open (no waiting for
    them). The journal file SQLite makes takes the mirror's own permissions; `wal_again`
    switches back."""
    if any(db.execute(f"SELECT 1 FROM [{t}] LIMIT 1").fetchone() for t in SYNCED_TABLES):
        return
    timeout = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout=0")
    try:
        with contextlib.suppress(sqlite3.OperationalError):  # another connection has it open
            db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.execute(f"PRAGMA busy_timeout={int(timeout)}")


def wal_again(db: Database) -> None:
    """Back to WAL after a first import (`first_import_journal`); were that refused, the next
    open of the mirror switches it."""
    with contextlib.suppress(sqlite3.OperationalError):
        db.execute("PRAGMA journal_mode=WAL")


def check_mirror_file(path: Path, *, must_exist: bool = False) -> None:
    """Raise `MirrorDamaged` for a mirror file that is empty or not SQLite (and, with
    `must_exist`, for a missing one); a missing file is otherwise fine (created on open)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if must_exist:
            raise MirrorDamaged(f"no mirror at {path}: run `asurso-sync sync` first") from None
        return
    if size == 0:
        raise MirrorDamaged(
            f"the mirror is empty or damaged: {path} has 0 bytes; restore it from a backup "
            "or move it away to start a new mirror"
        )
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise MirrorDamaged(
            f"the mirror is empty or damaged: {path} is not a SQLite database; restore it "
            "from a backup or move it away to start a new mirror"
        )


def _probe(db: Database, path: Path, what: str = "the mirror") -> None:
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise MirrorDamaged(f"{what} is empty or damaged: {path}: {exc}") from None
