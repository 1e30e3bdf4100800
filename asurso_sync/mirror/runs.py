"""`sync_runs` bookkeeping: a run is `running`, then `ok` (with its data, one transaction),
`partial` (committed, but some scopes skipped: listed in `sync_skipped_scopes`) or `failed`
with the reason. Rows left `running` by a killed process are marked failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from asurso_sync.mirror.audit import record_action

INTERRUPTED = "interrupted: the sync process ended before it finished"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def close_stale_runs(db: Database) -> int:
    """Mark `running` rows failed; call only while holding the sync lock."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE sync_runs SET status = 'failed', error = ?, finished_at = ? "
            "WHERE status = 'running'",
            [INTERRUPTED, utc_now()],
        )
    return cursor.rowcount


def start_run(
    db: Database, *, mode: str, since: str | None, portal_url: str, started_at: str | None = None
) -> int:
    """Record a `running` run (committed at once, so a crash leaves its trace)."""
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO sync_runs (started_at, status, mode, since, portal_url) "
            "VALUES (?, 'running', ?, ?, ?)",
            [started_at or utc_now(), mode, since, portal_url],
        )
    return int(cursor.lastrowid or 0)


def finish_run(
    db: Database,
    run_id: int,
    *,
    status: str = "ok",
    finished_at: str | None = None,
    **fields: Any,
) -> None:
    """Set the run `ok` (or `partial`); call inside the transaction that saved its data."""
    fields = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
        for k, v in fields.items()
    }
    fields.update(status=status, finished_at=finished_at or utc_now())
    sets = ", ".join(f"[{k}] = ?" for k in fields)
    db.conn.execute(f"UPDATE sync_runs SET {sets} WHERE id = ?", [*fields.values(), run_id])
    record_action(db, "sync", f"run {run_id} {status}")


def fail_run(db: Database, run_id: int, error: str, **fields: Any) -> None:
    fields = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
        for k, v in fields.items()
    }
    fields.update(status="failed", finished_at=utc_now(), error=error[:1000])
    sets = ", ".join(f"[{k}] = ?" for k in fields)
    with db.conn:
        db.conn.execute(f"UPDATE sync_runs SET {sets} WHERE id = ?", [*fields.values(), run_id])
        record_action(db, "sync", f"run {run_id} failed")


def last_success(db: Database) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM sync_runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows else None


def skipped_scopes(db: Database, run_id: int | None = None) -> list[dict[str, Any]]:
    """The scopes a run skipped (default: the last run that committed, if it was `partial`):
    `{endpoint, error, **ids}` each. `status` shows them; the next sync fetches them again."""
    if run_id is None:
        row = db.execute(
            "SELECT id FROM sync_runs WHERE status IN ('ok', 'partial') ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return []
        run_id = row[0]
    return [
        {"endpoint": endpoint, "error": error, **json.loads(scope)}
        for endpoint, scope, error in db.execute(
            "SELECT endpoint, scope, error FROM sync_skipped_scopes WHERE run_id = ? ORDER BY id",
            [run_id],
        )
    ]
