"""D4 — «Отчёт об успеваемости и посещаемости ученика» (KR-4, KR-5; п. 4.3), one file per pupil.

Rows are the pupil's subjects: marks by date with absence codes, the average (weighted when
the school uses weights), the period mark(s); then the attendance summary. «Б» is printed as
«УП» unless `[report] show_illness = true`. Never several pupils in one file.
"""

from __future__ import annotations

from collections import Counter

from sqlite_utils import Database

from asurso_sync.documents.common import (
    LIVE,
    Codes,
    Period,
    Request,
    class_slug,
    classes,
    header,
    person_slug,
    rows,
    short_date,
    students,
    terms,
    unique_slugs,
)
from asurso_sync.documents.journal_data import class_groups, group_period_marks, numeric
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings


def default_period(db: Database, req: Request) -> Period:
    """The asked period, else the last complete term (the first one while it runs)."""
    return req.period(db, "term")


def uses_weight(db: Database) -> bool:
    found = rows(
        db, f"SELECT use_weight FROM school_settings WHERE {LIVE} ORDER BY year_id DESC LIMIT 1"
    )
    return bool(found and found[0]["use_weight"])


def weighted_marks(db: Database, student_id: int, group_id: int, period: Period) -> list[tuple]:
    """(date, mark, weight) of one pupil in one group, in date order."""
    return [
        (r["date"], r["mark"], r["weight"])
        for r in rows(
            db,
            f"""
        SELECT l.date, m.mark, coalesce(m.weight, a.weight, 1) AS weight
          FROM marks m JOIN lessons l ON l.id = m.lesson_id
          LEFT JOIN assignments a ON a.id = m.assignment_id
         WHERE m.student_id = ? AND m.subject_group_id = ? AND m.{LIVE} AND l.{LIVE}
           AND l.date BETWEEN ? AND ? AND m.mark IS NOT NULL
         ORDER BY l.date, l.number, m.assignment_id""",
            [student_id, group_id, period.start, period.end],
        )
    ]


def average(marks: list[tuple], weighted: bool) -> str:
    nums: list[tuple[int, int]] = []
    for _, mark, weight in marks:
        value = numeric(mark)
        if value is not None:
            nums.append((value, weight or 1))
    if not nums:
        return "—"
    if weighted:
        mean = sum(n * w for n, w in nums) / sum(w for _, w in nums)
    else:
        mean = sum(n for n, _ in nums) / len(nums)
    return f"{mean:.2f}".replace(".", ",")


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    period = default_period(db, req)
    codes = Codes(settings)
    weighted = uses_weight(db)
    period_terms = [
        t
        for t in terms(db)
        if not t["is_year"] and t["start"] <= period.end and t["end"] >= period.start
    ]
    docs = []
    for c in classes(db, req.class_name):
        groups = class_groups(db, c["id"])
        finals = {g["id"]: group_period_marks(db, g["id"]) for g in groups}
        pupils = students(db, c["id"])
        names = unique_slugs([(p["id"], person_slug(p["full_name"])) for p in pupils], "s")
        for pupil in pupils:
            slug = f"D4_progress_{period.slug}_{class_slug(c['name'])}_{names[pupil['id']]}"
            doc = _pupil_doc(
                db, settings, codes, c, pupil, groups, finals, period, period_terms, weighted, req
            )
            doc.slug = slug
            docs.append(doc)
    return docs


def _pupil_doc(
    db, settings, codes, c, pupil, groups, finals, period, period_terms, weighted, req
) -> Doc:
    subjects = []
    for g in groups:
        if pupil["id"] not in g["students"]:
            continue
        marks = weighted_marks(db, pupil["id"], g["id"], period)
        absences = rows(
            db,
            f"""
            SELECT l.date, x.reason FROM attendance x JOIN lessons l ON l.id = x.lesson_id
             WHERE x.student_id = ? AND l.subject_group_id = ? AND x.{LIVE} AND l.{LIVE}
               AND l.date BETWEEN ? AND ? ORDER BY l.date, l.number""",
            [pupil["id"], g["id"], period.start, period.end],
        )
        entries = [(d, m) for d, m, _ in marks] + [
            (a["date"], codes.shown(a["reason"])) for a in absences
        ]
        entries.sort(key=lambda e: e[0])
        subjects.append(
            {
                "subject": g["subject"],
                # the group without the class prefix: «5а/Английский язык (2 подгр.)» is
                # printed as «Английский язык (2 подгр.)», and not at all when just the subject
                "group": (g["name"] or "").removeprefix(f"{c['name']}/"),
                "teacher": g["teacher"],
                "entries": [f"{short_date(d)}: {m}" for d, m in entries],
                "count": len(marks),
                "average": average(marks, weighted),
                "finals": [finals[g["id"]].get((t["id"], pupil["id"]), "") for t in period_terms],
            }
        )
    missed = _missed(db, codes, pupil["id"], period)
    title = "Отчёт об успеваемости и посещаемости обучающегося"
    ctx = header(db, settings, title, f"за {period.label}", now=req.now)
    ctx.update(
        {
            "pupil": pupil["full_name"],
            "class_name": c["name"],
            "class_teacher": c["class_teacher"],
            "period": period.label,
            "terms": [t["name"] for t in period_terms],
            "subjects": subjects,
            "weighted": weighted,
            "missed": missed,
            "show_illness": settings.show_illness,
        }
    )
    table = Table(
        "subjects",
        [
            "предмет",
            "оценки и отметки по датам",
            "число оценок",
            "средний балл",
            *[f"итоговая оценка: {t['name']}" for t in period_terms],
        ],
        [
            [s["subject"], " ".join(s["entries"]), s["count"], s["average"], *s["finals"]]
            for s in subjects
        ],
    )
    return Doc("", "d4_progress.html", ctx, [table])


def _missed(db: Database, codes: Codes, student_id: int, period: Period) -> dict:
    kinds = Counter(
        codes.kind(r["reason"])
        for r in rows(
            db,
            f"""
            SELECT x.reason FROM attendance x JOIN lessons l ON l.id = x.lesson_id
             WHERE x.student_id = ? AND x.{LIVE} AND l.{LIVE} AND l.date BETWEEN ? AND ?""",
            [student_id, period.start, period.end],
        )
    )
    missed = {k: kinds.get(k, 0) for k in ("excused", "illness", "unexcused", "absent")}
    missed["total"] = sum(missed.values())
    missed["late"] = kinds.get("late", 0)
    return missed
