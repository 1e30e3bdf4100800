"""D3 — weekly user-activity report (п. 8.1; KR-3), first from what the mirror observed.

(1) per teacher and day of the week: the entries the syncs saw appear (marks, absences, topics,
homework, other assignments, period marks; from `entered_at`) — on the lesson's day or later —
and the marks changed afterwards (`changes`); rows present at the first import carry no entry
time and are left out. Then, when the portal's journal access report was read (CONTRACT §4/§7,
any of its layouts): (2) users per role and day, (3) per class the parents who opened the
journal this week and those seen before but not this week (names only in a class teacher's
copy, `--class`), (4) per teacher the last journal access up to the end of the week.
Default period: the last complete week (Monday–Sunday), as every document resolves it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from asurso_sync.documents.common import (
    LIVE,
    WEEKDAYS,
    Period,
    Request,
    class_slug,
    classes,
    fmt_date,
    header,
    rows,
    teachers,
)
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings

PARENT_ROLES = ("родитель", "законный представитель")
TOPIC_TYPE, HOMEWORK_TYPE = 10, 3
KINDS = ("отметки", "пропуски", "темы", "ДЗ", "задания", "итоговые")


def is_parent(role: str | None) -> bool:
    return any(p in (role or "").lower() for p in PARENT_ROLES)


def short_name(full: str) -> str:
    """«Петрова Мария Ивановна» → «Петрова М.И.» (how the legacy reports print users)."""
    parts = full.split()
    return parts[0] + " " + "".join(p[0] + "." for p in parts[1:3]) if len(parts) > 1 else full


def _teachers_of_groups(db: Database) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for r in rows(
        db, f"SELECT subject_group_id, teacher_id FROM subject_group_teachers WHERE {LIVE}"
    ):
        out[r["subject_group_id"]].append(r["teacher_id"])
    return out


def _entries(db: Database, period: Period) -> list[dict[str, Any]]:
    """Every entry the syncs saw appear in the week: (group, day, kind, late)."""
    lo, hi = period.start, period.end + "T99"
    observed = "entered_at >= ? AND entered_at <= ? AND coalesce(entered_source, '') != 'initial'"
    found: list[dict[str, Any]] = []
    for kind, sql in (
        (
            "отметки",
            "SELECT l.subject_group_id AS sg, m.entered_at AS at, l.date AS lesson "
            "FROM marks m JOIN lessons l ON l.id = m.lesson_id "
            f"WHERE m.{LIVE} AND m.{observed}",
        ),
        (
            "пропуски",
            "SELECT l.subject_group_id AS sg, a.entered_at AS at, l.date AS lesson "
            "FROM attendance a JOIN lessons l ON l.id = a.lesson_id "
            f"WHERE a.{LIVE} AND a.{observed}",
        ),
        (
            "assignments",
            "SELECT l.subject_group_id AS sg, a.entered_at AS at, l.date AS lesson, "
            "a.type_id AS type_id FROM assignments a JOIN lessons l ON l.id = a.lesson_id "
            f"WHERE a.{LIVE} AND a.{observed}",
        ),
        (
            "итоговые",
            "SELECT subject_group_id AS sg, entered_at AS at, NULL AS lesson "
            f"FROM period_marks WHERE {LIVE} AND {observed}",
        ),
    ):
        for r in rows(db, sql, [lo, hi]):
            if kind == "assignments":
                type_id = r["type_id"]
                kind_of = (
                    "темы"
                    if type_id == TOPIC_TYPE
                    else "ДЗ"
                    if type_id == HOMEWORK_TYPE
                    else "задания"
                )
            else:
                kind_of = kind
            found.append(
                {
                    "sg": r["sg"],
                    "day": r["at"][:10],
                    "at": r["at"],
                    "kind": kind_of,
                    "late": bool(r["lesson"]) and r["at"][:10] > r["lesson"][:10],
                }
            )
    return found


def _mark_changes(db: Database, period: Period, tz: str) -> list[dict[str, Any]]:
    """Marks whose value a later sync saw change, by the day (school-local) it was seen."""
    start = dt.datetime.fromisoformat(period.start).replace(tzinfo=ZoneInfo(tz))
    end = start + dt.timedelta(days=7)
    lo = start.astimezone(dt.UTC).isoformat(timespec="seconds")
    hi = end.astimezone(dt.UTC).isoformat(timespec="seconds")
    changes = rows(
        db,
        "SELECT row_key, seen_at FROM changes WHERE table_name = 'marks' AND kind = 'update' "
        "AND column_name = 'mark' AND seen_at >= ? AND seen_at < ?",
        [lo, hi],
    )
    out = []
    for c in changes:
        assignment_id, student_id = json.loads(c["row_key"])
        found = rows(
            db,
            "SELECT l.subject_group_id AS sg FROM marks m JOIN lessons l ON l.id = m.lesson_id "
            "WHERE m.assignment_id = ? AND m.student_id = ?",
            [assignment_id, student_id],
        )
        if found:
            seen = dt.datetime.fromisoformat(c["seen_at"]).astimezone(ZoneInfo(tz))
            out.append({"sg": found[0]["sg"], "day": seen.date().isoformat()})
    return out


def _entry_rows(db: Database, period: Period, days: list[str], tz: str) -> list[dict]:
    """One row per teacher: entries per day of the week, on the lesson's day or later."""
    by_group = _teachers_of_groups(db)
    per: dict[int, dict[str, Any]] = {}

    def row(teacher_id: int) -> dict[str, Any]:
        if teacher_id not in per:
            per[teacher_id] = {
                "days": [0] * 7,
                "kinds": dict.fromkeys(KINDS, 0),
                "on_time": 0,
                "late": 0,
                "changed": 0,
                "last": "",
            }
        return per[teacher_id]

    for e in _entries(db, period):
        for teacher_id in by_group.get(e["sg"], []):
            r = row(teacher_id)
            r["days"][days.index(e["day"])] += 1
            r["kinds"][e["kind"]] += 1
            r["late" if e["late"] else "on_time"] += 1
            r["last"] = max(r["last"], e["at"])
    for c in _mark_changes(db, period, tz):
        for teacher_id in by_group.get(c["sg"], []):
            row(teacher_id)["changed"] += 1
    out = []
    for t in teachers(db):
        r = per.get(t["id"]) or row(t["id"])
        out.append(
            {
                "name": t["name"],
                "days": r["days"],
                "total": sum(r["days"]),
                "kinds": r["kinds"],
                "on_time": r["on_time"],
                "late": r["late"],
                "changed": r["changed"],
                "last": f"{fmt_date(r['last'])} {r['last'][11:16]}" if r["last"] else "—",
                "none": sum(r["days"]) == 0,
            }
        )
    return out


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    period = req.period(db, "week")  # default: the last complete week
    label = period.days
    picked = classes(db, req.class_name)
    ids = {c["id"] for c in picked}
    names = {c["name"] for c in picked}
    every = [
        a
        for a in rows(
            db,
            f"SELECT user_name, role, class_id, class_name, entered_at "
            f"FROM journal_access WHERE {LIVE} ORDER BY entered_at",
        )
        if a["entered_at"]
        and (a["class_id"] in ids or (a["class_id"] is None and a["class_name"] in names))
    ]
    week = [a for a in every if period.contains(a["entered_at"])]
    span = (dt.date.fromisoformat(period.end) - dt.date.fromisoformat(period.start)).days + 1
    days = [
        (dt.date.fromisoformat(period.start) + dt.timedelta(days=i)).isoformat()
        for i in range(min(span, 7))
    ]
    entry_rows = _entry_rows(db, period, days, settings.timezone) if span <= 7 else []
    by_role: dict[str, list[set]] = defaultdict(lambda: [set() for _ in range(7)])
    for a in week:
        if a["entered_at"][:10] in days:
            by_role[a["role"] or "—"][days.index(a["entered_at"][:10])].add(a["user_name"])
    role_rows: list[dict[str, Any]] = []
    for role in sorted(by_role):
        per_day = by_role[role]
        role_rows.append(
            {"role": role, "days": [len(s) for s in per_day], "unique": len(set().union(*per_day))}
        )
    copy_for_class = req.class_name is not None
    class_rows = []
    for c in picked:
        mine = [a for a in every if a["class_id"] == c["id"] and is_parent(a["role"])]
        mine = [a for a in mine if a["entered_at"][:10] <= period.end]
        this_week = sorted({a["user_name"] for a in mine if period.contains(a["entered_at"])})
        seen = sorted({a["user_name"] for a in mine})
        absent = [n for n in seen if n not in this_week]
        class_rows.append(
            {
                "name": c["name"],
                "class_teacher": c["class_teacher"],
                "parents_seen": len(seen),
                "this_week": len(this_week),
                "not_this_week": len(absent),
                "this_week_names": this_week if copy_for_class else [],
                "not_this_week_names": absent if copy_for_class else [],
            }
        )
    teacher_rows = _teacher_rows(db, every, period.end)
    ctx = header(
        db,
        settings,
        "Отчёт об активности пользователей электронного журнала",
        f"за неделю {label}" if period.kind == "week" else f"за {period.label}",
        now=req.now,
    )
    day_titles = [f"{WEEKDAYS[i]} {fmt_date(d)[:5]}" for i, d in enumerate(days)]
    ctx.update(
        {
            "period": label,
            "days": day_titles,
            "entry_rows": entry_rows,
            "entries_total": sum(r["total"] for r in entry_rows),
            "roles": role_rows,
            "classes": class_rows,
            "teachers": teacher_rows,
            "copy_for_class": copy_for_class,
            "class_name": req.class_name or "",
            "entries": len(week),
            "access_rows": len(every),
        }
    )
    tables = [
        Table(
            "entries",
            [
                "учитель",
                *day_titles,
                "всего",
                *KINDS,
                "в день урока",
                "позже",
                "исправлено отметок",
                "последняя запись",
            ],
            [
                [
                    r["name"],
                    *r["days"],
                    r["total"],
                    *(r["kinds"][k] for k in KINDS),
                    r["on_time"],
                    r["late"],
                    r["changed"],
                    r["last"],
                ]
                for r in entry_rows
            ],
        ),
        Table(
            "roles",
            ["роль", *day_titles, "уникальных за неделю"],
            [[r["role"], *r["days"], r["unique"]] for r in role_rows],
        ),
        Table(
            "classes",
            [
                "класс",
                "родителей заходили когда-либо",
                "заходили за неделю",
                "не заходили за неделю",
            ],
            [
                [r["name"], r["parents_seen"], r["this_week"], r["not_this_week"]]
                for r in class_rows
            ],
        ),
        Table(
            "teachers",
            ["учитель", "последний вход в журнал", "входов за неделю"],
            [[t["name"], t["last"], t["week"]] for t in teacher_rows],
        ),
    ]
    slug = f"D3_activity_{period.slug}"
    if req.class_name:
        slug += f"_{class_slug(req.class_name)}"
    return [Doc(slug, "d3_activity.html", ctx, tables)]


def _teacher_rows(db: Database, every: list[dict], end: str) -> list[dict]:
    """Each teacher's last journal access up to `end`, matched by full name or by the
    «Фамилия И.О.» form the legacy reports print."""
    last: dict[str, str] = {}
    count: dict[str, int] = defaultdict(int)
    start = (dt.date.fromisoformat(end) - dt.timedelta(days=6)).isoformat()
    for a in every:
        if is_parent(a["role"]) or a["entered_at"][:10] > end:
            continue
        last[a["user_name"]] = max(last.get(a["user_name"], ""), a["entered_at"])
        if a["entered_at"][:10] >= start:
            count[a["user_name"]] += 1
    out = []
    for t in teachers(db):
        keys = [t["name"], short_name(t["name"] or "")]
        seen = [last[k] for k in keys if k in last]
        when = max(seen) if seen else None
        out.append(
            {
                "name": t["name"],
                "last": f"{fmt_date(when)} {when[11:16]}" if when else "нет входов",
                "week": sum(count.get(k, 0) for k in set(keys)),
                "stale": not when or when[:10] < start,
            }
        )
    return out
