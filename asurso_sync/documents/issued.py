"""The D1 lists actually given to teachers: rendered for one, or handed over on paper.

«В прошлом списке» compares a teacher's remarks with the last list that teacher was given,
never with a month nobody printed. The web page records hand-overs; `render` records each D1
list it writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

from sqlite_utils import Database

log = logging.getLogger(__name__)

TABLE = "documents_issued_lists"
HOW = ("rendered", "handed")


def record_list_issued(
    db: Database,
    teacher_id: int,
    period: str,
    by: str,
    how: str,
    note: str = "",
    *,
    at: dt.datetime | None = None,
) -> dict | None:
    """Record that teacher `teacher_id`'s D1 list for `period` (a period slug: `2026-11`,
    `term2`) was issued by `by`, `how` = rendered | handed; returns the row written. A mirror
    opened read-only (the archive's snapshot) or older than the table records nothing."""
    if how not in HOW:
        raise ValueError(f"how must be one of {', '.join(HOW)}, not {how!r}")
    row = {
        "teacher_id": int(teacher_id),
        "period": period,
        "issued_at": (at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "issued_by": by,
        "how": how,
        "note": note or "",
    }
    try:
        cursor = db.conn.execute(
            f"INSERT INTO {TABLE} (teacher_id, period, issued_at, issued_by, how, note) "
            "VALUES (:teacher_id, :period, :issued_at, :issued_by, :how, :note)",
            row,
        )
        db.conn.commit()
    except sqlite3.OperationalError as exc:
        if "readonly" in str(exc) or "no such table" in str(exc):
            log.debug("not recording an issued list: %s", exc)
            return None
        raise
    return {"id": cursor.lastrowid, **row}


def issued_lists(db: Database, teacher_id: int) -> list[dict]:
    """Every list issued to the teacher, newest first (id, period, issued_at, issued_by, how,
    note); empty for a mirror older than the table."""
    if not db.table(TABLE).exists():
        return []
    return list(
        db.query(
            f"SELECT id, teacher_id, period, issued_at, issued_by, how, note FROM {TABLE} "
            "WHERE teacher_id = ? ORDER BY issued_at DESC, id DESC",
            [int(teacher_id)],
        )
    )
