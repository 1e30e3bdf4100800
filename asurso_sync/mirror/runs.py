"""`sync_runs` bookkeeping: a run is `running`, then `ok` (with its data, one transaction) or
`failed` with the reason. Rows left `running` by a killed process are marked failed."""

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


def start_run(db: Database, *, mode: str, since: str | None, portal_url: str) -> int:
    """Record a `running` run (committed at once, so a crash leaves its trace)."""
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO sync_runs (started_at, status, mode, since, portal_url) "
            "VALUES (?, 'running', ?, ?, ?)",
            [utc_now(), mode, since, portal_url],
        )
    return int(cursor.lastrowid)


def finish_run(db: Database, run_id: int, **fields: Any) -> None:
    """Set the run `ok`; call inside the transaction that saved its data."""
    fields = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
        for k, v in fields.items()
    }
    fields.update(status="ok", finished_at=utc_now())
    sets = ", ".join(f"[{k}] = ?" for k in fields)
    db.conn.execute(f"UPDATE sync_runs SET {sets} WHERE id = ?", [*fields.values(), run_id])
    record_action(db, "sync", f"run {run_id} ok")


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
