"""D3 — weekly user-activity report (п. 8.1; KR-3) from the journal access report (CONTRACT §4).

(a) unique users per role and day of the week; (b) per class: parents who opened the journal
this week, parents seen before but not this week (names only in a class teacher's copy,
`--class`); (c) per teacher: the last journal access up to the end of the week.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlite_utils import Database

from asurso_sync.documents.common import (
    LIVE,
    WEEKDAYS,
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


def is_parent(role: str | None) -> bool:
    return any(p in (role or "").lower() for p in PARENT_ROLES)


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    period = req.period(db, "week")
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
    days = [
        (dt.date.fromisoformat(period.start) + dt.timedelta(days=i)).isoformat() for i in range(7)
    ]
    by_role: dict[str, list[set]] = defaultdict(lambda: [set() for _ in range(7)])
    for a in week:
        by_role[a["role"] or "—"][days.index(a["entered_at"][:10])].add(a["user_name"])
    role_rows = []
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
        db, settings, "Отчёт об активности пользователей электронного журнала", f"за {period.label}"
    )
    ctx.update(
        {
            "period": period.label,
            "days": [f"{WEEKDAYS[i]} {fmt_date(d)[:5]}" for i, d in enumerate(days)],
            "roles": role_rows,
            "classes": class_rows,
            "teachers": teacher_rows,
            "copy_for_class": copy_for_class,
            "class_name": req.class_name or "",
            "entries": len(week),
        }
    )
    tables = [
        Table(
            "roles",
            ["роль", *ctx["days"], "уникальных за неделю"],
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
    """Each teacher's last journal access up to `end` (matched by full name)."""
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
        when = last.get(t["name"])
        out.append(
            {
                "name": t["name"],
                "last": f"{fmt_date(when)} {when[11:16]}" if when else "нет входов",
                "week": count.get(t["name"], 0),
                "stale": not when or when[:10] < start,
            }
        )
    return out
