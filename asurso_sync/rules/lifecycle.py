"""The violations' lifecycle: new → open → fixed (or excused), never deleted (R26's pattern:
a remark closes itself when a later check no longer finds the defect).

Dates in `first_found_at`, `last_found_at`, `fixed_at` are the checks' as-of dates (school
local), so a re-run of history reads the same; `check_runs.run_at` is the real UTC time.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields

from sqlite_utils import Database

from asurso_sync.mirror.audit import record_action
from asurso_sync.rules.base import Finding
from asurso_sync.rules.engine import OK_SYNC, CheckResult, evaluate
from asurso_sync.rules.settings import RuleSettings

LIVE = ("new", "open", "excused")
ROW_FIELDS = tuple(x.name for x in fields(Finding) if x.name != "key")


def save_check(db: Database, result: CheckResult, now: dt.datetime | None = None) -> CheckResult:
    """Record one check run and update every violation of the rules it evaluated."""
    now = now or dt.datetime.now(dt.UTC)
    as_of = result.as_of.isoformat()
    with db.conn:
        sync = db.execute(f"SELECT MAX(id) FROM sync_runs WHERE {OK_SYNC}").fetchone()[0]
        inserted = (
            db.table("check_runs")
            .insert(
                {
                    "run_at": now.isoformat(timespec="seconds"),
                    "as_of": as_of,
                    "sync_run_id": sync,
                    "rules": json.dumps(list(result.rules)),
                }
            )
            .last_pk
        )
        check_id = int(inserted) if inserted is not None else 0
        previous = _previous(db, result.rules)
        findings, rows = [], []
        for f in result.findings:
            vid = f.id
            old = previous.pop(vid, None)
            # excused stays excused; otherwise new the first time, open after (also when a
            # fixed one comes back: reopened, its first detection kept)
            if f.status != "excused":
                f.status = "new" if old is None else "open"
            findings.append(f)
            rows.append(_row(f, vid, old, check_id, as_of))
        _upsert(db, rows)
        fixed = [
            {**old, "status": "fixed", "fixed_at": as_of, "fixed_check": check_id}
            for old in previous.values()
            if old["status"] in LIVE
        ]
        db.conn.executemany(
            "UPDATE violations SET status = 'fixed', fixed_at = ?, fixed_check = ? WHERE id = ?",
            [(as_of, check_id, row["id"]) for row in fixed],
        )
        result.findings, result.fixed, result.check_id = findings, fixed, check_id
        db.table("check_runs").update(
            check_id,
            {
                "counts": json.dumps(result.counts(), ensure_ascii=False),
                "notices": json.dumps(result.notices, ensure_ascii=False),
            },
        )
        record_action(
            db,
            "check",
            f"check {check_id} as of {as_of}: {len(findings)} findings, {len(fixed)} fixed",
        )
    return result


def _upsert(db: Database, rows: list[dict]) -> None:
    """Insert or update in one executemany (sqlite-utils' per-row upsert is far too slow)."""
    if not rows:
        return
    columns = list(rows[0])
    keep = {"id", "first_found_at", "first_found_check"}
    sql = (
        f"INSERT INTO violations ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT(id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keep)
    )
    db.conn.executemany(sql, [tuple(row[c] for c in columns) for row in rows])


def _previous(db: Database, rules: tuple[str, ...]) -> dict[str, dict]:
    if not rules:
        return {}
    marks = ", ".join("?" for _ in rules)
    cursor = db.execute(f"SELECT * FROM violations WHERE rule IN ({marks})", list(rules))
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor}


def _row(f: Finding, vid: str, old: dict | None, check_id: int, as_of: str) -> dict:
    row = {name: getattr(f, name) for name in ROW_FIELDS}
    row.update(
        {
            "id": vid,
            "key": json.dumps(list(f.key), ensure_ascii=False),
            "first_found_at": old["first_found_at"] if old else as_of,
            "first_found_check": old["first_found_check"] if old else check_id,
            "last_found_at": as_of,
            "last_found_check": check_id,
            "fixed_at": None,
            "fixed_check": None,
        }
    )
    return row


def check(
    db: Database,
    settings: RuleSettings,
    as_of: dt.date | None = None,
    rule_ids: list[str] | tuple[str, ...] | None = None,
    now: dt.datetime | None = None,
) -> CheckResult:
    """Evaluate and record: a `check_runs` row and the violations' lifecycle."""
    result = evaluate(db, settings, as_of, rule_ids)
    return save_check(db, result, now=now)
