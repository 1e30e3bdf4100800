"""D2 — «Отчёт о заполнении ЭЖ» (п. 8.2; A-4): teacher × class × subject group, with rollups.

Counts lessons held in the period and how many have a topic, homework, a task on the lesson,
absence marks; marks given and how many were late (recorded violations R05–R08); period marks
given/required when the period is a term; КТП plan/fact/lag. Trend: the same shares for the
previous month or term. Z-1: per group and per teacher, the remarks still open past their
fix-by date on the day of issue («просрочено», `rules.escalation.overdue_remarks`); and R17's
notice when the last check could not check КЭС.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlite_utils import Database

from asurso_sync.documents.common import (
    LIVE,
    Period,
    Request,
    class_slug,
    classes,
    fmt_date,
    header,
    kes_notice,
    local_time,
    pct,
    person_slug,
    rows,
    teachers,
    unique_slugs,
)
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.rules.escalation import overdue_remarks

LATE_RULES = ("R05", "R06", "R07", "R08")
COUNTS = (
    "lessons",
    "topic",
    "homework",
    "task",
    "absence_lessons",
    "marks",
    "late",
    "late_possible",
    "final_given",
    "final_required",
    "plan",
    "fact",
    "lag",
    "overdue",
)


def homework_type_ids(db: Database) -> list[int]:
    """The «Домашнее задание» type ids (by name or abbreviation; 3 when the list is empty)."""
    found = [
        r["id"]
        for r in rows(
            db, "SELECT id FROM assignment_types WHERE name = 'Домашнее задание' OR abbr = 'ДЗ'"
        )
    ]
    return found or [3]


def group_rows(db: Database, period: Period, upto: str) -> list[dict]:
    """One row per (teacher, subject group) with the period's counts."""
    hw = ",".join(str(i) for i in homework_type_ids(db))
    end = min(period.end, upto)
    params = {"start": period.start, "end": end}
    found = rows(
        db,
        f"""
        WITH les AS (
          SELECT l.* FROM lessons l WHERE l.{LIVE} AND l.date BETWEEN :start AND :end)
        SELECT t.id AS teacher_id, t.name AS teacher, c.id AS class_id, c.name AS class_name,
               sg.id AS group_id, sg.name AS group_name, s.name AS subject,
               (SELECT count(*) FROM les WHERE les.subject_group_id = sg.id) AS lessons,
               (SELECT count(*) FROM les WHERE les.subject_group_id = sg.id
                   AND les.topic IS NOT NULL AND trim(les.topic) != '') AS topic,
               (SELECT count(*) FROM les WHERE les.subject_group_id = sg.id AND EXISTS (
                   SELECT 1 FROM assignments a WHERE a.lesson_id = les.id AND a.{LIVE}
                      AND a.type_id IN ({hw}))) AS homework,
               (SELECT count(*) FROM les WHERE les.subject_group_id = sg.id AND EXISTS (
                   SELECT 1 FROM assignments a WHERE a.lesson_id = les.id AND a.{LIVE}
                      AND a.type_id NOT IN ({hw}))) AS task,
               (SELECT count(*) FROM les WHERE les.subject_group_id = sg.id AND EXISTS (
                   SELECT 1 FROM attendance x WHERE x.lesson_id = les.id AND x.{LIVE}))
                   AS absence_lessons,
               (SELECT count(*) FROM marks m JOIN les ON les.id = m.lesson_id
                 WHERE m.subject_group_id = sg.id AND m.{LIVE}) AS marks
          FROM subject_groups sg
          JOIN subject_group_teachers sgt ON sgt.subject_group_id = sg.id AND sgt.{LIVE}
          JOIN teachers t ON t.id = sgt.teacher_id
          JOIN classes c ON c.id = sg.class_id
          LEFT JOIN subjects s ON s.id = sg.subject_id
         WHERE sg.{LIVE}
         ORDER BY t.name, CAST(c.grade AS INTEGER), c.letter, sg.name""",
        params,
    )
    late = _late_counts(db, period.start, end)
    finals = _final_counts(db, period)
    plans = _plan_counts(db, end)
    for r in found:
        key = (r["teacher_id"], r["group_id"])
        r["late"], r["late_possible"] = late.get(key, (0, 0))
        r["final_given"], r["final_required"] = finals.get(r["group_id"], (0, 0))
        r["plan"], r["fact"], r["has_plan"] = plans.get(r["group_id"], (0, 0, False))
        r["lag"] = max(0, r["plan"] - r["fact"]) if r["has_plan"] else 0
    return found


