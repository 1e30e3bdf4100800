"""R19–R23: subgroups, the first week's timetable, class lists and personal data (п. 7.2, 7.5;
Регламент, учитель п. 2, классный руководитель п. 1, администратор п. 3)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from asurso_sync.errors import ConfigError
from asurso_sync.rules.base import Context, Finding, Rule, findings_from_rows, rule


@rule(
    id="R19",
    title="Ученик не распределён в подгруппу или состоит в двух",
    clause="Регламент, учитель п. 2",
    severity="violation",
    family="rosters",
    key_fields=("class_id", "subject_id", "student_id"),
    config_keys=(),
    object_field="class_id",
)
def check_subgroups(ctx: Context, r: Rule) -> Iterable[Finding]:
    """«Учитель проводит деление класса на подгруппы»: subgroups are the groups of one subject
    of a class that run in the same term (two half-year groups one after the other are not a
    split). Every class pupil is in exactly one of them; the remark goes to the subject teacher
    (of the lowest-numbered group concerned)."""
    terms_of: dict[int, set[int]] = {}
    for sg, term in ctx.db.execute(
        "SELECT subject_group_id, term_id FROM subject_group_terms WHERE deleted_at IS NULL"
    ):
        terms_of.setdefault(sg, set()).add(term)
    all_terms = {t for (t,) in ctx.db.execute("SELECT id FROM terms WHERE deleted_at IS NULL")}
    members: dict[int, set[int]] = {}
    for sg, student in ctx.db.execute(
        "SELECT subject_group_id, student_id FROM subject_group_students WHERE deleted_at IS NULL"
    ):
        members.setdefault(sg, set()).add(student)
    pupils: dict[int, list[int]] = {}
    for student, class_id in ctx.db.execute(
        "SELECT id, class_id FROM students WHERE deleted_at IS NULL ORDER BY id"
    ):
        pupils.setdefault(class_id, []).append(student)
    by_term: dict[tuple[int, int, int], list[int]] = {}
    for sg, class_id, subject_id in ctx.db.execute(
        "SELECT id, class_id, subject_id FROM subject_groups WHERE deleted_at IS NULL ORDER BY id"
    ):
        for term in sorted(terms_of.get(sg) or all_terms):
            by_term.setdefault((class_id, subject_id, term), []).append(sg)
    rows: dict[tuple[int, int, int], dict] = {}
    for (class_id, subject_id, _term), groups in sorted(by_term.items()):
        if len(groups) < 2:
            continue
        for student in pupils.get(class_id, []):
            inside = [sg for sg in groups if student in members.get(sg, set())]
            if len(inside) == 1 or (class_id, subject_id, student) in rows:
                continue
            detail = (
                "Ученик не входит ни в одну подгруппу"
                if not inside
                else f"Ученик входит в {len(inside)} подгруппы, идущие в одном периоде"
            )
            rows[(class_id, subject_id, student)] = {
                "class_id": class_id,
                "subject_id": subject_id,
                "student_id": student,
                "subject_group_id": min(inside or groups),
                "detail": detail,
            }
    return findings_from_rows(ctx, r, rows.values())


@rule(
    id="R20",
    title="Расписание первой учебной недели не сформировано",
    clause="п. 7.5",
    severity="violation",
    family="rosters",
    key_fields=("class_id",),
    config_keys=("first_week_days",),
    object_field="class_id",
    addressee="deputy_director",
    deadline_source="regulation",
    deadline_setting="first_week_days",
    deadline_default=7,
)
def check_first_week(ctx: Context, r: Rule) -> Iterable[Finding]:
    first = dt.date(ctx.year_start.year, 9, 1)
    last = first + dt.timedelta(days=ctx.settings.first_week_days - 1)
    if last >= ctx.as_of:
        return []
    sql = """
SELECT c.id AS class_id, :last AS deadline,
       'Нет ни одного урока с ' || :first || ' по ' || :last AS detail
FROM classes c
WHERE c.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.class_id = c.id AND l.deleted_at IS NULL
                  AND l.date BETWEEN :first AND :last)
  AND NOT EXISTS (SELECT 1 FROM lessons l JOIN subject_groups g ON g.id = l.subject_group_id
                  WHERE l.class_id IS NULL AND g.class_id = c.id AND l.deleted_at IS NULL
                    AND l.date BETWEEN :first AND :last)
