"""The sync lock: one sync per mirror at a time (an exclusive `flock` on a file beside the db).

The kernel drops a `flock` when its holder dies, so a SIGKILLed sync never leaves a stale lock;
the file's content (pid and start time) only serves the message to the second sync.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from asurso_sync.errors import SyncLocked


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(str(db_path) + ".lock")


class SyncLock:
    """`with SyncLock(db_path): ...` — raises `SyncLocked` naming the holder when taken."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise SyncLocked(
                f"another sync is already running on this mirror ({holder}); wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        info = {}
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')}, started {info.get('started_at')}"
