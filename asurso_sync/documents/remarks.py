"""D1 — «Список замечаний по ведению ЭЖ» per teacher, for a month or a term (п. 7.4, Z-1).

A remark is a violation that was open at the end of the period (its lesson on or before the
end, not fixed by then, not excused; dates of findings are the checks' as-of dates). The list
also names what was fixed during the period and compares the counts per rule with the previous
list. Rows come grouped by rule (its wording printed once per group) so a landscape page holds
30+ remarks. Pupils' marks are never shown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from sqlite_utils import Database

from asurso_sync.documents.common import (
    Period,
    Request,
    class_slug,
    fmt_date,
    header,
    local_date,
    rows,
    teachers,
)
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.rule_texts import rule_texts
from asurso_sync.documents.settings import ReportSettings

FIX_DAYS = 7
_MARK_WORDS = re.compile(r"(?i)\b(оценк\w*|отметк\w*|mark)\s*[«\"']?[0-9]+[»\"']?")


_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}:\d{2})(?::\d{2})?)?\b")


def scrub(detail: str | None) -> str:
    """The rule's detail without any mark value (a remarks list never shows pupils' marks),
    with ISO dates written the Russian way."""
    text = _MARK_WORDS.sub(lambda m: m.group(1), detail or "").strip()
    return _ISO.sub(
        lambda m: (
            f"{m.group(3)}.{m.group(2)}.{m.group(1)}" + (f" {m.group(4)}" if m.group(4) else "")
        ),
        text,
    )


def load_violations(db: Database, settings: ReportSettings) -> list[dict]:
    """Every recorded violation with its class, subject, pupil names and local dates."""
    found = rows(
        db,
        """
        SELECT v.*, c.name AS class_name, sg.name AS group_name, s.name AS subject_name,
               st.full_name AS student_name, t.name AS teacher_name, at.name AS task_type
          FROM violations v
          LEFT JOIN classes c ON c.id = v.class_id
          LEFT JOIN subject_groups sg ON sg.id = v.subject_group_id
          LEFT JOIN subjects s ON s.id = coalesce(v.subject_id, sg.subject_id)
          LEFT JOIN students st ON st.id = v.student_id
          LEFT JOIN teachers t ON t.id = v.teacher_id
          LEFT JOIN assignments a ON a.id = v.assignment_id
          LEFT JOIN assignment_types at ON at.id = a.type_id
         ORDER BY v.rule, v.lesson_date, c.name, v.id""",
    )
    for v in found:
        v["found_on"] = local_date(v["first_found_at"], settings.timezone)
        v["fixed_on"] = local_date(v["fixed_at"], settings.timezone)
    return found


def open_on(v: dict, day: str) -> bool:
    """Was this violation a standing remark at the end of `day`?

    Its lesson (or, without one, its first finding) is on or before `day`, and it was not
    fixed by then; excused entries are never remarks.
    """
    if v["status"] == "excused":
        return False
    since = v["lesson_date"] or v["deadline"] or v["found_on"]
    if not since or since[:10] > day:
        return False
    return not (v["fixed_on"] and v["fixed_on"] <= day)


def short_name(full_name: str | None) -> str:
    """«Филатов Иван Борисович» -> «Филатов И. Б.», as school forms write pupils."""
    parts = (full_name or "").split()
    if not parts:
        return ""
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:3])])


def short_detail(v: dict) -> str:
    """Pupil, kind of assignment and the rule's finding, without the deadline the row already
    shows in its own column (and never a mark)."""
    text = scrub(v["detail"])
    deadline = fmt_date(v["deadline"])
    if deadline:
        text = text.replace(f", срок {deadline}", "").replace(f" (срок {deadline})", "")
    parts = []
    if v["student_name"]:
        parts.append(short_name(v["student_name"]))
    if v.get("task_type"):
        parts.append(v["task_type"])
    parts.append(text)
    return "; ".join(p for p in parts if p)


def subject_of(v: dict) -> str:
    """The subject group's name without the class prefix («5а/Математика» -> «Математика»):
    the class has its own column, and the short name keeps the row on one line."""
    name = v["group_name"] or v["subject_name"] or ""
    prefix = f"{v['class_name']}/" if v["class_name"] else None
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def remark_row(n: int, v: dict, texts: dict, period: Period) -> dict:
    title, clause = texts.get(v["rule"], (v["rule"], ""))
    if period.contains(v["lesson_date"]) or period.contains(v["found_on"]):
        status = "новое"
    else:
        status = f"не устранено с {fmt_date(v['found_on'] or v['deadline'])}"
    return {
        "n": n,
        "rule": v["rule"],
        "class_name": v["class_name"] or "",
        "subject": subject_of(v),
        "lesson_date": fmt_date(v["lesson_date"]),
        "text": title,
        "clause": clause,
        "detail": short_detail(v),
        "found": fmt_date(v["found_on"]),
        "deadline": fmt_date(v["deadline"]),
        "status": status,
    }


def by_rule(items: list[dict]) -> list[dict]:
    """Rows grouped under their rule (the wording printed once per group, with the count)."""
    groups: list[dict] = []
    for r in items:
        if not groups or groups[-1]["rule"] != r["rule"]:
            groups.append({"rule": r["rule"], "text": r["text"], "clause": r["clause"], "rows": []})
        groups[-1]["rows"].append(r)
    return groups


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    """One list per teacher who has remarks or fixes in the period (or the teacher asked for)."""
    period = req.period(db, "month")
    texts = rule_texts()
    every = load_violations(db, settings)
    if req.class_name:
        from asurso_sync.documents.common import classes

        wanted = {c["id"] for c in classes(db, req.class_name)}
        every = [v for v in every if v["class_id"] in wanted]
    issued = min(period.end, dt.date.today().isoformat())
    fix_by = (dt.date.fromisoformat(issued) + dt.timedelta(days=FIX_DAYS)).isoformat()
    docs = []
    for teacher in teachers(db, req.teacher):
        mine = [v for v in every if v["teacher_id"] == teacher["id"]]
        current = [v for v in mine if open_on(v, period.end)]
        fixed = [v for v in mine if v["fixed_on"] and period.contains(v["fixed_on"])]
        if not (current or fixed) and req.teacher is None:
            continue
        docs.append(
            _doc(db, settings, teacher, period, mine, current, fixed, texts, issued, fix_by, req)
        )
    return docs


def _doc(db, settings, teacher, period, mine, current, fixed, texts, issued, fix_by, req) -> Doc:
    prev_day = period.previous.end if period.previous else None
    now_counts = Counter(v["rule"] for v in current)
    prev_counts = Counter(v["rule"] for v in mine if prev_day and open_on(v, prev_day))
    summary = [
        {
            "rule": r,
            "text": texts.get(r, (r, ""))[0],
            "clause": texts.get(r, (r, ""))[1],
            "now": now_counts[r],
            "before": prev_counts[r],
            "delta": now_counts[r] - prev_counts[r],
        }
        for r in sorted(set(now_counts) | set(prev_counts))
    ]
    remarks = [remark_row(i, v, texts, period) for i, v in enumerate(current, 1)]
    closed = [
        {**remark_row(i, v, texts, period), "fixed": fmt_date(v["fixed_on"])}
        for i, v in enumerate(fixed, 1)
    ]
    title = "Список замечаний по ведению электронного журнала"
    ctx = header(db, settings, title, f"за {period.label}")
    ctx.update(
        {
            "teacher": teacher["name"],
            "period": period.label,
            "previous": period.previous.label if period.previous else "",
            "checked_by": settings.checked_by or ctx["school"]["principal_uvr"],
            "issued": fmt_date(issued),
            "fix_by": fmt_date(fix_by),
            "summary": summary,
            "remarks": remarks,
            "closed": closed,
            "remark_groups": by_rule(remarks),
            "closed_groups": by_rule(closed),
            "total_now": sum(now_counts.values()),
            "total_before": sum(prev_counts.values()),
        }
    )
    cols = [
        "№",
        "правило",
        "класс",
        "предмет",
        "дата урока",
        "нарушение",
        "детали",
        "обнаружено",
        "срок",
        "статус",
    ]
    keys = [
        "n",
        "rule",
        "class_name",
        "subject",
        "lesson_date",
        "text",
        "detail",
        "found",
        "deadline",
        "status",
    ]
    tables = [
        Table("remarks", cols, [[r[k] for k in keys] for r in remarks]),
        Table("fixed", [*cols, "устранено"], [[r[k] for k in keys] + [r["fixed"]] for r in closed]),
    ]
    suffix = f"_{class_slug(req.class_name)}" if req.class_name else ""
    slug = f"D1_remarks_{period.slug}_t{teacher['id']}{suffix}"
    return Doc(slug, "d1_remarks.html", ctx, tables)
