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


def mid_year_groups(ctx: Context) -> set[int]:
    """Subject groups whose first term starts after their year's first term (opened mid-year)."""
    terms = {
        term_id: (year_id, start[:10])
        for term_id, year_id, start in ctx.db.execute(
            "SELECT id, year_id, start_date FROM terms WHERE deleted_at IS NULL "
            "AND start_date IS NOT NULL"
        )
    }
    year_first: dict[int, str] = {}
    for year_id, start in terms.values():
        year_first[year_id] = min(start, year_first.get(year_id, start))
    first: dict[int, tuple[int, str]] = {}
    for sg, term_id in ctx.db.execute(
        "SELECT subject_group_id, term_id FROM subject_group_terms WHERE deleted_at IS NULL"
    ):
        if term_id in terms and (sg not in first or terms[term_id][1] < first[sg][1]):
            first[sg] = terms[term_id]
    return {sg for sg, (year_id, start) in first.items() if start > year_first[year_id]}


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
    """The year's plans by 31 August (26 June a warning). A group opened mid-year (its first
    term starts after the year's first term) is not held to it: its plan is due when it opens."""
    late = ctx.school_date(ctx.settings.ktp_deadline)
    early = ctx.school_date(ctx.settings.ktp_early_deadline)
    mid_year = mid_year_groups(ctx)
    rows = []
    for row in ctx.query(GROUPS):
        if row["subject_group_id"] in mid_year:
            continue
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
    title="Урок КТП без темы, задания, КЭС или не на русском языке",
    clause="п. 7.4",
    severity="violation",
    family="planning",
    key_fields=("plan_lesson_id",),
    config_keys=(),
    object_field="plan_lesson_id",
)
def check_ktp_lessons(ctx: Context, r: Rule) -> Iterable[Finding]:
    """Every КТП lesson has a topic in Russian and a task (п. 7.4); and a КЭС where the portal's
    plan carries КЭС at all (a plan with none is `not checkable` for КЭС, said in a notice)."""
    sql = f"""
SELECT pl.id AS plan_lesson_id, g.subject_group_id, g.class_id, g.subject_id, pl.name,
       pl.home_assignment, pl.kes,
       EXISTS (SELECT 1 FROM plan_lessons k WHERE k.subject_group_id = pl.subject_group_id
               AND k.deleted_at IS NULL AND TRIM(COALESCE(k.kes, '')) != '') AS plan_has_kes
FROM plan_lessons pl JOIN ({GROUPS} AND {HAS_PLAN}) g ON g.subject_group_id = pl.subject_group_id
WHERE pl.deleted_at IS NULL
"""
    rows = []
    kes_served = False
    for row in ctx.query(sql):
        name = (row["name"] or "").strip()
        problems = []
        if not name:
            problems.append("нет темы")
        elif not _CYRILLIC.search(name):
            problems.append("тема не на русском языке")
        if not (row["home_assignment"] or "").strip():
            problems.append("нет задания")
        if row["plan_has_kes"]:
            kes_served = True
            if not (row["kes"] or "").strip():
                problems.append("нет КЭС")
        if problems:
            rows.append({**row, "detail": "Урок КТП: " + ", ".join(problems)})
    if not kes_served:
        ctx.notice(
            r.id,
            "КЭС (кодификаторы элементов содержания) в КТП не проверяются: "
            "портал не передаёт их в планировании уроков",
        )
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
