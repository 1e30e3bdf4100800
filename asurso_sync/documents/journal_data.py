"""Queries the journal-shaped documents share (D4–D8): groups, lessons, marks, absences."""

from __future__ import annotations

from collections import defaultdict

from sqlite_utils import Database

from asurso_sync.documents.common import LIVE, Codes, rows

NON_NUMERIC_FAIL = ("н/а", "на", "н/a")


def class_groups(db: Database, class_id: int) -> list[dict]:
    """The class's subject groups with subject and teachers, in subject order."""
    found = rows(
        db,
        f"""
        SELECT sg.id, sg.name, sg.subject_id, sg.hours, coalesce(s.name, sg.name) AS subject,
               coalesce(nullif(s.short_name, ''), s.name, sg.name) AS short,
               (SELECT group_concat(t.name, ', ') FROM subject_group_teachers x
                  JOIN teachers t ON t.id = x.teacher_id
                 WHERE x.subject_group_id = sg.id AND x.{LIVE}) AS teacher
          FROM subject_groups sg LEFT JOIN subjects s ON s.id = sg.subject_id
         WHERE sg.class_id = ? AND sg.{LIVE}
         ORDER BY subject, sg.name, sg.id""",
        [class_id],
    )
    members = defaultdict(list)
    for r in rows(
        db,
        f"""
        SELECT sgs.subject_group_id AS gid, sgs.student_id AS sid FROM subject_group_students sgs
          JOIN subject_groups sg ON sg.id = sgs.subject_group_id
         WHERE sg.class_id = ? AND sgs.{LIVE}""",
        [class_id],
    ):
        members[r["gid"]].append(r["sid"])
    for g in found:
        g["teacher"] = g["teacher"] or ""
        g["students"] = set(members.get(g["id"], []))
    return found


def subjects_of(groups: list[dict]) -> list[dict]:
    """Subjects of a class (split groups merged): [{subject_id, subject, short, group_ids}]."""
    out: dict = {}
    for g in groups:
        key = g["subject_id"] if g["subject_id"] is not None else -g["id"]
        item = out.setdefault(
            key,
            {
                "subject_id": key,
                "subject": g["subject"],
                "short": g.get("short") or g["subject"],
                "group_ids": [],
            },
        )
        item["group_ids"].append(g["id"])
    return list(out.values())


def lessons(db: Database, class_id: int, start: str, end: str) -> list[dict]:
    return rows(
        db,
        f"""
        SELECT id, subject_group_id, term_id, date, number, topic, homework FROM lessons
         WHERE class_id = ? AND {LIVE} AND date BETWEEN ? AND ?
         ORDER BY date, number, id""",
        [class_id, start, end],
    )


def cells(db: Database, class_id: int, start: str, end: str, codes: Codes) -> dict:
    """(lesson_id, student_id) -> {"marks": [...], "absence": code or ""} for the class."""
    out: dict = defaultdict(lambda: {"marks": [], "absence": ""})
    for m in rows(
        db,
        f"""
        SELECT m.lesson_id, m.student_id, m.mark, m.duty_mark FROM marks m
          JOIN lessons l ON l.id = m.lesson_id
         WHERE l.class_id = ? AND l.date BETWEEN ? AND ? AND m.{LIVE} AND l.{LIVE}
         ORDER BY m.lesson_id, m.assignment_id""",
        [class_id, start, end],
    ):
        text = "•" if m["duty_mark"] and not m["mark"] else (m["mark"] or "")
        if text:
            out[(m["lesson_id"], m["student_id"])]["marks"].append(text)
    for a in rows(
        db,
        f"""
        SELECT x.lesson_id, x.student_id, x.reason FROM attendance x
          JOIN lessons l ON l.id = x.lesson_id
         WHERE l.class_id = ? AND l.date BETWEEN ? AND ? AND x.{LIVE} AND l.{LIVE}""",
        [class_id, start, end],
    ):
        out[(a["lesson_id"], a["student_id"])]["absence"] = codes.shown(a["reason"])
    return out


def period_marks(db: Database, class_id: int) -> dict:
    """(subject_id, term_id, student_id) -> period mark text (split groups merged)."""
    out = {}
    for r in rows(
        db,
        f"""
        SELECT coalesce(sg.subject_id, -sg.id) AS subject_id, pm.term_id, pm.student_id, pm.mark
          FROM period_marks pm JOIN subject_groups sg ON sg.id = pm.subject_group_id
         WHERE sg.class_id = ? AND pm.{LIVE} AND pm.mark IS NOT NULL AND pm.mark != ''""",
        [class_id],
    ):
        out[(r["subject_id"], r["term_id"], r["student_id"])] = r["mark"]
    return out


def group_period_marks(db: Database, group_id: int) -> dict:
    """(term_id, student_id) -> period mark text of one subject group."""
    return {
        (r["term_id"], r["student_id"]): r["mark"]
        for r in rows(
            db,
            f"""
        SELECT term_id, student_id, mark FROM period_marks
         WHERE subject_group_id = ? AND {LIVE} AND mark IS NOT NULL AND mark != ''""",
            [group_id],
        )
    }


def numeric(mark: str | None) -> int | None:
    """`"5"` -> 5; `"н/а"`, `"•"` -> None."""
    text = (mark or "").strip()
    return int(text) if text.isdigit() else None


def is_not_attested(mark: str | None) -> bool:
    return (mark or "").strip().lower() in NON_NUMERIC_FAIL
