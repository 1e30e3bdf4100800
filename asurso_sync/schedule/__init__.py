"""The scheduler: nightly sync + checks, weekly/monthly/term reports, archive fixity checks.

Public API:

* `Scheduler(config)` — `.run_forever()` (the `schedule` command), `.run_once()` (cron and
  systemd timers: run what is due, exit), `.overview()` (per job: last and next run),
  `.build()` (the APScheduler instance, for inspection).
* `due_jobs(now, last_runs, triggers, since=None)` — the catch-up plan, a plain function.
* `build_triggers(settings, term_ends)` — one trigger per job, all in the school's zone.
* `schedule_settings(config)` — the validated `[schedule]` section.
* `job_overview(config, now=None)` — what `status` shows about the jobs.
"""

from __future__ import annotations

from datetime import datetime

from asurso_sync.errors import JobsFailed, ScheduleLocked
from asurso_sync.schedule.lines import job_lines, local_time, next_job_line
from asurso_sync.schedule.plan import DatesTrigger, build_triggers, due_jobs, next_fire_time
from asurso_sync.schedule.scheduler import Scheduler
from asurso_sync.schedule.settings import (
    JOB_NAMES,
    ScheduleSettings,
    parse_schedule_settings,
    schedule_settings,
)


def job_overview(config, now: datetime | None = None) -> list[dict]:
    """Per job: schedule, last run (status, error) and next run, school-local ISO times."""
    return Scheduler(config).overview(now)


__all__ = [
    "JOB_NAMES",
    "DatesTrigger",
    "JobsFailed",
    "ScheduleLocked",
    "ScheduleSettings",
    "Scheduler",
    "build_triggers",
    "due_jobs",
    "job_lines",
    "job_overview",
    "local_time",
    "next_fire_time",
    "next_job_line",
    "parse_schedule_settings",
    "schedule_settings",
]
