"""R24: an entry changed after its week was locked or its period closed, as the syncs saw it.

«В случае, если оценки не выставлены в течение 7 дней, с даты проведения урока, необходимо
написать заявление … для открытия даты» (п. 7.4): after seven days a lesson's date is locked,
and after a period ends its period marks are final. The portal keeps the first entry's date on a
changed mark or absence, so only the mirror's own history (`changes`) shows a later change: a
current mark changed or deleted, an absence deleted or changed other than by the class teacher
turning «Н» into a reason (п. 7.3), or a period mark changed or deleted after the period's end.

The change happened between the previous successful sync and the one that saw it: evidence
`observed`, `certain` when even the previous sync was after the lock, `possible` otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule
from asurso_sync.rules.periods import install_terms

CHANGES = """
SELECT c.table_name, c.row_key, c.kind, c.column_name, c.old_value, c.new_value, c.seen_at,
       (SELECT MAX(r.started_at) FROM sync_runs r WHERE r.id < c.run_id
          AND r.status NOT IN ('failed', 'running')) AS previous
FROM changes c
WHERE c.table_name IN ('marks', 'attendance', 'period_marks') AND c.kind IN ('update', 'delete')
  AND (c.kind = 'delete' OR c.column_name IN ('mark', 'duty_mark', 'reason'))
ORDER BY c.id
"""
MARK = """
SELECT m.assignment_id, l.id AS lesson_id, l.subject_group_id, NULL AS term_id, m.student_id,
       COALESCE(l.class_id, g.class_id) AS class_id, g.subject_id, l.date AS lesson_date,
       l.teacher_id, dl.deadline_date AS deadline, dl.deadline_at
FROM marks m
JOIN assignments a ON a.id = m.assignment_id
JOIN lessons l ON l.id = COALESCE(a.lesson_id, m.lesson_id)
JOIN subject_groups g ON g.id = l.subject_group_id
JOIN temp.rules_deadline dl ON dl.n = :n AND dl.d = l.date
WHERE m.assignment_id = :a AND m.student_id = :s
"""
ABSENCE = """
SELECT NULL AS assignment_id, l.id AS lesson_id, l.subject_group_id, NULL AS term_id,
       at.student_id, COALESCE(l.class_id, g.class_id) AS class_id, g.subject_id,
       l.date AS lesson_date, l.teacher_id, dl.deadline_date AS deadline, dl.deadline_at
FROM attendance at
JOIN lessons l ON l.id = at.lesson_id
JOIN subject_groups g ON g.id = l.subject_group_id
JOIN temp.rules_deadline dl ON dl.n = :n AND dl.d = l.date
WHERE at.lesson_id = :a AND at.student_id = :s
"""
PERIOD = """
SELECT NULL AS assignment_id, NULL AS lesson_id, pm.subject_group_id, pm.term_id, pm.student_id,
       g.class_id, g.subject_id, NULL AS lesson_date, NULL AS teacher_id,
       t.term_end AS deadline, t.end_at AS deadline_at
FROM period_marks pm
JOIN temp.rules_term t ON t.term_id = pm.term_id
JOIN subject_groups g ON g.id = pm.subject_group_id
WHERE pm.subject_group_id = :a AND pm.term_id = :t AND pm.student_id = :s
"""
WHAT = {"marks": "оценка", "attendance": "отметка посещаемости", "period_marks": "итоговая оценка"}


def _local(ctx: Context, stamp: str | None) -> str | None:
    """A sync's UTC bookkeeping time as naive school-local ISO (what entry times are)."""
    if not stamp:
        return None
    moment = dt.datetime.fromisoformat(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ctx.settings.zone).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _object(ctx: Context, table: str, key: list) -> dict | None:
    n = ctx.settings.mark_days
    if table == "marks":
        rows = list(ctx.query(MARK, {"n": n, "a": key[0], "s": key[1]}))
    elif table == "attendance":
        rows = list(ctx.query(ABSENCE, {"n": n, "a": key[0], "s": key[1]}))
    else:
        rows = list(ctx.query(PERIOD, {"a": key[0], "t": key[1], "s": key[2]}))
    return rows[0] if rows else None


def changed_after_lock(ctx: Context) -> Iterator[dict]:
    """One row per entry (the first change after its lock/close), named like Finding's fields."""
    install_terms(ctx)
    reasons = ctx.settings.code_set("reasons")
    absent = ctx.settings.code_set("Н")
    seen_keys: set[tuple] = set()
    for change in ctx.query(CHANGES):
        table = change["table_name"]
        if (
            table == "attendance"
            and change["kind"] == "update"
            and (change["old_value"] or "").upper() in absent
            and (change["new_value"] or "").upper() in reasons
        ):
            continue  # the class teacher's reason for an «Н» (п. 7.3): no change of the record
        try:
            key = json.loads(change["row_key"])
        except (TypeError, ValueError):
            continue
        seen, previous = _local(ctx, change["seen_at"]), _local(ctx, change["previous"])
        if seen is None or seen > ctx.asof_end or (table, *key) in seen_keys:
            continue
        row = _object(ctx, table, key)
        if row is None or not row["deadline_at"] or seen <= row["deadline_at"]:
            continue
        seen_keys.add((table, *key))
        if change["kind"] == "delete":
            what = f"{WHAT[table]} удалена"
        else:
            what = f"{WHAT[table]} изменена «{change['old_value']}» → «{change['new_value']}»"
        closed = "окончания периода" if table == "period_marks" else "закрытия даты (7 дней)"
        yield {
            **row,
            "entered_at": seen,
            "entered_source": "observed",
            "last_absent_at": previous,
            "detail": f"{what[0].upper()}{what[1:]} после {closed}: замечено {seen}",
        }


@rule(
    id="R24",
    title="Изменение после закрытия недели или периода",
    clause="п. 7.4",
    severity="violation",
    family="changes",
    key_fields=("assignment_id", "lesson_id", "subject_group_id", "term_id", "student_id"),
    config_keys=("mark_days", "evidence"),
    object_field="lesson_id",
    deadline_source="regulation",
    deadline_setting="mark_days",
    deadline_default=7,
    late_entry=True,
)
def check_changes_after_lock(ctx: Context, r: Rule) -> Iterable[Finding]:
    return findings_from_rows(ctx, r, changed_after_lock(ctx))


RULES = (check_changes_after_lock,)
