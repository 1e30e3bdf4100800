"""Z-1 and п. 7.4: «ежемесячно и по окончании учебных периодов устраняет замечания в ЭЖ,
отмеченные заместителем директора по УВР». A remark still open `fix_days` after it was first
found is past its fix-by date: escalated in D1/D2 and counted per teacher.

The fix-by date is a school setting (`[rules] fix_days`, default 30 — the monthly cycle): the
text names the cycle, not a number of days.
"""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from asurso_sync.rules.settings import RuleSettings

OPEN = ("new", "open")
FIX_SETTING = "fix_days"


def fix_by(first_found_at: str | dt.date, settings: RuleSettings) -> dt.date:
    """The date a remark first found on `first_found_at` is to be fixed by."""
    first = (
        first_found_at
        if isinstance(first_found_at, dt.date)
        else dt.date.fromisoformat(first_found_at[:10])
    )
    return first + dt.timedelta(days=settings.fix_days)


def overdue_remarks(db: Database, as_of: dt.date, settings: RuleSettings) -> list[dict]:
    """Open remarks (status new/open) whose fix-by date is before `as_of`, oldest first; each
    row of `violations` plus `fix_by` (ISO date) and `days_overdue`."""
    if not db["violations"].exists():
        return []
    cursor = db.execute(
        "SELECT * FROM violations WHERE status IN (?, ?) AND first_found_at IS NOT NULL "
        "ORDER BY first_found_at, rule, id",
        list(OPEN),
    )
    names = [d[0] for d in cursor.description]
    out = []
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        due = fix_by(row["first_found_at"], settings)
        if due < as_of:
            out.append({**row, "fix_by": due.isoformat(), "days_overdue": (as_of - due).days})
    return out


def overdue_per_teacher(
    db: Database, as_of: dt.date, settings: RuleSettings
) -> dict[int | None, int]:
    """{teacher_id: number of remarks past their fix-by date} (None: remarks to the
    administration, R20/R22/R23)."""
    counts: dict[int | None, int] = {}
    for row in overdue_remarks(db, as_of, settings):
        counts[row["teacher_id"]] = counts.get(row["teacher_id"], 0) + 1
    return counts
