"""How people read the jobs and their times: one wording for `schedule` and `status`.

Times a person reads are school-local and Russian-formatted (`02.12.2026 02:16`).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

DASH = "—"


def local_time(value: str | datetime | None, tz: tzinfo) -> str:
    """`02.12.2026 02:16` in the school's zone; a naive time is taken as UTC; None is `—`."""
    if value is None or value == "":
        return DASH
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def job_lines(rows: list[dict[str, Any]], tz: tzinfo) -> list[str]:
    """One line per job (and its last error), from `Scheduler.overview()` rows."""
    lines = [f"jobs (times in {tz}):"]
    for r in rows:
        if not r["enabled"]:
            lines.append(f"  {r['job']}: disabled")
            continue
        last = f"{r['last_status']} {local_time(r['last_run'], tz)}" if r["last_run"] else None
        lines.append(
            f"  {r['job']}: {r['what']}; next {local_time(r['next_run'], tz)}; "
            f"last {last or 'never run'}"
        )
        if r["last_status"] == "failed" and r["last_error"]:
            lines.append(f"    error: {r['last_error']}")
    return lines


def next_job_line(rows: list[dict[str, Any]], tz: tzinfo, now: datetime) -> str:
    """`nothing due; next: nightly at 02:30` (the date too when it is not today)."""
    upcoming = [r for r in rows if r["enabled"] and r["next_run"]]
    if not upcoming:
        return "nothing due; no job is scheduled"
    first = min(upcoming, key=lambda r: datetime.fromisoformat(r["next_run"]))
    when = datetime.fromisoformat(first["next_run"]).astimezone(tz)
    text = (
        when.strftime("%H:%M") if when.date() == now.astimezone(tz).date() else local_time(when, tz)
    )
    return f"nothing due; next: {first['job']} at {text}"
