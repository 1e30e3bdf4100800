"""R15–R18: the КТП is in place on time, adds up to the curriculum hours, is filled in Russian,
and the programme keeps pace with it (п. 7.4, 4.6; Регламент, учитель п. 1, 12)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule

GROUPS = """
SELECT g.id AS subject_group_id, g.class_id, g.subject_id, g.hours, p.plan_id, p.created_date
FROM subject_groups g
LEFT JOIN plans p ON p.subject_group_id = g.id AND p.deleted_at IS NULL
WHERE g.deleted_at IS NULL
"""
HAS_PLAN = "p.plan_id IS NOT NULL"
_CYRILLIC = re.compile("[А-Яа-яЁё]")


@rule(
    id="R15",
    title="КТП не размещено в «Планировании уроков» в срок",
    clause="п. 7.4 (до 31 августа); Регламент, учитель п. 1 (до 26 июня)",
    severity="violation",
    family="planning",
    key_fields=("subject_group_id",),
    config_keys=("ktp_deadline", "ktp_early_deadline"),
    object_field="subject_group_id",
    deadline_source="regulation",
    deadline_setting="ktp_deadline",
    deadline_default="08-31",
)
def check_ktp_deadline(ctx: Context, r: Rule) -> Iterable[Finding]:
    late = ctx.school_date(ctx.settings.ktp_deadline)
    early = ctx.school_date(ctx.settings.ktp_early_deadline)
    rows = []
    for row in ctx.query(GROUPS):
        created = (row["created_date"] or "")[:10]
        if row["plan_id"] is None or created > ctx.asof:
            created = ""  # no plan (yet) at the as-of date
        elif not created:
            continue  # a plan the portal did not date: not checkable
        if late and (created > late.isoformat() or (not created and late < ctx.as_of)):
            what = f"создано {created}" if created else "отсутствует"
            rows.append(
                {
                    **row,
                    "severity": "violation",
                    "deadline": late.isoformat(),
                    "detail": f"КТП {what}, срок {late.isoformat()}",
                }
            )
        elif early and (created > early.isoformat() or (not created and early < ctx.as_of)):
            what = f"создано {created}" if created else "отсутствует"
            rows.append(
                {
                    **row,
                    "severity": "warning",
                    "deadline": early.isoformat(),
                    "detail": f"КТП {what}, ранний срок {early.isoformat()}",
                }
            )
    return findings_from_rows(ctx, r, rows)


@rule(
    id="R16",
    title="Часы КТП не совпадают с учебным планом",
    clause="п. 7.4",
    severity="violation",
    family="planning",
    key_fields=("subject_group_id",),
    config_keys=("ktp_tolerance",),
    object_field="subject_group_id",
)
def check_ktp_hours(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = f"""
SELECT b.*, 'Часов в КТП ' || b.ktp_hours || ', по учебному плану ' || b.hours AS detail
FROM (SELECT g.*, (SELECT COALESCE(SUM(pl.hours), 0) FROM plan_lessons pl
                   WHERE pl.subject_group_id = g.subject_group_id AND pl.deleted_at IS NULL)
                  AS ktp_hours
      FROM ({GROUPS} AND {HAS_PLAN} AND g.hours IS NOT NULL) g) b
WHERE ABS(b.ktp_hours - b.hours) > :tolerance
"""
    return findings_from_rows(ctx, r, ctx.query(sql, {"tolerance": ctx.settings.ktp_tolerance}))


@rule(
    id="R17",
    title="Урок КТП без темы, задания или не на русском языке",
    clause="п. 7.4",
    severity="violation",
    family="planning",
    key_fields=("plan_lesson_id",),
    config_keys=(),
    object_field="plan_lesson_id",
)
def check_ktp_lessons(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = f"""
SELECT pl.id AS plan_lesson_id, g.subject_group_id, g.class_id, g.subject_id, pl.name,
       pl.home_assignment
FROM plan_lessons pl JOIN ({GROUPS} AND {HAS_PLAN}) g ON g.subject_group_id = pl.subject_group_id
WHERE pl.deleted_at IS NULL
"""
    rows = []
    for row in ctx.query(sql):
        name = (row["name"] or "").strip()
        problems = []
        if not name:
            problems.append("нет темы")
        elif not _CYRILLIC.search(name):
            problems.append("тема не на русском языке")
        if not (row["home_assignment"] or "").strip():
            problems.append("нет задания")
        if problems:
            rows.append({**row, "detail": "Урок КТП: " + ", ".join(problems)})
    return findings_from_rows(ctx, r, rows)


@rule(
    id="R18",
    title="Отставание от КТП на конец периода",
    clause="п. 4.6; Регламент, учитель п. 12",
    severity="violation",
    family="planning",
    key_fields=("subject_group_id", "term_id"),
    config_keys=("lag_tolerance",),
    object_field="subject_group_id",
)
def check_programme_lag(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = f"""
SELECT b.*, b.term_end AS deadline,
       'По КТП к ' || b.term_end || ' уроков: ' || b.planned || ', проведено: ' || b.held
         AS detail
FROM (SELECT g.subject_group_id, g.class_id, g.subject_id, t.id AS term_id,
             t.end_date AS term_end,
             (SELECT COUNT(*) FROM plan_lessons pl
              WHERE pl.subject_group_id = g.subject_group_id AND pl.deleted_at IS NULL
                AND substr(pl.last_study_day, 1, 10) <= t.end_date) AS planned,
             (SELECT COUNT(*) FROM lessons l
              WHERE l.subject_group_id = g.subject_group_id AND l.deleted_at IS NULL
                AND l.date <= t.end_date) AS held
      FROM ({GROUPS} AND {HAS_PLAN}) g
      JOIN subject_group_terms sgt ON sgt.subject_group_id = g.subject_group_id
       AND sgt.deleted_at IS NULL
      JOIN terms t ON t.id = sgt.term_id AND t.deleted_at IS NULL
      WHERE t.end_date < :asof) b
WHERE b.planned - b.held > :tolerance
"""
    return findings_from_rows(
        ctx, r, ctx.query(sql, {"asof": ctx.asof, "tolerance": ctx.settings.lag_tolerance})
    )


RULES = (check_ktp_deadline, check_ktp_hours, check_ktp_lessons, check_programme_lag)
