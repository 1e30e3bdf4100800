"""APScheduler 3 (`BlockingScheduler`) around the job table, plus the one-shot mode for cron.

* every trigger carries the school's zone (never the host's);
* `misfire_grace_time` and `coalesce=True` in `job_defaults`; one worker thread, so jobs run
  one after another over the same SQLite mirror;
* no APScheduler job store: the catch-up after downtime reads our own `job_runs` and
  `sync_runs` (see `plan.due_jobs`), and runs each missed job once;
* every outcome goes to `job_runs`; a failing job is recorded (and e-mailed when `[email]`
  asks for it) and never stops the others.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlite_utils import Database

from asurso_sync.config import Config
from asurso_sync.errors import AsursoSyncError, JobsFailed, ScheduleLocked
from asurso_sync.mirror.db import open_mirror
from asurso_sync.notify import EmailSettings, email_settings, send_failure
from asurso_sync.schedule import runs
from asurso_sync.schedule.jobs import JOBS, TITLES, JobContext, JobFunc
from asurso_sync.schedule.plan import build_triggers, due_jobs, last_fire_time, next_fire_time
from asurso_sync.schedule.settings import JOB_NAMES, ScheduleSettings, schedule_settings

log = logging.getLogger(__name__)


BUSY_RETRY = timedelta(minutes=10)  # the service retries a slot the sync lock kept busy


def utc_now() -> datetime:
    return datetime.now(UTC)


def term_end_dates(db: Database) -> list[date]:
    """Last days of the mirror's live terms (not the whole-year mark)."""
    if "terms" not in db.table_names():
        return []
    rows = db.execute(
        "SELECT DISTINCT substr(end_date, 1, 10) FROM terms WHERE deleted_at IS NULL "
        "AND end_date IS NOT NULL AND lower(coalesce(name, '')) NOT LIKE '%год%'"
    ).fetchall()
    return sorted(date.fromisoformat(r[0]) for r in rows)


