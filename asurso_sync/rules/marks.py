"""R05–R10: current marks go in on time, on the lesson's day, against named tasks (Регламент,
учитель п. 3, 5, 6; п. 7.4)."""

from __future__ import annotations

from collections.abc import Iterable

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule

# A live mark entered after its lesson date + n days (and seen by the as-of date); `lock_at` is
# the 7-day lock (п. 7.4) counted from the same anchor.
MARK_LATE = """
SELECT m.assignment_id, m.student_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.id AS lesson_id, l.date AS lesson_date,
       l.teacher_id, a.type_id,
       dl.deadline_date AS deadline, dl.deadline_at, lock.deadline_at AS lock_at,
       m.entered_at, m.entered_source, m.last_absent_at,
       'Оценка внесена ' || m.entered_at || ', срок ' || dl.deadline_date AS detail
FROM marks m
JOIN assignments a ON a.id = m.assignment_id
JOIN lessons l ON l.id = COALESCE(a.lesson_id, m.lesson_id)
JOIN subject_groups g ON g.id = l.subject_group_id
JOIN temp.rules_deadline dl ON dl.n = :n AND dl.d = {anchor}
JOIN temp.rules_deadline lock ON lock.n = :lock AND lock.d = {anchor}
WHERE m.deleted_at IS NULL AND a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND m.entered_at > dl.deadline_at AND m.entered_at <= :asof_end
"""
LESSON_ANCHOR = "l.date"
# domain §1.3 C12: written work may be counted from the day it was due (handed in)
DUE_ANCHOR = "COALESCE(substr(a.due_date, 1, 10), l.date)"


def _anchor(ctx: Context, role: str) -> str:
    """Written work counts from its due date with `written_anchor = "due_date"` (R06, R08)."""
    if role == "written" and ctx.settings.written_anchor == "due_date":
        return DUE_ANCHOR
    return LESSON_ANCHOR


def _late_rows(ctx: Context, n: int, types: str | None, anchor: str) -> list[dict]:
    sql = MARK_LATE.format(anchor=anchor)
    if types:
        sql += f" AND a.type_id IN {ctx.ids(types)}"
    params = {"n": n, "lock": ctx.settings.mark_days, "asof_end": ctx.asof_end}
    return list(ctx.query(sql, params))


SPECIFIC = (
    ("R05", "oral", "oral_days"),
    ("R06", "written", "written_days"),
    ("R07", "kr", "kr_days"),
)


def _specific(ctx: Context, role: str) -> list[dict]:
    """The late marks of one type role (cached: R08 reads them to leave them to their rule)."""
    cache = ctx.cache.setdefault("late_marks", {})
    if role not in cache:
        days = {r: getattr(ctx.settings, key) for _, r, key in SPECIFIC}[role]
        cache[role] = _late_rows(ctx, days, role, _anchor(ctx, role))
    rows: list[dict] = cache[role]
    return rows


MARK_KEY = ("assignment_id", "student_id")


@rule(
    id="R05",
    title="Устный ответ оценён не в день урока",
    clause="Регламент, учитель п. 5",
    severity="warning",
    family="marks",
    key_fields=MARK_KEY,
    config_keys=("oral_types", "oral_days"),
    object_field="assignment_id",
    deadline_source="regulation",
    deadline_setting="oral_days",
    deadline_default=0,
    late_entry=True,
)
def check_oral(ctx: Context, r: Rule) -> Iterable[Finding]:
    rows = []
    for row in _specific(ctx, "oral"):
        if row["entered_at"] > row["lock_at"]:
            # the one remark for this entry: a breach of the 7-day lock too (п. 7.4)
            row = {**row, "severity": "violation", "detail": row["detail"] + " (позже 7 дней)"}
        rows.append(row)
    return findings_from_rows(ctx, r, rows)


@rule(
    id="R06",
    title="Письменная работа оценена позже 5 дней",
    clause="Регламент, учитель п. 5",
    severity="violation",
    family="marks",
    key_fields=MARK_KEY,
    config_keys=("written_types", "written_days", "written_anchor"),
    object_field="assignment_id",
    deadline_source="regulation",
    deadline_setting="written_days",
    deadline_default=5,
    late_entry=True,
)
def check_written(ctx: Context, r: Rule) -> Iterable[Finding]:
    return findings_from_rows(ctx, r, _specific(ctx, "written"))


