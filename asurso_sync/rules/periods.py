"""R13–R14: period marks go in 3 days before the term ends and stay unchanged after it
(Регламент, учитель п. 10; п. 7.4)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule


def term_deadlines(ctx: Context) -> list[tuple[int, str, str, str, str]]:
    """(term_id, term_end, deadline_date, deadline_at, end_at) per live term (C3, C4)."""
    out = []
    for term_id, name, end in ctx.db.execute(
        "SELECT id, name, end_date FROM terms WHERE deleted_at IS NULL AND end_date IS NOT NULL"
    ):
        term_end = dt.date.fromisoformat(end[:10])
        due = ctx.cal.shift(term_end, -ctx.settings.final_offset_days)
        order = ctx.settings.order_deadline.get(name) or ctx.settings.order_deadline.get(
            str(term_id)
        )
        if order:
            due = min(due, dt.date.fromisoformat(order))
        out.append(
            (
                term_id,
                term_end.isoformat(),
                due.isoformat(),
                ctx.cal.deadline_at(due),
                ctx.cal.deadline_at(term_end),
            )
        )
    return out


def _install(ctx: Context) -> None:
    ctx.db.execute("DROP TABLE IF EXISTS temp.rules_term")
    ctx.db.execute(
        "CREATE TEMP TABLE rules_term (term_id INTEGER PRIMARY KEY, term_end TEXT, "
        "deadline_date TEXT, deadline_at TEXT, end_at TEXT)"
    )
    ctx.db.conn.executemany(
        "INSERT INTO temp.rules_term VALUES (?, ?, ?, ?, ?)", term_deadlines(ctx)
    )


PERIOD_KEY = ("subject_group_id", "term_id", "student_id")


@rule(
    id="R13",
    title="Итоговая оценка за период не выставлена за 3 дня до его окончания",
    clause="п. 7.4; Регламент, учитель п. 10",
    severity="violation",
    family="periods",
    key_fields=PERIOD_KEY,
    config_keys=("final_offset_days", "order_deadline", "day_kind"),
    object_field="subject_group_id",
    deadline_source="regulation",
    deadline_setting="final_offset_days",
    deadline_default=3,
    late_entry=True,
)
def check_period_marks(ctx: Context, r: Rule) -> Iterable[Finding]:
    _install(ctx)
    sql = """
SELECT sgs.subject_group_id, t.term_id, sgs.student_id, g.class_id, g.subject_id,
       t.deadline_date AS deadline, t.deadline_at,
       pm.entered_at, pm.entered_source, pm.last_absent_at,
       CASE WHEN pm.entered_at IS NULL THEN 'Нет итоговой оценки за период (срок '
                 || t.deadline_date || ')'
            ELSE 'Итоговая оценка внесена ' || pm.entered_at || ', срок ' || t.deadline_date
       END AS detail
FROM subject_group_terms sgt
JOIN temp.rules_term t ON t.term_id = sgt.term_id
JOIN subject_groups g ON g.id = sgt.subject_group_id
JOIN subject_group_students sgs ON sgs.subject_group_id = sgt.subject_group_id
JOIN students s ON s.id = sgs.student_id
LEFT JOIN period_marks pm
  ON pm.subject_group_id = sgt.subject_group_id AND pm.term_id = t.term_id
 AND pm.student_id = sgs.student_id AND pm.deleted_at IS NULL
 AND pm.mark IS NOT NULL AND TRIM(pm.mark) != '' AND pm.entered_at <= :asof_end
WHERE sgt.deleted_at IS NULL AND g.deleted_at IS NULL AND sgs.deleted_at IS NULL
  AND s.deleted_at IS NULL AND t.deadline_date < :asof
  AND (pm.entered_at IS NULL OR pm.entered_at > t.deadline_at)
"""
    return findings_from_rows(ctx, r, ctx.query(sql, {"asof": ctx.asof, "asof_end": ctx.asof_end}))


@rule(
    id="R14",
    title="Итоговая оценка внесена или изменена после окончания периода",
    clause="",
    severity="info",
    family="periods",
    key_fields=PERIOD_KEY,
    config_keys=("tz", "deadline_time", "grace_hours"),
    object_field="subject_group_id",
    late_entry=True,
)
def check_closed_period(ctx: Context, r: Rule) -> Iterable[Finding]:
    _install(ctx)
    base = """
SELECT pm.subject_group_id, pm.term_id, pm.student_id, g.class_id, g.subject_id,
       t.term_end AS deadline, t.end_at AS deadline_at, pm.entered_at, pm.entered_source,
       pm.last_absent_at
FROM period_marks pm
JOIN temp.rules_term t ON t.term_id = pm.term_id
JOIN subject_groups g ON g.id = pm.subject_group_id
WHERE pm.deleted_at IS NULL
"""
    rows = {}
    for row in ctx.query(
        base + " AND pm.entered_at > t.end_at AND pm.entered_at <= :asof_end",
        {"asof_end": ctx.asof_end},
    ):
        row["detail"] = f"Итоговая оценка внесена {row['entered_at']} после конца периода"
        rows[(row["subject_group_id"], row["term_id"], row["student_id"])] = row
    # Changes the syncs saw after the term ended (the portal may keep the first entry's date).
    for row in _changed_after_end(ctx, base):
        rows.setdefault((row["subject_group_id"], row["term_id"], row["student_id"]), row)
    return findings_from_rows(ctx, r, rows.values())


def _changed_after_end(ctx: Context, base: str) -> Iterable[dict]:
    """Period-mark changes a sync saw after the term ended; the change happened between the
    previous successful sync (`last_absent_at`) and the one that saw it."""
    zone = ZoneInfo(ctx.settings.tz)

    def local(stamp: str | None) -> str | None:
        if not stamp:
            return None
        moment = dt.datetime.fromisoformat(stamp)
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone).replace(tzinfo=None)
        return moment.isoformat(timespec="seconds")

    changes = ctx.db.execute(
        "SELECT c.row_key, c.seen_at, c.old_value, c.new_value, "
        "(SELECT MAX(r.started_at) FROM sync_runs r WHERE r.id < c.run_id "
        " AND r.status NOT IN ('failed', 'running')) "
        "FROM changes c WHERE c.table_name = 'period_marks' AND c.kind = 'update' "
        "AND c.column_name = 'mark'"
    ).fetchall()
    if not changes:
        return
    marks = {
        (row["subject_group_id"], row["term_id"], row["student_id"]): row for row in ctx.query(base)
    }
    for row_key, seen_at, old, new, previous in changes:
        try:
            key = tuple(json.loads(row_key))
            seen, absent = local(seen_at), local(previous)
        except (ValueError, TypeError):
            continue
        mark = marks.get(key)
        if mark is None or seen is None or not (mark["deadline_at"] < seen <= ctx.asof_end):
            continue
        yield {
            **mark,
            "entered_at": seen,
            "entered_source": "observed",
            "last_absent_at": absent,
            "detail": f"Итоговая оценка изменена «{old}» → «{new}» (замечено {seen})",
        }


RULES = (check_period_marks, check_closed_period)
