"""R01–R04: every held lesson gets its topic, homework, task and attendance on time (п. 7.4)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule

# A lesson whose deadline (lesson date + n days) has passed by the as-of date.
LESSON_BASE = """
SELECT l.id AS lesson_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.date AS lesson_date, l.teacher_id,
       dl.deadline_date AS deadline, dl.deadline_at
FROM lessons l
JOIN subject_groups g ON g.id = l.subject_group_id
JOIN temp.rules_deadline dl ON dl.n = :n AND dl.d = l.date
WHERE l.deleted_at IS NULL AND dl.deadline_date < :asof
"""


def _first_assignment(type_filter: str) -> str:
    """Per lesson, the earliest-entered live assignment matching type_filter (bare-column MIN)."""
    return f"""
SELECT lesson_id, MIN(entered_at) AS entered_at, entered_source, last_absent_at
FROM assignments
WHERE deleted_at IS NULL AND entered_at <= :asof_end AND {type_filter}
GROUP BY lesson_id
"""


NAMED = "name IS NOT NULL AND TRIM(name) != '' AND name != :ph"


def _params(ctx: Context, n: int, **extra) -> dict:
    return {
        "asof": ctx.asof,
        "asof_end": ctx.asof_end,
        "n": n,
        "ph": ctx.settings.placeholder,
        **extra,
    }


@rule(
    id="R01",
    title="Тема урока не внесена в день урока",
    clause="п. 7.4; Регламент, учитель п. 9",
    severity="violation",
    family="lessons",
    key_fields=("lesson_id",),
    config_keys=("topic_days", "topic_type", "placeholder"),
    object_field="lesson_id",
    deadline_source="setting",
    deadline_setting="topic_days",
    late_entry=True,
)
def check_topic(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = f"""
SELECT b.*, t.entered_at, t.entered_source, t.last_absent_at,
       CASE WHEN t.entered_at IS NULL THEN 'Тема урока не указана'
            ELSE 'Тема урока внесена ' || t.entered_at || ', срок ' || b.deadline END AS detail
FROM ({LESSON_BASE}) b
LEFT JOIN ({_first_assignment(f"type_id IN {ctx.ids('topic')} AND {NAMED}")}) t
  ON t.lesson_id = b.lesson_id
WHERE t.entered_at IS NULL OR t.entered_at > b.deadline_at
"""
    return findings_from_rows(ctx, r, ctx.query(sql, _params(ctx, ctx.settings.topic_days)))


@rule(
    id="R02",
    title="Домашнее задание не выдано в день урока",
    clause="п. 7.4; Регламент, учитель п. 8",
    severity="violation",
    family="lessons",
    key_fields=("lesson_id",),
    config_keys=("hw_days", "homework_type", "hw_exempt_subjects", "hw_min_share", "exempt"),
    object_field="lesson_id",
    deadline_source="setting",
    deadline_setting="hw_days",
    late_entry=True,
)
def check_homework(ctx: Context, r: Rule) -> Iterable[Finding]:
    exempt = """g.subject_id NOT IN (SELECT id FROM subjects
                                     WHERE name IN (SELECT value FROM json_each(:exempt)))"""
    sql = f"""
SELECT b.*, h.entered_at, h.entered_source, h.last_absent_at,
       CASE WHEN h.entered_at IS NULL THEN 'Домашнее задание не задано'
            ELSE 'Домашнее задание внесено ' || h.entered_at || ', срок ' || b.deadline
       END AS detail
FROM ({LESSON_BASE} AND {exempt}) b
LEFT JOIN ({_first_assignment(f"type_id IN {ctx.ids('homework')} AND {NAMED}")}) h
  ON h.lesson_id = b.lesson_id
WHERE h.entered_at IS NULL OR h.entered_at > b.deadline_at
"""
    params = _params(
        ctx, ctx.settings.hw_days, exempt=json.dumps(list(ctx.settings.hw_exempt_subjects))
    )
    found = list(findings_from_rows(ctx, r, ctx.query(sql, params)))
    if ctx.settings.hw_min_share >= 1 or not found:
        return found
    # "Systematically" (C8): flag a group's lessons only when its share of lessons with
    # homework is below hw_min_share.
    totals = {
        row["subject_group_id"]: row["n"]
        for row in ctx.query(
            f"SELECT subject_group_id, COUNT(*) AS n FROM ({LESSON_BASE} AND {exempt}) "
            "GROUP BY subject_group_id",
            params,
        )
    }
    missing = Counter(f.subject_group_id for f in found)
    return [
        f
        for f in found
        if 1 - missing[f.subject_group_id] / totals[f.subject_group_id] < ctx.settings.hw_min_share
    ]


@rule(
    id="R03",
    title="Задание на урок не активировано",
    clause="п. 7.4",
    severity="violation",
    family="lessons",
    key_fields=("lesson_id",),
    config_keys=("topic_days", "homework_type"),
    object_field="lesson_id",
    deadline_source="setting",
    deadline_setting="topic_days",
    late_entry=True,
)
def check_task(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = f"""
SELECT b.*, t.entered_at, t.entered_source, t.last_absent_at,
       CASE WHEN t.entered_at IS NULL THEN 'На уроке нет ни одного задания'
            ELSE 'Задание на урок создано ' || t.entered_at || ', срок ' || b.deadline
       END AS detail
