"""R13–R14: period marks go in 3 days before the term ends (Регламент, учитель п. 10; п. 7.4),
for the pupils the teacher teaches in that period; entries after the term's end are noted.

R13 covers the «год»/«итог» periods too where the portal serves them as terms (п. 7.4 «за
четверть, год и итоговые оценки»), for every subject group, with the same three-day rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule

YEAR_TERM_WORDS = ("год", "итог")


def is_year_term(name: str | None) -> bool:
    """A «год»/«итог» period (year or final marks) rather than a quarter or half-year."""
    return any(word in (name or "").lower() for word in YEAR_TERM_WORDS)


def term_deadlines(ctx: Context) -> list[tuple[int, str, str, str, str, str, int]]:
    """(term_id, term_end, deadline_date, deadline_at, end_at, deadline_source, is_year) per
    live term (C3, C4): the text's three days, or the school order's earlier date."""
    out = []
    for term_id, name, end in ctx.db.execute(
        "SELECT id, name, end_date FROM terms WHERE deleted_at IS NULL AND end_date IS NOT NULL"
    ):
        term_end = dt.date.fromisoformat(end[:10])
        due = ctx.cal.shift(term_end, -ctx.settings.final_offset_days)
        order = ctx.settings.order_deadline.get(name) or ctx.settings.order_deadline.get(
            str(term_id)
        )
        offset = ctx.settings.final_offset_days
        source = "regulation" if offset == TEXT_OFFSET_DAYS else "setting"
        if order and dt.date.fromisoformat(order) < due:
            due, source = dt.date.fromisoformat(order), "setting"
        out.append(
            (
                term_id,
                term_end.isoformat(),
                due.isoformat(),
                ctx.cal.deadline_at(due),
                ctx.cal.deadline_at(term_end),
                source,
                int(is_year_term(name)),
            )
        )
    return out


def install_terms(ctx: Context) -> None:
    ctx.db.execute("DROP TABLE IF EXISTS temp.rules_term")
    ctx.db.execute(
        "CREATE TEMP TABLE rules_term (term_id INTEGER PRIMARY KEY, term_end TEXT, "
        "deadline_date TEXT, deadline_at TEXT, end_at TEXT, deadline_source TEXT, is_year INT)"
    )
    ctx.db.conn.executemany(
        "INSERT INTO temp.rules_term VALUES (?, ?, ?, ?, ?, ?, ?)", term_deadlines(ctx)
    )


PERIOD_KEY = ("subject_group_id", "term_id", "student_id")

TEXT_OFFSET_DAYS = 3  # «за три дня до окончания учебного периода» (Регламент, учитель п. 10)


@rule(
    id="R13",
    title="Итоговая оценка за период не выставлена за 3 дня до его окончания",
    clause="Регламент, учитель п. 10; п. 7.4",
    severity="violation",
    family="periods",
    key_fields=PERIOD_KEY,
    config_keys=("final_offset_days", "order_deadline", "day_kind"),
    object_field="subject_group_id",
    deadline_source="regulation",
    deadline_setting="final_offset_days",
    deadline_default=TEXT_OFFSET_DAYS,
    deadline_overrides=("order_deadline",),
    late_entry=True,
)
def check_period_marks(ctx: Context, r: Rule) -> Iterable[Finding]:
    """Per term of the group (and «год»/«итог» period) and pupil the term's journal lists (the
    group's pupils where the mirror has no list per term): no period mark entered by the
    deadline. A pupil put on the class list after the deadline owes none (`added_date`, where
    the portal gives it)."""
    install_terms(ctx)
    sql = """
SELECT sgs.subject_group_id, t.term_id, sgs.student_id, g.class_id, g.subject_id,
       t.deadline_date AS deadline, t.deadline_at, t.deadline_source,
       pm.entered_at, pm.entered_source, pm.last_absent_at,
       CASE WHEN pm.entered_at IS NULL THEN 'Нет итоговой оценки за период (срок '
                 || t.deadline_date || ')'
            ELSE 'Итоговая оценка внесена ' || pm.entered_at || ', срок ' || t.deadline_date
       END AS detail
FROM (SELECT subject_group_id, term_id FROM subject_group_terms WHERE deleted_at IS NULL
      UNION
      SELECT g.id, t.term_id FROM subject_groups g JOIN temp.rules_term t ON t.is_year = 1
      WHERE g.deleted_at IS NULL) sgt
JOIN temp.rules_term t ON t.term_id = sgt.term_id
JOIN subject_groups g ON g.id = sgt.subject_group_id
JOIN (SELECT subject_group_id, NULL AS term_id, student_id FROM subject_group_students
      WHERE deleted_at IS NULL
      UNION ALL
      SELECT subject_group_id, term_id, student_id FROM subject_group_term_students
      WHERE deleted_at IS NULL) sgs
  ON sgs.subject_group_id = sgt.subject_group_id
 AND (sgs.term_id = t.term_id
      OR (sgs.term_id IS NULL AND NOT EXISTS (
            SELECT 1 FROM subject_group_term_students j
            WHERE j.subject_group_id = sgt.subject_group_id AND j.term_id = t.term_id
              AND j.deleted_at IS NULL)))
JOIN students s ON s.id = sgs.student_id
LEFT JOIN period_marks pm
  ON pm.subject_group_id = sgt.subject_group_id AND pm.term_id = t.term_id
 AND pm.student_id = sgs.student_id AND pm.deleted_at IS NULL
 AND pm.mark IS NOT NULL AND TRIM(pm.mark) != '' AND pm.entered_at <= :asof_end
WHERE g.deleted_at IS NULL
  AND s.deleted_at IS NULL AND t.deadline_date < :asof
  AND (s.added_date IS NULL OR substr(s.added_date, 1, 10) <= t.deadline_date)
  AND (pm.entered_at IS NULL OR pm.entered_at > t.deadline_at)
"""
    return findings_from_rows(ctx, r, ctx.query(sql, {"asof": ctx.asof, "asof_end": ctx.asof_end}))


@rule(
    id="R14",
    title="Итоговая оценка внесена после окончания периода",
    clause="",
    severity="info",
    family="periods",
    key_fields=PERIOD_KEY,
    config_keys=("tz", "deadline_time", "grace_hours"),
    object_field="subject_group_id",
    late_entry=True,
)
def check_closed_period(ctx: Context, r: Rule) -> Iterable[Finding]:
    install_terms(ctx)
    base = """
SELECT pm.subject_group_id, pm.term_id, pm.student_id, g.class_id, g.subject_id,
       t.term_end AS deadline, t.end_at AS deadline_at, pm.entered_at, pm.entered_source,
       pm.last_absent_at
FROM period_marks pm
JOIN temp.rules_term t ON t.term_id = pm.term_id
JOIN subject_groups g ON g.id = pm.subject_group_id
WHERE pm.deleted_at IS NULL
"""
    rows = []
    for row in ctx.query(
        base + " AND pm.entered_at > t.end_at AND pm.entered_at <= :asof_end",
        {"asof_end": ctx.asof_end},
    ):
        row["detail"] = f"Итоговая оценка внесена {row['entered_at']} после конца периода"
        rows.append(row)
    return findings_from_rows(ctx, r, rows)


RULES = (check_period_marks, check_closed_period)
