"""R11–R12: only the permitted absence codes, and every «Н» turned into УП/НП by the class
teacher (Регламент, учитель п. 7; классный руководитель п. 2; п. 7.3)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule

ABSENCE = """
SELECT a.lesson_id, a.student_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.date AS lesson_date, a.reason
FROM attendance a
JOIN lessons l ON l.id = a.lesson_id
JOIN subject_groups g ON g.id = l.subject_group_id
WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND (a.entered_at IS NULL OR a.entered_at <= :asof_end)
"""


@rule(
    id="R11",
    title="Недопустимая отметка посещаемости («осв» запрещено)",
    clause="Регламент, учитель п. 7",
    severity="violation",
    family="attendance",
    key_fields=("lesson_id", "student_id"),
    config_keys=("codes",),
    object_field="lesson_id",
)
def check_codes(ctx: Context, r: Rule) -> Iterable[Finding]:
    osv = sorted(ctx.settings.code_set("осв"))
    mapped = sorted(ctx.settings.mapped_codes)
    _notice_unmapped_reasons(ctx, r)
    sql = f"""
SELECT b.*,
       CASE WHEN b.reason IN (SELECT value FROM json_each(:osv)) THEN 'violation'
            ELSE 'warning' END AS severity,
       CASE WHEN b.reason IN (SELECT value FROM json_each(:osv))
            THEN 'Запрещённая отметка «' || b.reason || '» (осв)'
            ELSE 'Код «' || COALESCE(b.reason, '') || '» не сопоставлен ни с Н, О, осв, '
                 || 'ни с причинами ([rules.codes])' END AS detail
FROM ({ABSENCE}) b
WHERE b.reason IS NULL OR b.reason NOT IN (SELECT value FROM json_each(:mapped))
   OR b.reason IN (SELECT value FROM json_each(:osv))
"""
    return findings_from_rows(
        ctx,
        r,
        ctx.query(
            sql, {"asof_end": ctx.asof_end, "osv": json.dumps(osv), "mapped": json.dumps(mapped)}
        ),
    )


def _notice_unmapped_reasons(ctx: Context, r: Rule) -> None:
    """A code the portal offers that no map names is said out loud, never ignored (C6)."""
    mapped = ctx.settings.mapped_codes
    for (code,) in ctx.db.execute(
        "SELECT code FROM attendance_reasons WHERE deleted_at IS NULL ORDER BY code"
    ):
        if code not in mapped:
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
WHERE b.reason IN (SELECT value FROM json_each(:absent)) AND dl.deadline_date < :asof
"""
    rows = ctx.query(
        sql,
        {
            "asof": ctx.asof,
            "asof_end": ctx.asof_end,
            "n": ctx.settings.reason_days,
            "absent": json.dumps(sorted(ctx.settings.code_set("Н"))),
        },
    )
    return findings_from_rows(ctx, r, rows)


RULES = (check_codes, check_reasons)