class ScheduleLock:
    """An exclusive `flock` beside the mirror held while a scheduler runs jobs."""

    def __init__(self, mirror_path: Path) -> None:
        self.path = Path(str(mirror_path) + ".schedule.lock")
        self._fd: int | None = None

    def __enter__(self) -> ScheduleLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace") or "holder unknown"
            os.close(fd)
            raise ScheduleLocked(
                f"another scheduler is already running jobs on this mirror ({holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, json.dumps({"pid": os.getpid(), "started_at": runs.iso(utc_now())}).encode(), 0
        )
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Scheduler:
    """The job table bound to one config; `clock` and `jobs` are injectable for tests."""

    def __init__(
        self,
        config: Config,
        *,
        settings: ScheduleSettings | None = None,
        email: EmailSettings | None = None,
        jobs: Mapping[str, JobFunc] | None = None,
        clock: Callable[[], datetime] = utc_now,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or schedule_settings(config)
        self.email = email if email is not None else email_settings(config)
        self.jobs = dict(JOBS if jobs is None else jobs)
        self.clock = clock
        self.ctx = JobContext(config, self.settings, self.email, env)
        self.scheduler: BaseScheduler | None = None
        self.triggers = build_triggers(self.settings)
        self.refresh_triggers()

    # -- the mirror -----------------------------------------------------------------------

    def open_db(self) -> Database:
        return open_mirror(self.config.mirror_path)

    def refresh_triggers(self) -> None:
        """Rebuild the triggers with the mirror's term end dates (they arrive with the sync)."""
        path = self.config.mirror_path
        ends: list[date] = []
        if path.exists():
            db = self.open_db()
            try:
                ends = term_end_dates(db)
            finally:
                db.close()
        self.triggers = build_triggers(self.settings, ends)
        if self.scheduler is not None and "term-report" in self.triggers:
            self._add(self.scheduler, "term-report")

    # -- planning -------------------------------------------------------------------------

    def due(self, db: Database, now: datetime) -> list[tuple[str, datetime]]:
        """Missed slots to catch up at `now` (empty when `catch_up = false`)."""
        if not self.settings.catch_up:
            return []
        return due_jobs(now, runs.last_runs(db), self.triggers, since=runs.first_start(db))

    def overview(self, now: datetime | None = None) -> list[dict]:
        """Per job: its schedule, last run and next run (school-local ISO) — for status/--list."""
        now = now or self.clock()
        tz = self.settings.tz
        last: dict[str, dict] = {}
        if self.config.mirror_path.exists():
            db = self.open_db()
            try:
                for found in db.query(
                    "SELECT * FROM job_runs WHERE id IN (SELECT max(id) FROM job_runs "
                    "WHERE job != ? GROUP BY job)",
                    [runs.SCHEDULER],
                ):
                    last[found["job"]] = found
            finally:
                db.close()
        out = []
        for name in JOB_NAMES:
            trigger = self.triggers.get(name)
            nxt = next_fire_time(trigger, now) if trigger is not None else None
            row = last.get(name)
            out.append(
                {
                    "job": name,
                    "what": TITLES[name],
                    "enabled": trigger is not None,
                    "schedule": str(trigger) if trigger is not None else None,
                    "next_run": nxt.astimezone(tz).isoformat() if nxt else None,
                    "last_run": _local(row["started_at"], tz) if row else None,
                    "last_slot": _local(row["scheduled_for"], tz) if row else None,
                    "last_status": row["status"] if row else None,
                    "last_error": row["error"] if row else None,
                }
            )
        return out

    # -- running --------------------------------------------------------------------------

    def run_slot(self, name: str, slot: datetime) -> dict:
        """Run one job for one slot, record it in `job_runs`, e-mail a failure."""
        db = self.open_db()
        try:
            func = self.jobs[name]
            row = runs.run_recorded(db, name, slot, lambda: func(self.ctx, slot), self.clock)
        finally:
            db.close()
        if row["status"] == "failed":
            self._notify_failure(name, row["error"])
        elif row["status"] == runs.BUSY and self.scheduler is not None:
            self.scheduler.add_job(
                self._retry,
                "date",
                run_date=self.clock() + BUSY_RETRY,
                args=[name, slot],
                id=f"retry-{name}",
                name=f"retry-{name}",
                replace_existing=True,
            )
        if name == "nightly":
            self.refresh_triggers()
        return row

    def _retry(self, name: str, slot: datetime) -> None:
        """The service's retry of a slot the sync lock kept busy (unless it has run since)."""
        db = self.open_db()
        try:
            done = runs.last_runs(db).get(name)
        finally:
            db.close()
        if done is None or done < slot:
            self.run_slot(name, slot)

    def _notify_failure(self, name: str, error: str) -> None:
        if self.email is None:
            return
        try:
            send_failure(self.email, name, error, env=self.ctx.env)
        except AsursoSyncError as exc:
            log.error("could not e-mail the failure of %s: %s", name, exc)

    def run_due(self, *, record_start: str = "always") -> list[dict]:
        """Mark dead `running` rows, record this start, run every due job once, in order.

        `record_start`: "always" (the service: each start is visible in status) or "first"
        (cron runs every few minutes: only the first start matters, as the baseline).
        """
        now = self.clock()
        db = self.open_db()
        try:
            stale = runs.mark_interrupted(db, now)
            if stale:
                log.warning(
                    "%d job run(s) were interrupted by a stop; they will be caught up", stale
                )
            due = self.due(db, now)
            if record_start == "always" or runs.first_start(db) is None:
                runs.record_start(db, runs.SCHEDULER, now, now, status="started")
        finally:
            db.close()
        if due:
            log.info("catching up %d missed job(s): %s", len(due), ", ".join(n for n, _ in due))
        return [self.run_slot(name, slot) for name, slot in due]

    def _fire(self, name: str) -> None:
        """APScheduler's callable: find the slot that fired, skip it if already done."""
        now = self.clock()
        trigger = self.triggers.get(name)
        window = timedelta(seconds=self.settings.misfire_grace_s) + timedelta(minutes=1)
        slot = (last_fire_time(trigger, now - window, now) if trigger else None) or now
        db = self.open_db()
        try:
            done = runs.last_runs(db).get(name)
        finally:
            db.close()
        if done is not None and done >= slot:
            log.info("job %s: slot %s already done, skipped", name, runs.iso(slot))
            return
        self.run_slot(name, slot)

    def _add(self, scheduler: BaseScheduler, name: str) -> None:
        scheduler.add_job(
            self._fire, self.triggers[name], args=[name], id=name, name=name, replace_existing=True
        )

    def build(self, scheduler_cls: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
        """The APScheduler instance with every enabled job (fixed ids, memory job store)."""
        scheduler = scheduler_cls(
            timezone=self.settings.tz,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "misfire_grace_time": self.settings.misfire_grace_s,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self.scheduler = scheduler
        for name in self.triggers:
            if name in self.jobs:
                self._add(scheduler, name)
        return scheduler

    def run_forever(self) -> None:
        """The `schedule` command: lock, catch up once, then run until SIGTERM/Ctrl-C."""
        with ScheduleLock(self.config.mirror_path):
            scheduler = self.build()
            scheduler.add_job(
                self.run_due, "date", run_date=self.clock(), id="catch-up", name="catch-up"
            )

            def stop(signum, frame):  # systemd stops services with SIGTERM
                log.info("stopping the scheduler (signal %d)", signum)
                scheduler.shutdown(wait=False)

            signal.signal(signal.SIGTERM, stop)
            for job in scheduler.get_jobs():
                log.info("job %s: %s", job.id, job.trigger)
            try:
                scheduler.start()
            except (KeyboardInterrupt, SystemExit):
                scheduler.shutdown(wait=False)

    def run_once(self) -> list[dict]:
        """`schedule --once` (cron, systemd timer): run what is due and return the rows.

        Another scheduler holding the lock is not an error here (a long nightly sync still
        running when cron starts the next check); raises JobsFailed when any job failed.
        """
        try:
            with ScheduleLock(self.config.mirror_path):
                done = self.run_due(record_start="first")
        except ScheduleLocked as exc:
            log.warning("%s; nothing to do now", exc)
            return []
        failed = [r for r in done if r["status"] == "failed"]
        if failed:
            raise JobsFailed("; ".join(f"job {r['job']} failed: {r['error']}" for r in failed))
        return done


def _local(text: str | None, tz) -> str | None:
    dt = runs.parse_iso(text)
    return dt.astimezone(tz).isoformat() if dt else None
