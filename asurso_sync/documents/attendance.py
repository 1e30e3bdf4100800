"""D6 — «Сводный отчёт о посещаемости класса» (KR-5; п. 8.3), per period and for the year.

Per pupil: days and lessons missed (всего / по уважительной / по неуважительной / причина не
указана, and «по болезни» only with `show_illness`), and lateness. A day counts as missed only
when every lesson the pupil had that day (their subject groups' lessons) was missed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlite_utils import Database

from asurso_sync.documents.common import (
    LIVE,
    Codes,
    Period,
    Request,
    class_slug,
    classes,
    header,
    rows,
    students,
    terms,
)
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings

MISS_KINDS = ("excused", "illness", "unexcused", "absent")
HEADS = {
    "excused": "по уважит.",
    "illness": "по болезни",
    "unexcused": "по неуважит.",
    "absent": "причина не указана",
}


def pupil_lessons(db: Database, class_id: int, start: str, end: str) -> dict:
    """student_id -> {date: [lesson ids]} for the lessons of the pupil's subject groups."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in rows(
        db,
        f"""
        SELECT sgs.student_id, l.date, l.id FROM lessons l
          JOIN subject_group_students sgs ON sgs.subject_group_id = l.subject_group_id
               AND sgs.{LIVE}
         WHERE l.class_id = ? AND l.{LIVE} AND l.date BETWEEN ? AND ?""",
        [class_id, start, end],
    ):
        out[r["student_id"]][r["date"]].append(r["id"])
    return out


def absences(db: Database, class_id: int, start: str, end: str) -> dict:
    """(student_id, lesson_id) -> reason code."""
    return {
        (r["student_id"], r["lesson_id"]): r["reason"]
        for r in rows(
            db,
            f"""
        SELECT x.student_id, x.lesson_id, x.reason FROM attendance x
          JOIN lessons l ON l.id = x.lesson_id
         WHERE l.class_id = ? AND x.{LIVE} AND l.{LIVE} AND l.date BETWEEN ? AND ?""",
            [class_id, start, end],
        )
    }


def pupil_counts(days: dict, absent: dict, student_id: int, codes: Codes) -> dict:
    """Missed days/lessons per kind and lateness of one pupil."""
    lessons_missed: Counter = Counter()
    days_missed: Counter = Counter()
    late = 0
    for _day, lesson_ids in days.items():
        kinds = []
        for lid in lesson_ids:
            code = absent.get((student_id, lid))
            kind = codes.kind(code) if code else None
            if kind == "late":
                late += 1
            if kind in MISS_KINDS:
                lessons_missed[kind] += 1
                kinds.append(kind)
        if kinds and len(kinds) == len(lesson_ids):
            days_missed[Counter(kinds).most_common(1)[0][0]] += 1
    out: dict[str, Any] = {"late": late}
    for prefix, counter in (("days", days_missed), ("lessons", lessons_missed)):
        out[prefix] = {k: counter[k] for k in MISS_KINDS}
        out[prefix]["total"] = sum(counter.values())
    return out


def block(db: Database, c: dict, period: Period, codes: Codes, name: str) -> dict:
    """One table of the report: every pupil's counts over `period` and the class total."""
    days = pupil_lessons(db, c["id"], period.start, period.end)
    absent = absences(db, c["id"], period.start, period.end)
    pupils = []
    for n, p in enumerate(students(db, c["id"]), 1):
        counts = pupil_counts(days.get(p["id"], {}), absent, p["id"], codes)
        pupils.append({"n": n, "name": p["full_name"], **counts})
    total = {"late": sum(p["late"] for p in pupils)}
    for prefix in ("days", "lessons"):
        total[prefix] = {k: sum(p[prefix][k] for p in pupils) for k in (*MISS_KINDS, "total")}
    return {"name": name, "pupils": pupils, "total": total}


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    period = req.period(db, "year")
    codes = Codes(settings)
    kinds = [k for k in MISS_KINDS if k != "illness" or settings.show_illness]
    parts = []
    if period.kind == "year":
        for t in terms(db):
            if not t["is_year"]:
                parts.append(Period("term", t["start"], t["end"], t["name"], "", t["id"]))
    docs = []
    for c in classes(db, req.class_name):
        blocks = [block(db, c, p, codes, p.label) for p in parts]
        blocks.append(
            block(
                db,
                c,
                period,
                codes,
                f"Итого за {period.label}" if period.kind == "year" else period.label,
            )
        )
        ctx = header(
            db,
            settings,
            "Сводный отчёт о посещаемости класса",
            f"{c['name']} класс, {period.label}",
            now=req.now,
        )
        ctx.update(
            {
                "class_name": c["name"],
                "class_teacher": c["class_teacher"],
                "period": period.label,
                "blocks": blocks,
                "kinds": kinds,
                "heads": HEADS,
            }
        )
        head = ["период", "№", "ФИО"]
        head += [f"дней: {HEADS[k]}" for k in kinds] + ["дней всего"]
        head += [f"уроков: {HEADS[k]}" for k in kinds] + ["уроков всего", "опозданий"]
        body = [
            [
                b["name"],
                p["n"],
                p["name"],
                *[p["days"][k] for k in kinds],
                p["days"]["total"],
                *[p["lessons"][k] for k in kinds],
                p["lessons"]["total"],
                p["late"],
            ]
            for b in blocks
            for p in b["pupils"]
        ]
        slug = f"D6_attendance_{period.slug}_{class_slug(c['name'])}"
        docs.append(Doc(slug, "d6_attendance.html", ctx, [Table("pupils", head, body)]))
    return docs