def _late_counts(db: Database, start: str, end: str) -> dict:
    marks = ",".join(f"'{r}'" for r in LATE_RULES)
    out: dict = {}
    for r in rows(
        db,
        f"""
        SELECT teacher_id, subject_group_id, count(*) AS n,
               sum(CASE WHEN evidence = 'portal' THEN 0 ELSE 1 END) AS possible
          FROM violations WHERE rule IN ({marks}) AND status != 'excused'
           AND lesson_date BETWEEN ? AND ? GROUP BY teacher_id, subject_group_id""",
        [start, end],
    ):
        out[(r["teacher_id"], r["subject_group_id"])] = (r["n"], r["possible"] or 0)
    return out


def _final_counts(db: Database, period: Period) -> dict:
    """(period marks given, pupils needing one) per group, for a term period only."""
    if period.term_id is None:
        return {}
    out = {}
    for r in rows(
        db,
        f"""
        SELECT sgs.subject_group_id AS gid, count(*) AS required,
               sum(CASE WHEN pm.mark IS NOT NULL AND pm.mark != '' THEN 1 ELSE 0 END) AS given
          FROM subject_group_students sgs
          LEFT JOIN period_marks pm ON pm.subject_group_id = sgs.subject_group_id
               AND pm.student_id = sgs.student_id AND pm.term_id = ? AND pm.{LIVE}
         WHERE sgs.{LIVE} GROUP BY sgs.subject_group_id""",
        [period.term_id],
    ):
        out[r["gid"]] = (r["given"] or 0, r["required"])
    return out


def _plan_counts(db: Database, upto: str) -> dict:
    """(КТП lessons due by `upto`, lessons held by `upto`, has a plan) per group."""
    out = {}
    for r in rows(
        db,
        f"""
        SELECT p.subject_group_id AS gid,
               (SELECT count(*) FROM plan_lessons pl WHERE pl.subject_group_id = p.subject_group_id
                   AND pl.{LIVE} AND pl.last_study_day IS NOT NULL
                   AND substr(pl.last_study_day, 1, 10) <= :upto) AS plan,
               (SELECT count(*) FROM lessons l WHERE l.subject_group_id = p.subject_group_id
                   AND l.{LIVE} AND l.date <= :upto) AS fact
          FROM plans p WHERE p.{LIVE} AND p.plan_id IS NOT NULL""",
        {"upto": upto},
    ):
        out[r["gid"]] = (r["plan"], r["fact"], True)
    return out


@dataclass(frozen=True)
class Overdue:
    """Z-1's counts: remarks open past their fix-by date on the day of issue, per (teacher,
    group), per teacher and per (class, teacher) (the last two include remarks without a group,
    such as the class teacher's)."""

    per_group: Counter
    per_teacher: Counter
    per_class: Counter


def overdue_counts(db: Database, req: Request, settings: ReportSettings) -> Overdue:
    """Z-1's counts on the day of issue; only the asked class's when the report is for one
    class."""
    moment = local_time(req.now or dt.datetime.now(dt.UTC), settings.timezone)
    late = overdue_remarks(db, moment.date(), settings.rules)
    if req.class_name:
        wanted = {c["id"] for c in classes(db, req.class_name)}
        late = [r for r in late if r["class_id"] in wanted]
    return Overdue(
        per_group=Counter((r["teacher_id"], r["subject_group_id"]) for r in late),
        per_teacher=Counter(r["teacher_id"] for r in late),
        per_class=Counter((r["class_id"], r["teacher_id"]) for r in late),
    )


def rollup(items: list[dict], label: str) -> dict:
    total = {k: sum(r.get(k, 0) or 0 for r in items) for k in COUNTS}
    total["label"] = label
    return with_shares(total)


def with_shares(r: dict) -> dict:
    r["topic_pct"] = pct(r["topic"], r["lessons"])
    r["homework_pct"] = pct(r["homework"], r["lessons"])
    r["task_pct"] = pct(r["task"], r["lessons"])
    return r