@rule(
    id="R07",
    title="Контрольная работа оценена позже 7 дней",
    clause="Регламент, учитель п. 3",
    severity="violation",
    family="marks",
    key_fields=MARK_KEY,
    config_keys=("kr_types", "kr_days"),
    object_field="assignment_id",
    deadline_source="regulation",
    deadline_setting="kr_days",
    deadline_default=7,
    late_entry=True,
)
def check_kr(ctx: Context, r: Rule) -> Iterable[Finding]:
    return findings_from_rows(ctx, r, _specific(ctx, "kr"))


@rule(
    id="R08",
    title="Оценка внесена позже 7 дней без разблокировки",
    clause="п. 7.4",
    severity="violation",
    family="marks",
    key_fields=MARK_KEY,
    config_keys=("mark_days", "unlock_register", "unlock_hours"),
    object_field="assignment_id",
    deadline_source="regulation",
    deadline_setting="mark_days",
    deadline_default=7,
    late_entry=True,
)
def check_mark_lock(ctx: Context, r: Rule) -> Iterable[Finding]:
    """Every mark past the 7-day lock, except one its own type's rule (R05–R07) reports: one
    late entry, one remark, under the most specific rule. Written work counts from the same
    anchor as R06."""
    reported = {
        (row["assignment_id"], row["student_id"])
        for _, role, _ in SPECIFIC
        for row in _specific(ctx, role)
    }
    written = ctx.type_ids.get("written", frozenset())
    rows = _late_rows(ctx, ctx.settings.mark_days, None, LESSON_ANCHOR)
    if ctx.settings.written_anchor == "due_date":
        rows = [row for row in rows if row["type_id"] not in written]
        rows += _late_rows(ctx, ctx.settings.mark_days, "written", DUE_ANCHOR)
    rows = [row for row in rows if (row["assignment_id"], row["student_id"]) not in reported]
    return findings_from_rows(ctx, r, rows)


@rule(
    id="R09",
    title="Оценка выставлена до дня урока",
    clause="Регламент, учитель п. 6",
    severity="violation",
    family="marks",
    key_fields=MARK_KEY,
    config_keys=(),
    object_field="assignment_id",
    deadline_source="regulation",
)
def check_future_mark(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = """
SELECT m.assignment_id, m.student_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.id AS lesson_id, l.date AS lesson_date,
       l.date AS deadline, m.entered_at, m.entered_source, m.last_absent_at, l.teacher_id,
       'Оценка внесена ' || m.entered_at || ' за урок ' || l.date AS detail
FROM marks m
JOIN assignments a ON a.id = m.assignment_id
JOIN lessons l ON l.id = COALESCE(a.lesson_id, m.lesson_id)
JOIN subject_groups g ON g.id = l.subject_group_id
WHERE m.deleted_at IS NULL AND a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND substr(m.entered_at, 1, 10) < l.date AND m.entered_at <= :asof_end
"""
    return findings_from_rows(ctx, r, ctx.query(sql, {"asof_end": ctx.asof_end}), early=True)


@rule(
    id="R10",
    title="Оценка выставлена за задание без названия",
    clause="Регламент, учитель п. 6",
    severity="violation",
    family="marks",
    key_fields=("assignment_id",),
    config_keys=("placeholder",),
    object_field="assignment_id",
)
def check_unnamed_task(ctx: Context, r: Rule) -> Iterable[Finding]:
    sql = """
SELECT a.id AS assignment_id, COALESCE(l.class_id, g.class_id) AS class_id,
       l.subject_group_id, g.subject_id, l.term_id, l.id AS lesson_id, l.date AS lesson_date,
       l.teacher_id,
       'Задание без названия («' || COALESCE(a.name, '') || '»), оценок: ' ||
         (SELECT COUNT(*) FROM marks m WHERE m.assignment_id = a.id AND m.deleted_at IS NULL)
         AS detail
FROM assignments a
JOIN lessons l ON l.id = a.lesson_id
JOIN subject_groups g ON g.id = l.subject_group_id
WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL
  AND (a.name IS NULL OR TRIM(a.name) = '' OR a.name = :ph)
  AND EXISTS (SELECT 1 FROM marks m WHERE m.assignment_id = a.id AND m.deleted_at IS NULL
              AND (m.entered_at IS NULL OR m.entered_at <= :asof_end))
"""
    return findings_from_rows(
        ctx, r, ctx.query(sql, {"ph": ctx.settings.placeholder, "asof_end": ctx.asof_end})
    )


RULES = (
    check_oral,
    check_written,
    check_kr,
    check_mark_lock,
    check_future_mark,
    check_unnamed_task,
)
