"""The status page's composition: sync health, jobs (last and next runs), open violations,
archive health and disk use — one dict, for people (`status`) and monitoring (`status --json`).

Each area owns its own section (`mirror.status.mirror_status`, `rules.summary.status_section`,
`archive.status_section`, `schedule.Scheduler.overview`); this module only puts them together.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from asurso_sync.archive import status_section as archive_section
from asurso_sync.config import Config
from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.status import mirror_status
from asurso_sync.rules.summary import status_section as violations_section
from asurso_sync.schedule import Scheduler, job_lines, local_time

log = logging.getLogger(__name__)


def file_bytes(path: Path) -> int:
    """Size of a SQLite file with its -wal and -shm companions."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            total += p.stat().st_size
    return total


def tree_bytes(root: Path) -> int:
    """Bytes of every regular file under `root` (0 when it does not exist)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            p = Path(folder) / name
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def disk_use(config: Config) -> dict[str, Any]:
    """Bytes used by the mirror and the archive, and what is left on their file systems."""
    mirror = config.mirror_path
    archive = config.archive_path
    out: dict[str, Any] = {
        "mirror_bytes": file_bytes(mirror),
        "archive_bytes": tree_bytes(archive),
    }
    for key, path in (("mirror_free_bytes", mirror.parent), ("archive_free_bytes", archive)):
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        out[key] = shutil.disk_usage(probe).free
    return out


def collect_status(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Everything `status` shows. Raises when there is no mirror yet (nothing to report)."""
    now = now or datetime.now(UTC)
    path = config.mirror_path
    if not path.exists():
        raise AsursoSyncError(f"no mirror at {path}: run `asurso-sync sync` first")
    db = open_mirror(path, readonly=True)
    try:
        data: dict[str, Any] = {
            "mirror": str(path),
            "generated_at": now.isoformat(timespec="seconds"),
        }
        data.update(mirror_status(db, now))
        data["violations"] = violations_section(db)
    finally:
        db.close()
    data["jobs"] = Scheduler(config).overview(now)
    data["archive"] = archive_section(config, now.date())
    data["disk"] = disk_use(config)
    return data


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _violation_lines(v: dict[str, Any] | None, top: int = 10) -> list[str]:
    if not v:
        return []
    last = v.get("last_check")
    when = f"check {last['id']} as of {_date(last['as_of'])}" if last else "never checked"
    lines = [f"violations: {v['open']} open ({when}); {v['fixed']} fixed, {v['excused']} excused"]
    if v["by_rule"]:
        lines.append("  by rule: " + ", ".join(f"{r} {n}" for r, n in v["by_rule"].items()))
    if v["by_teacher"]:
        shown = v["by_teacher"][:top]
        more = len(v["by_teacher"]) - len(shown)
        lines.append(
            "  by teacher: "
            + ", ".join(
                f"{t['teacher'] or t['teacher_id'] or 'unassigned'} {t['open']}" for t in shown
            )
            + (f" (+{more} more)" if more > 0 else "")
        )
    return lines


def _date(value: str | None) -> str:
    """`2032-01-01` -> `01.01.2032` (a date a person reads); None -> `—`."""
    if not value:
        return "—"
    return datetime.fromisoformat(value[:10]).strftime("%d.%m.%Y")


def _archive_lines(a: dict[str, Any] | None, tz: ZoneInfo) -> list[str]:
    if not a:
        return []
    due = ", ".join(a["due"]) or "none"
    overdue = ", ".join(a["full_checks_overdue"]) or "none"
    lines = [
        f"archive: {len(a['bags'])} bag(s) in {a['store']}; {a['problems']} failed "
        f"check(s); due for destruction: {due}; full checks overdue: {overdue}"
    ]
    for b in a["bags"]:
        check = (
            f"{b['last_check']} {b['last_result']} at {local_time(b['last_check_at'], tz)}"
            if b["last_check"]
            else "never checked"
        )
        lines.append(f"  {b['bag']}: {check}; retain until {_date(b['retain_until'])}")
        for c in b.get("copies", []):
            copy_check = (
                f"{c['last_check']} {c['result']} at {local_time(c['last_check_at'], tz)}"
                if c["last_check"]
                else "never checked"
            )
            lines.append(f"    copy {c['location']}: {copy_check}")
    if a.get("chain_head"):
        lines.append(f"  register chain head: {a['chain_head']}")
    return lines


def _sync_lines(data: dict[str, Any], tz: ZoneInfo) -> list[str]:
    health = data["health"]
    if health["last_ok_run"] is None:
        last = "no successful run yet"
    else:
        last = f"last ok run {health['last_ok_run']} at {local_time(health['last_ok_at'], tz)}"
    lines = [f"sync: {health['state']} ({last}; {health['failed_since_last_ok']} failed since)"]
    skipped = health.get("skipped_scopes") or []
    if skipped:
        first = skipped[0]
        ids = ", ".join(f"{k}={v}" for k, v in first.items() if k not in ("endpoint", "error"))
        lines.append(
            f"  {len(skipped)} scope(s) skipped and left as they were (the next sync tries them "
            f"again); first: {first['endpoint']} {ids}: {first['error']}"
        )
    for run in data["runs"]:
        line = (
            f"  run {run['id']}: {run['status']} {run['mode']} started "
            f"{local_time(run['started_at'], tz)} journals={run['journals']} "
            f"requests={run['requests']}"
        )
        if run.get("portal_version"):
            line += f" portal={run['portal_version']}"
        if run["error"]:
            line += f" — {run['error']}"
        lines.append(line)
    lines.append("rows (live / marked deleted):")
    for table, counts in data["tables"].items():
        if counts["rows"] or counts["deleted"]:
            lines.append(f"  {table}: {counts['rows']} / {counts['deleted']}")
    return lines


def render_status(data: dict[str, Any], tz: ZoneInfo) -> str:
    """`status` as text: every time school-local (`02.12.2026 02:16`)."""
    lines = [f"mirror: {data['mirror']}"]
    lines.extend(_sync_lines(data, tz))
    lines.extend(render_ops(data, tz))
    return "\n".join(lines)


def render_ops(data: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """Text lines for the sections this module composes: jobs, violations, archive, disk."""
    lines: list[str] = []
    if data.get("jobs"):
        lines.extend(job_lines(data["jobs"], tz))
    lines.extend(_violation_lines(data.get("violations")))
    lines.extend(_archive_lines(data.get("archive"), tz))
    disk = data.get("disk")
    if disk:
        lines.append(
            f"disk: mirror {_size(disk['mirror_bytes'])}, archive {_size(disk['archive_bytes'])}"
            f" (free: {_size(disk['mirror_free_bytes'])} by the mirror, "
            f"{_size(disk['archive_free_bytes'])} by the archive)"
        )
    return lines