"""
    return findings_from_rows(
        ctx, r, ctx.query(sql, {"first": first.isoformat(), "last": last.isoformat()})
    )


@rule(
    id="R21",
    title="Список класса не сформирован к 5 сентября или не заполнена группа здоровья",
    clause="Регламент, классный руководитель п. 1",
    severity="violation",
    family="rosters",
    key_fields=("class_id", "student_id"),
    config_keys=("roster_deadline",),
    object_field="class_id",
    addressee="class_teacher",
    deadline_source="regulation",
    deadline_setting="roster_deadline",
    deadline_default="09-05",
)
def check_class_list(ctx: Context, r: Rule) -> Iterable[Finding]:
    due = ctx.school_date(ctx.settings.roster_deadline)
    if due is None or due >= ctx.as_of:
        return []
    unknown = ctx.db.execute(
        "SELECT SUM(added_date IS NULL), SUM(health_filled IS NULL), COUNT(*) FROM students "
        "WHERE deleted_at IS NULL"
    ).fetchone()
    if unknown[2] and unknown[0] == unknown[2]:
        ctx.notice(
            r.id,
            "дата включения в список класса (addedDate) не передаётся порталом: "
            "формирование списка к сроку не проверяется",
        )
    if unknown[2] and unknown[1] == unknown[2]:
        ctx.notice(
            r.id, "признак заполнения группы здоровья не передаётся порталом: не проверяется"
        )
    sql = """
SELECT c.id AS class_id, NULL AS student_id, :due AS deadline,
       'Список класса пуст на ' || :due AS detail
FROM classes c
WHERE c.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM students s WHERE s.class_id = c.id AND s.deleted_at IS NULL
                  AND (s.added_date IS NULL OR substr(s.added_date, 1, 10) <= :due))
UNION ALL
SELECT s.class_id, s.id AS student_id, :due AS deadline,
       'Не заполнены группа здоровья / физкультурная группа' AS detail
FROM students s
WHERE s.deleted_at IS NULL AND s.health_filled = 0
"""
    return findings_from_rows(ctx, r, ctx.query(sql, {"due": due.isoformat()}))


@rule(
    id="R22",
    title="Данные родителей не актуализированы к 31 августа",
    clause="п. 7.2",
    severity="violation",
    family="rosters",
    key_fields=(),
    config_keys=(),
    object_field=None,
    addressee="administrator",
    deadline_source="regulation",
)
def check_parents(ctx: Context, r: Rule) -> Iterable[Finding]:
    ctx.notice(r.id, "не проверяется: портал не передаёт связи учеников с родителями")
    return []


@rule(
    id="R23",
    title="Изменение персональных данных внесено позже 3 дней после уведомления",
    clause="п. 7.2",
    severity="violation",
    family="rosters",
    key_fields=("notice_id",),
    config_keys=("r23_register", "r23_days"),
    object_field=None,
    addressee="administrator",
    deadline_source="regulation",
    deadline_setting="r23_days",
    deadline_default=3,
)
def check_pd_notices(ctx: Context, r: Rule) -> Iterable[Finding]:
    path = ctx.settings.r23_register
    if not path:
        ctx.notice(r.id, "не проверяется: не задан журнал уведомлений ([rules] r23_register)")
        return []
    rows = []
    for item in read_notice_register(Path(path)):
        due = ctx.cal.shift(item["received"], ctx.settings.r23_days)
        entered = item["entered"]
        if entered is not None and entered > ctx.as_of:
            entered = None
        if entered is None and due >= ctx.as_of:
            continue
        if entered is not None and entered <= due:
            continue
        what = f"внесено {entered}" if entered else "не внесено"
        rows.append(
            {
                "notice_id": item["id"],
                "student_id": item["student_id"],
                "deadline": due.isoformat(),
                "detail": f"Уведомление от {item['received']}: {what}, срок {due}",
            }
        )
    return findings_from_rows(ctx, r, rows)


def read_notice_register(path: Path) -> list[dict]:
    """The CSV register of personal-data change notices: id, received, entered, student_id."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"id", "received"} - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(
                    f"{path}: the notice register needs columns id, received, "
                    f"entered (missing: {', '.join(sorted(missing))})"
                )
            items = []
            for line, row in enumerate(reader, start=2):
                try:
                    items.append(
                        {
                            "id": row["id"].strip(),
                            "received": dt.date.fromisoformat(row["received"].strip()),
                            "entered": (
                                dt.date.fromisoformat(row["entered"].strip())
                                if (row.get("entered") or "").strip()
                                else None
                            ),
                            "student_id": int(row["student_id"])
                            if (row.get("student_id") or "").strip()
                            else None,
                        }
                    )
                except ValueError as exc:
                    raise ConfigError(f"{path} line {line}: {exc}") from None
            return items
    except FileNotFoundError:
        raise ConfigError(f"[rules] r23_register: {path} does not exist") from None


RULES = (check_subgroups, check_first_week, check_class_list, check_parents, check_pd_notices)