FROM ({LESSON_BASE}) b
LEFT JOIN ({_first_assignment(f"type_id NOT IN {ctx.ids('homework')}")}) t
  ON t.lesson_id = b.lesson_id
WHERE t.entered_at IS NULL OR t.entered_at > b.deadline_at
"""
    return findings_from_rows(ctx, r, ctx.query(sql, _params(ctx, ctx.settings.topic_days)))


@rule(
    id="R04",
    title="Отсутствие (Н) или опоздание (О) отмечено не в день урока",
    clause="п. 7.4; Регламент, учитель п. 7",
    severity="violation",
    family="lessons",
    key_fields=("lesson_id", "student_id"),
    config_keys=("att_days", "codes"),
    object_field="lesson_id",
    deadline_source="setting",
    deadline_setting="att_days",
    late_entry=True,
)
def check_attendance_late(ctx: Context, r: Rule) -> Iterable[Finding]:
    """The subject teacher's own marks only: «Н»/«О» entered after the lesson day. A reason
    (УП/НП) is the class teacher's (п. 7.3 «вносит при необходимости»), whenever it is entered;
    a row that is a reason now counts when the mirror saw it as «Н»/«О» first."""
    sql = """
SELECT a.lesson_id, a.student_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.date AS lesson_date, l.teacher_id,
       dl.deadline_date AS deadline, dl.deadline_at,
       a.entered_at, a.entered_source, a.last_absent_at,
       'Отметка «' || a.reason || '» внесена ' || a.entered_at || ', срок ' || dl.deadline_date
         AS detail
FROM attendance a
JOIN lessons l ON l.id = a.lesson_id
JOIN subject_groups g ON g.id = l.subject_group_id
JOIN temp.rules_deadline dl ON dl.n = :n AND dl.d = l.date
WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND a.entered_at > dl.deadline_at AND a.entered_at <= :asof_end
  AND (ru_upper(a.reason) IN (SELECT value FROM json_each(:own))
       OR EXISTS (SELECT 1 FROM changes c
                  WHERE c.table_name = 'attendance' AND c.kind = 'update'
                    AND c.column_name = 'reason'
                    AND c.row_key = '[' || a.lesson_id || ', ' || a.student_id || ']'
                    AND ru_upper(c.old_value) IN (SELECT value FROM json_each(:own))))
"""
    own = sorted(ctx.settings.code_set("Н") | ctx.settings.code_set("О"))
    params = _params(ctx, ctx.settings.att_days, own=json.dumps(own, ensure_ascii=False))
    return findings_from_rows(ctx, r, ctx.query(sql, params))


_CYRILLIC = re.compile("[А-Яа-яЁё]")
_LATIN = re.compile("[A-Za-z]")


def not_russian(text: str | None) -> bool:
    """Written in another language: Latin letters and not one Cyrillic letter («№ 12, 15» and
    «Present Simple — времена» are fine, «Present Simple» is not)."""
    return bool(text) and bool(_LATIN.search(text or "")) and not _CYRILLIC.search(text or "")


@rule(
    id="R25",
    title="Тема урока или домашнее задание записаны не на русском языке",
    clause="п. 7.4 («все записи … на русском языке»)",
    severity="violation",
    family="lessons",
    key_fields=("lesson_id",),
    config_keys=("topic_type", "homework_type"),
    object_field="lesson_id",
)
def check_russian(ctx: Context, r: Rule) -> Iterable[Finding]:
    """Every named topic and homework of a held lesson (foreign-language lessons included)."""
    sql = f"""
SELECT l.id AS lesson_id, COALESCE(l.class_id, g.class_id) AS class_id, l.subject_group_id,
       g.subject_id, l.term_id, l.date AS lesson_date, l.teacher_id, a.type_id, a.name
FROM assignments a
JOIN lessons l ON l.id = a.lesson_id
JOIN subject_groups g ON g.id = l.subject_group_id
WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL AND l.date <= :asof
  AND a.entered_at <= :asof_end AND a.type_id IN {ctx.ids("topic")[:-1]}, {ctx.ids("homework")[1:]}
ORDER BY l.id, a.id
"""
    topic = ctx.type_ids.get("topic", frozenset())
    rows: dict[int, dict] = {}
    for row in ctx.query(sql, {"asof": ctx.asof, "asof_end": ctx.asof_end}):
        if not not_russian(row["name"]):
            continue
        what = "тема" if row["type_id"] in topic else "домашнее задание"
        found = rows.setdefault(row["lesson_id"], {**row, "detail": "Не на русском языке:"})
        found["detail"] += f" {what} «{row['name']}»;"
    for row in rows.values():
        row["detail"] = row["detail"].rstrip(";")
    return findings_from_rows(ctx, r, rows.values())


RULES = (check_topic, check_homework, check_task, check_attendance_late, check_russian)
