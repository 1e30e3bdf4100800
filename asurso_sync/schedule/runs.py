"""The `job_runs` table: what each job did, and the last runs the catch-up plan starts from."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from sqlite_utils import Database

from asurso_sync.errors import SyncLocked
from asurso_sync.log import redact

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"  # the pseudo-job recorded at each start: the catch-up baseline
DONE = ("ok", "failed")  # statuses that count as "this slot was run"
BUSY = "busy"  # the mirror's lock was held (a manual sync): the slot stays due, retried later


def iso(dt: datetime) -> str:
    """UTC ISO with offset, second precision (the mirror's bookkeeping format)."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def last_runs(db: Database) -> dict[str, datetime]:
    """The latest `scheduled_for` per job among finished runs; the nightly job also counts a
    successful sync that ran outside the scheduler (a manual `asurso-sync sync`)."""
    runs: dict[str, datetime] = {}
    placeholders = ", ".join("?" for _ in DONE)
    for job, scheduled in db.execute(
        f"SELECT job, max(scheduled_for) FROM job_runs WHERE status IN ({placeholders}) "
        "AND job != ? GROUP BY job",
        [*DONE, SCHEDULER],
    ).fetchall():
        when = parse_iso(scheduled)
        if when is not None:
            runs[job] = when
    manual = last_successful_sync(db)
    if manual is not None and (runs.get("nightly") is None or manual > runs["nightly"]):
        runs["nightly"] = manual
    return runs


def last_successful_sync(db: Database) -> datetime | None:
    """Start time of the last sync run that finished well (any way it was started)."""
    if "sync_runs" not in db.table_names():
        return None
    row = db.execute(
        "SELECT max(started_at) FROM sync_runs WHERE status IN ('ok', 'success', 'succeeded')"
    ).fetchone()
    return parse_iso(row[0]) if row else None


def first_start(db: Database) -> datetime | None:
    """When a scheduler first ran on this mirror: jobs never run count their slots from here."""
    row = db.execute("SELECT min(started_at) FROM job_runs WHERE job = ?", [SCHEDULER]).fetchone()
    return parse_iso(row[0]) if row else None


def record_start(
    db: Database, job: str, scheduled_for: datetime, now: datetime, status: str = "running"
) -> int:
    """Insert a run row before the work starts, so a crash leaves a visible trace."""
    with db.conn:
        cursor = db.execute(
            "INSERT INTO job_runs (job, scheduled_for, started_at, status) VALUES (?, ?, ?, ?)",
            [job, iso(scheduled_for), iso(now), status],
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def record_finish(
    db: Database, run_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    with db.conn:
        db.execute(
            "UPDATE job_runs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            [status, iso(now), error, run_id],
        )


def mark_interrupted(db: Database, now: datetime) -> int:
    """Runs left `running` by a process that died: marked `interrupted` (caught up again).

    Only call this while holding the schedule lock, when no other scheduler can be running.
    """
    with db.conn:
        cursor = db.execute(
            "UPDATE job_runs SET status = 'interrupted', finished_at = ?, "
            "error = 'the process stopped before the job finished' WHERE status = 'running'",
            [iso(now)],
        )
    return cursor.rowcount


def run_recorded(
    db: Database,
    job: str,
    scheduled_for: datetime,
    work: Callable[[], str | None],
    clock: Callable[[], datetime],
) -> dict:
    """Run one job and record its outcome; an exception is recorded, logged and swallowed so
    that one failing job never stops the others. A held sync lock is no failure: the run is
    recorded `busy` and the slot stays due. Returns the finished `job_runs` row."""
    run_id = record_start(db, job, scheduled_for, clock())
    log.info("job %s (slot %s) started", job, iso(scheduled_for))
    try:
        summary = work()
    except SyncLocked as exc:
        log.info("job %s: the mirror is busy (%s); it runs once the lock is free", job, exc)
        record_finish(db, run_id, BUSY, clock(), redact(str(exc))[:1000])
    except Exception as exc:  # noqa: BLE001 - every failure must be recorded, not raised
        error = redact(f"{type(exc).__name__}: {exc}")[:1000]
        log.error("job %s failed: %s", job, error)
        log.debug("%s", redact(traceback.format_exc()))
        record_finish(db, run_id, "failed", clock(), error)
    else:
        log.info("job %s finished%s", job, f": {summary}" if summary else "")
        record_finish(db, run_id, "ok", clock(), None)
    return db.table("job_runs").get(run_id)
