"""Состояние (admin): sync runs and jobs with errors, next runs, disk use, doctor's last result."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database
from starlette.requests import Request
from starlette.responses import Response

from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.status import recent_runs, sync_health
from asurso_sync.schedule import job_overview
from asurso_sync.status import disk_use
from asurso_sync.web.core import open_ctx


def size(n: int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("Б", "КБ", "МБ", "ГБ"):
        if value < 1024 or unit == "ГБ":
            return f"{value:.0f} {unit}" if unit == "Б" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} Б"


def doctor_result(db: Database) -> dict[str, Any] | None:
    """`doctor`'s latest run, which it keeps in the mirror's `doctor_runs` (when it has run)."""
    if not db.table("doctor_runs").exists():
        return None
    rows = list(
        db.query(
            "SELECT run_at, portal_url, server_version, ok, cause, report_path "
            "FROM doctor_runs ORDER BY id DESC LIMIT 1"
        )
    )
    return rows[0] if rows else None


def state_page(request: Request) -> Response:
    ctx = open_ctx(request, "state")
    try:
        config = ctx.settings.config
        problems = []
        try:
            jobs = job_overview(config)
        except (AsursoSyncError, OSError) as exc:
            jobs, problems = [], [f"расписание: {exc}"]
        try:
            disk = disk_use(config)
        except OSError as exc:
            disk, problems = {}, [*problems, f"диск: {exc}"]
        failed_runs = list(
            ctx.mirror.query(
                "SELECT id, started_at, finished_at, status, mode, error FROM sync_runs "
                "WHERE status NOT IN ('ok', 'running') ORDER BY id DESC LIMIT 10"
            )
        )
        failed_jobs = list(
            ctx.mirror.query(
                "SELECT id, job, started_at, finished_at, status, error FROM job_runs "
                "WHERE status NOT IN ('ok', 'running') ORDER BY id DESC LIMIT 10"
            )
        )
        ctx.audit("state")
        return ctx.render(
            "state.html",
            "state",
            problems=problems,
            health=sync_health(ctx.mirror),
            runs=recent_runs(ctx.mirror, 10),
            jobs=jobs,
            failed_runs=failed_runs,
            failed_jobs=failed_jobs,
            disk=[
                ("Зеркало", size(disk.get("mirror_bytes"))),
                ("Свободно рядом с зеркалом", size(disk.get("mirror_free_bytes"))),
                ("Архив", size(disk.get("archive_bytes"))),
                ("Свободно рядом с архивом", size(disk.get("archive_free_bytes"))),
            ],
            doctor=doctor_result(ctx.mirror),
            web_jobs=request.app.state.jobs.recent(None, 10),
        )
    finally:
        ctx.close()
