"""R11–R12: only the permitted absence codes, and every «Н» turned into УП/НП by the class
teacher (Регламент, учитель п. 7; классный руководитель п. 2; п. 7.3).

Codes compare case-insensitively. «Не допускаются пометки «осв»»: a code in map(`осв`) is a
violation wherever it is written — an absence row, a current mark or a period mark (which then
is no valid mark either).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule

ABSENCE = """
SELECT a.lesson_id, a.student_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.date AS lesson_date, a.reason,
       ru_upper(a.reason) AS code, l.teacher_id
FROM attendance a
JOIN lessons l ON l.id = a.lesson_id
JOIN subject_groups g ON g.id = l.subject_group_id
WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND (a.entered_at IS NULL OR a.entered_at <= :asof_end)
"""


R11_KEY = ("lesson_id", "assignment_id", "subject_group_id", "term_id", "student_id")


@rule(
    id="R11",
    title="Недопустимая пометка («осв» запрещено) или код, не сопоставленный в настройках",
    clause="Регламент, учитель п. 7",
    severity="violation",
    family="attendance",
    key_fields=R11_KEY,
    config_keys=("codes",),
    object_field="lesson_id",
)
def check_codes(ctx: Context, r: Rule) -> Iterable[Finding]:
    osv = json.dumps(sorted(ctx.settings.code_set("осв")), ensure_ascii=False)
    mapped = json.dumps(sorted(ctx.settings.mapped_codes), ensure_ascii=False)
    _notice_unmapped_reasons(ctx, r)
    absences = f"""
SELECT b.lesson_id, NULL AS assignment_id, b.subject_group_id, NULL AS term_id, b.student_id,
       b.class_id, b.subject_id, b.lesson_date, b.teacher_id,
       CASE WHEN b.code IN (SELECT value FROM json_each(:osv)) THEN 'violation'
            ELSE 'warning' END AS severity,
       CASE WHEN b.code IN (SELECT value FROM json_each(:osv))
            THEN 'Запрещённая пометка «' || b.reason || '» (осв) в посещаемости'
            ELSE 'Код «' || COALESCE(b.reason, '') || '» не сопоставлен ни с Н, О, осв, '
                 || 'ни с причинами ([rules.codes])' END AS detail
FROM ({ABSENCE}) b
WHERE b.code IS NULL OR b.code NOT IN (SELECT value FROM json_each(:mapped))
   OR b.code IN (SELECT value FROM json_each(:osv))
"""
    marks = """
SELECT l.id AS lesson_id, m.assignment_id, l.subject_group_id, NULL AS term_id, m.student_id,
       COALESCE(l.class_id, g.class_id) AS class_id, g.subject_id, l.date AS lesson_date,
       l.teacher_id, 'violation' AS severity,
       'Запрещённая пометка «' || m.mark || '» (осв) вместо оценки' AS detail
FROM marks m
JOIN assignments a ON a.id = m.assignment_id
JOIN lessons l ON l.id = COALESCE(a.lesson_id, m.lesson_id)
JOIN subject_groups g ON g.id = l.subject_group_id
WHERE m.deleted_at IS NULL AND a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND (m.entered_at IS NULL OR m.entered_at <= :asof_end)
  AND ru_upper(TRIM(m.mark)) IN (SELECT value FROM json_each(:osv))
"""
    periods = """
SELECT NULL AS lesson_id, NULL AS assignment_id, pm.subject_group_id, pm.term_id, pm.student_id,
       g.class_id, g.subject_id, NULL AS lesson_date, NULL AS teacher_id,
       'violation' AS severity,
       'Запрещённая пометка «' || pm.mark || '» (осв) вместо итоговой оценки' AS detail
FROM period_marks pm
JOIN subject_groups g ON g.id = pm.subject_group_id
WHERE pm.deleted_at IS NULL AND (pm.entered_at IS NULL OR pm.entered_at <= :asof_end)
  AND ru_upper(TRIM(pm.mark)) IN (SELECT value FROM json_each(:osv))
"""
    params = {"asof_end": ctx.asof_end, "osv": osv, "mapped": mapped}
    rows = [row for sql in (absences, marks, periods) for row in ctx.query(sql, params)]
    return findings_from_rows(ctx, r, rows)


def _notice_unmapped_reasons(ctx: Context, r: Rule) -> None:
    """A code the portal offers that no map names is said out loud, never ignored (C6)."""
    mapped = ctx.settings.mapped_codes
    for (code,) in ctx.db.execute(
        "SELECT code FROM attendance_reasons WHERE deleted_at IS NULL ORDER BY code"
    ):
        if code.upper() not in mapped:
            ctx.notice(
                r.id,
                f"код посещаемости «{code}» есть на портале, но не сопоставлен "
                "в [rules.codes]; отметки с ним считаются нарушением (warning)",
            )


@rule(
    id="R12",
    title="Отметка «Н» не заменена на УП/НП классным руководителем",
    clause="п. 7.3; Регламент, классный руководитель п. 2",
    severity="violation",
    family="attendance",
    key_fields=("lesson_id", "student_id"),
    config_keys=("reason_days", "codes"),
    object_field="lesson_id",
    addressee="class_teacher",
    deadline_source="setting",
    deadline_setting="reason_days",
)
def check_reasons(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = f"""
SELECT b.*, dl.deadline_date AS deadline,
       'Пропуск «' || b.reason || '» без причины (УП/НП) после ' || dl.deadline_date AS detail
FROM ({ABSENCE}) b
JOIN temp.rules_deadline dl ON dl.n = :n AND dl.d = b.lesson_date
WHERE b.code IN (SELECT value FROM json_each(:absent)) AND dl.deadline_date < :asof
"""
    rows = ctx.query(
        sql,
        {
            "asof": ctx.asof,
            "asof_end": ctx.asof_end,
            "n": ctx.settings.reason_days,
            "absent": json.dumps(sorted(ctx.settings.code_set("Н")), ensure_ascii=False),
        },
    )
    return findings_from_rows(ctx, r, rows)


RULES = (check_codes, check_reasons)
