"""Background work the page starts (render a document, check a bag): one worker thread, a
progress count per job, the page polls it. A request never waits for the work itself."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    title: str
    owner: str
    total: int = 1
    done: int = 0
    state: str = "queued"  # queued | running | ok | failed
    message: str = ""
    files: list[Path] = field(default_factory=list)
    back: str = "/"
    started_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )

    @property
    def percent(self) -> int:
        if self.state in ("ok", "failed"):
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.state in ("ok", "failed")

    def step(self, message: str = "") -> None:
        self.done += 1
        if message:
            self.message = message

    def count(self, done: int, total: int) -> None:
        """A `progress(done, total)` callback for work that counts its own steps."""
        self.done, self.total = done, max(total, 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "percent": self.percent,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "files": [p.name for p in self.files],
        }


Work = Callable[[Job], None]


class Jobs:
    """The jobs of one server process (kept for its lifetime, newest last)."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="web-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._count = 0
        self.futures: dict[str, Future[None]] = {}

    def start(self, title: str, owner: str, work: Work, *, total: int = 1, back: str = "/") -> Job:
        with self._lock:
            self._count += 1
            job = Job(id=str(self._count), title=title, owner=owner, total=total, back=back)
            self._jobs[job.id] = job
        self.futures[job.id] = self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Work) -> None:
        job.state = "running"
        try:
            work(job)
        except Exception as exc:  # shown on the job's page; the traceback goes to the log
            log.exception("web job %s (%s) failed", job.id, job.title)
            job.state = "failed"
            job.message = str(exc) or type(exc).__name__
            return
        job.state = "ok"

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def recent(self, owner: str | None = None, limit: int = 10) -> list[Job]:
        found = [j for j in self._jobs.values() if owner is None or j.owner == owner]
        return found[-limit:][::-1]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
