"""Open the mirror: owner-only file, WAL, foreign keys, migrations applied."""

from __future__ import annotations

import os
from pathlib import Path

from sqlite_utils import Database

from asurso_sync.mirror.schema import migrations


def open_mirror(path: str | os.PathLike[str] | None = None, *, memory: bool = False) -> Database:
    """The mirror database, created on first use with mode 0600 and migrated to the latest shape."""
    if memory or path is None:
        db = Database(memory=True)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
        db = Database(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    if path is not None and not memory:
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)
    return db
