"""The violations' part of `asurso-sync status`: open violations per rule and per teacher."""

from __future__ import annotations

from sqlite_utils import Database

OPEN = "status IN ('new', 'open')"


def status_section(db: Database) -> dict:
    """{last_check, open, by_rule, by_teacher, excused, fixed} from the violations table."""
    if not db["violations"].exists():
        return {
            "last_check": None,
            "open": 0,
            "by_rule": {},
            "by_teacher": [],
            "excused": 0,
            "fixed": 0,
        }
    last = db.execute(
        "SELECT id, run_at, as_of FROM check_runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    by_rule = dict(
        db.execute(
            f"SELECT rule, COUNT(*) FROM violations WHERE {OPEN} GROUP BY rule ORDER BY rule"
        ).fetchall()
    )
    by_teacher = [
        {"teacher_id": tid, "teacher": name, "open": n}
        for tid, name, n in db.execute(
            f"SELECT v.teacher_id, t.name, COUNT(*) AS n FROM violations v "
            f"LEFT JOIN teachers t ON t.id = v.teacher_id WHERE v.{OPEN} "
            "GROUP BY v.teacher_id ORDER BY n DESC, v.teacher_id"
        )
    ]
    counts = dict(db.execute("SELECT status, COUNT(*) FROM violations GROUP BY status").fetchall())
    return {
        "last_check": ({"id": last[0], "run_at": last[1], "as_of": last[2]} if last else None),
        "open": sum(by_rule.values()),
        "by_rule": by_rule,
        "by_teacher": by_teacher,
        "excused": counts.get("excused", 0),
        "fixed": counts.get("fixed", 0),
    }
