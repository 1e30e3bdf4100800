"""What `status` shows about the mirror: recent runs, row counts, sync health."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from asurso_sync.mirror.runs import skipped_scopes
from asurso_sync.mirror.schema import SYNCED_TABLES

STALE_AFTER = timedelta(hours=36)


def recent_runs(db: Database, limit: int = 5) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT id, started_at, finished_at, status, mode, journals, requests, error, "
        "portal_version "
        "FROM sync_runs ORDER BY id DESC LIMIT ?",
        [limit],
    )
    return list(rows)


def row_counts(db: Database) -> dict[str, dict[str, int]]:
    """Live and deleted-marked rows per synced table."""
    out = {}
    for table in SYNCED_TABLES:
        live, deleted = db.execute(
            f"SELECT count(*) - count(deleted_at), count(deleted_at) FROM [{table}]"
        ).fetchone()
        out[table] = {"rows": live, "deleted": deleted}
    return out


def sync_health(db: Database, now: datetime | None = None) -> dict[str, Any]:
    """ok / partial / stale / failing / never, with the times behind the verdict. A `partial`
    run committed what fitted: it counts as the last good run, and `skipped_scopes` lists what
    it left as it was (the next run fetches those again)."""
    now = now or datetime.now(UTC)
    last_ok = db.execute(
        "SELECT id, finished_at, counts, status FROM sync_runs WHERE status IN ('ok', 'partial') "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    failed_since = db.execute(
        "SELECT count(*) FROM sync_runs WHERE status = 'failed' AND id > ?",
        [last_ok[0] if last_ok else 0],
    ).fetchone()[0]
    running = db.execute("SELECT count(*) FROM sync_runs WHERE status = 'running'").fetchone()[0]
    if last_ok is None:
        state = "failing" if failed_since else "never"
    elif failed_since:
        state = "failing"
    elif now - datetime.fromisoformat(last_ok[1]) > STALE_AFTER:
        state = "stale"
    else:
        state = last_ok[3]
    return {
        "state": state,
        "last_ok_run": last_ok[0] if last_ok else None,
        "last_ok_at": last_ok[1] if last_ok else None,
        "last_ok_counts": json.loads(last_ok[2]) if last_ok and last_ok[2] else None,
        "failed_since_last_ok": failed_since,
        "running": running,
        "skipped_scopes": skipped_scopes(db),
    }


def mirror_status(db: Database, now: datetime | None = None) -> dict[str, Any]:
    return {"health": sync_health(db, now), "runs": recent_runs(db), "tables": row_counts(db)}