def trend(now: dict, before: dict | None) -> str:
    """«▲ +3,2» / «▼ −5,0» / «=» for the share of lessons with a topic and homework."""
    if not before or not before["lessons"] or not now["lessons"]:
        return "—"
    a = (now["topic"] + now["homework"]) / (2 * now["lessons"]) * 100
    b = (before["topic"] + before["homework"]) / (2 * before["lessons"]) * 100
    d = round(a - b, 1)
    if d == 0:
        return "="
    return ("▲ +" if d > 0 else "▼ −") + f"{abs(d):.1f}".replace(".", ",")


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    period = req.period(db, "month")
    upto = max(
        (r["d"] or "" for r in rows(db, f"SELECT max(date) d FROM lessons WHERE {LIVE}")),
        default="",
    )
    items = group_rows(db, period, upto or period.end)
    prev_items = group_rows(db, period.previous, upto) if period.previous else []
    if req.class_name:
        wanted = {c["id"] for c in classes(db, req.class_name)}
        items = [r for r in items if r["class_id"] in wanted]
        prev_items = [r for r in prev_items if r["class_id"] in wanted]
    if req.teacher:
        wanted = {t["id"] for t in teachers(db, req.teacher)}
        items = [r for r in items if r["teacher_id"] in wanted]
        prev_items = [r for r in prev_items if r["teacher_id"] in wanted]
    overdue = overdue_counts(db, req, settings)
    for r in items:
        r["overdue"] = overdue.per_group[(r["teacher_id"], r["group_id"])]
        with_shares(r)
        r["plan_text"] = f"{r['plan']}/{r['fact']}/{r['lag']}" if r["has_plan"] else "нет КТП"
    by_teacher, by_class = _groups(items, "teacher"), _groups(items, "class_name")
    prev_teacher, prev_class = _groups(prev_items, "teacher"), _groups(prev_items, "class_name")
    teacher_rows = []
    for name, its in by_teacher.items():
        row = rollup(its, name)
        prev = rollup(prev_teacher[name], name) if name in prev_teacher else None
        row["trend"] = trend(row, prev)
        row["overdue"] = overdue.per_teacher[its[0]["teacher_id"]]
        teacher_rows.append({"total": row, "groups": its})
    in_report = {r["teacher_id"] for r in items}  # a class's count: the report's teachers only
    class_rows = []
    for name, its in by_class.items():
        row = rollup(its, name)
        prev = rollup(prev_class[name], name) if name in prev_class else None
        row["trend"] = trend(row, prev)
        ids = {r["class_id"] for r in its}
        row["overdue"] = sum(
            n for (c, t), n in overdue.per_class.items() if c in ids and t in in_report
        )
        class_rows.append(row)
    school_row = rollup(items, "Школа")
    school_row["overdue"] = sum(overdue.per_teacher[t] for t in in_report)
    school_row["trend"] = trend(school_row, rollup(prev_items, "") if prev_items else None)
    ctx = header(
        db, settings, "Отчёт о заполнении электронного журнала", f"за {period.label}", now=req.now
    )
    ctx.update(
        {
            "period": period.label,
            "previous": period.previous.label if period.previous else "",
            "is_term": period.term_id is not None,
            "teachers": teacher_rows,
            "classes": class_rows,
            "school_total": school_row,
            "class_name": req.class_name or "",
            "upto": fmt_date(min(period.end, upto) if upto else period.end),
            "fix_days": settings.rules.fix_days,
            "kes_notice": kes_notice(db),
        }
    )
    cols = [
        "учитель",
        "класс",
        "предмет/группа",
        "уроков",
        "с темой",
        "с ДЗ",
        "с заданием",
        "с отметками отсутствия",
        "оценок",
        "с опозданием",
        "из них возможно",
        "итоговых выставлено",
        "итоговых требуется",
        "КТП план",
        "КТП факт",
        "отставание",
        "просрочено",
    ]
    keys = ["teacher", "class_name", "group_name", *COUNTS]
    table = Table("groups", cols, [[r[k] for k in keys] for r in items])
    slug = f"D2_filling_{period.slug}"
    if req.class_name:
        slug += f"_{class_slug(req.class_name)}"
    if req.teacher:
        picked = teachers(db, req.teacher)
        names = unique_slugs([(t["id"], person_slug(t["name"])) for t in picked], "t")
        slug += "_" + "_".join(names[t["id"]] for t in picked)
    return [Doc(slug, "d2_filling.html", ctx, [table])]


def _groups(items: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in items:
        out[r[key]].append(r)
    return dict(out)
