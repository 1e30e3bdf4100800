"""D1 — «Список замечаний по ведению ЭЖ» per teacher, for a month or a term (п. 7.4, Z-1).

A remark is a violation that was open at the end of the period (its lesson on or before the
end, not fixed by then, not excused; dates of findings are the checks' as-of dates). A
teacher's remarks are grouped by lesson or assignment — one row says the date, class, subject,
what is missing or late, how many pupils and who — under their rule, rules in the regulation's
order, after a short summary. The list also names what was fixed during the period and compares
the counts per rule with the last list actually issued to the teacher (`documents.issued`).
Every deadline says its source: the regulation's clause or the school's setting. Pupils'
marks are never shown. Each remark is to be fixed by the rules' fix-by date (Z-1, п. 7.4:
`[rules] fix_days` after it was first found, `rules.escalation.fix_by`); one still open past it
on the issue date is marked «не устранено в срок» with the days overdue.
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
    classes,
    fmt_date,
    header,
    kes_notice,
    local_date,
    local_time,
    period_of_slug,
    person_slug,
    rows,
    teachers,
)
from asurso_sync.documents.issued import issued_lists
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.rule_texts import deadline_source, rule_order, rule_texts
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.rules.escalation import FIX_SETTING, fix_by, overdue_remarks
from asurso_sync.rules.settings import RuleSettings

TITLE = "Список замечаний по ведению электронного журнала"
NAMES_SHOWN = 8
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
    """The rule's finding without the deadline the row already shows (and never a mark)."""
    text = scrub(v["detail"])
    deadline = fmt_date(v["deadline"])
    if deadline:
        text = text.replace(f", срок {deadline}", "").replace(f" (срок {deadline})", "")
    return text


def subject_of(v: dict) -> str:
    """The subject group's name without the class prefix («5а/Математика» -> «Математика»):
    the class has its own column, and the short name keeps the row on one line."""
    name = v["group_name"] or v["subject_name"] or ""
    prefix = f"{v['class_name']}/" if v["class_name"] else None
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def compact_names(names: list[str], limit: int = NAMES_SHOWN) -> str:
    """«Алексеев А., Белов С. и ещё 3»: surnames with the first initial, the rest counted."""
    short = []
    for full in names:
        parts = full.split()
        short.append(f"{parts[0]} {parts[1][0]}." if len(parts) > 1 else full)
    if len(short) <= limit:
        return ", ".join(short)
    return ", ".join(short[:limit]) + f" и ещё {len(short) - limit}"


def _group_key(v: dict) -> tuple:
    """One row per lesson or assignment (or per term and group for period marks): a pupil-level
    violation joins the row of its lesson/assignment; anything else is a row of its own."""
    if v["student_id"] is None:
        return ("one", v["id"])
    return (
        v["rule"],
        v["class_id"],
        v["subject_group_id"] or v["subject_id"],
        v["lesson_id"],
        v["assignment_id"],
        v["term_id"],
        v["plan_lesson_id"],
        v["lesson_date"],
        v["deadline"],
    )


def escalated_text(due: str, days: int) -> str:
    """Z-1's status of a remark open past its fix-by date (п. 7.4 «устраняет замечания»)."""
    return f"не устранено в срок (срок устранения {fmt_date(due)}), просрочено на {days} дн."


def group_remarks(
    found: list[dict],
    texts: dict,
    period: Period,
    order: dict,
    rules: RuleSettings | None = None,
    overdue: dict[str, dict] | None = None,
) -> list[dict]:
    """Remark rows: rules in the regulation's order, then by date, class and subject; each
    row one lesson/assignment with how many pupils it concerns and their names, the fix-by
    date of its earliest finding, and — where one of its findings is in `overdue` (id -> the
    row of `overdue_remarks`) — Z-1's «не устранено в срок»."""
    rules = rules or RuleSettings()
    overdue = overdue or {}
    groups: dict[tuple, list[dict]] = {}
    for v in found:
        groups.setdefault(_group_key(v), []).append(v)
    out = []
    for vs in groups.values():
        first = vs[0]
        title, clause = texts.get(first["rule"], (first["rule"], ""))
        found_on = min((v["found_on"] or v["deadline"] or "") for v in vs)
        if period.contains(first["lesson_date"]) or found_on[:10] >= period.start:
            status = "новое"  # of this period, or first found by a check after it began
        else:
            status = f"не устранено с {fmt_date(found_on)}"
        due = min(
            (fix_by(v["first_found_at"], rules) for v in vs if v["first_found_at"]), default=None
        )
        late = [overdue[v["id"]] for v in vs if v["id"] in overdue]
        days = max((x["days_overdue"] for x in late), default=0)
        if late:
            status = escalated_text(min(x["fix_by"] for x in late), days)
        details = list(dict.fromkeys(short_detail(v) for v in vs if v["detail"]))
        what = details[0] if details else title
        if len(details) > 1:
            what += f" и др. (вариантов: {len(details)})"
        names = sorted({v["student_name"] for v in vs if v["student_name"]})
        fixed = max((v["fixed_on"] or "" for v in vs), default="")
        out.append(
            {
                "rule": first["rule"],
                "text": title,
                "clause": clause,
                "source": deadline_source(first["rule"], first.get("deadline_source")),
                "date": fmt_date(first["lesson_date"] or first["deadline"]),
                "sort_date": first["lesson_date"] or first["deadline"] or "",
                "class_name": first["class_name"] or "",
                "subject": subject_of(first),
                "task": first.get("task_type") or "",
                "what": what,
                "pupils": len(names),
                "names": compact_names(names),
                "all_names": ", ".join(short_name(n) for n in names),
                "found": fmt_date(found_on),
                "deadline": fmt_date(first["deadline"]),
                "status": status,
                "fixed": fmt_date(fixed),
                "fix_by": fmt_date(due.isoformat()) if due else "",
                "escalated": bool(late),
                "days_overdue": days if late else "",
            }
        )
    out.sort(
        key=lambda r: (
            order.get(r["rule"], 99),
            r["sort_date"],
            r["class_name"],
            r["subject"],
            r["what"],
        )
    )
    for n, r in enumerate(out, 1):
        r["n"] = n
    return out


def by_rule(items: list[dict]) -> list[dict]:
    """Rows grouped under their rule (the wording printed once per group, with the count)."""
    groups: list[dict] = []
    for r in items:
        if not groups or groups[-1]["rule"] != r["rule"]:
            groups.append(
                {
                    "rule": r["rule"],
                    "text": r["text"],
                    "clause": r["clause"],
                    "source": r["source"],
                    "rows": [],
                }
            )
        groups[-1]["rows"].append(r)
    return groups


def previous_list(db: Database, teacher_id: int, period: Period) -> dict | None:
    """The last list issued to the teacher for a period that ended before this one's end."""
    for row in issued_lists(db, teacher_id):
        named = period_of_slug(db, row["period"])
        if named is not None and named.end < period.end:
            return {**row, "end": named.end}
    return None


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    """One list per teacher who has remarks or fixes in the period (or the teacher asked for)."""
    period = req.period(db, "month")
    texts = rule_texts()
    every = load_violations(db, settings)
    if req.class_name:
        wanted = {c["id"] for c in classes(db, req.class_name)}
        every = [v for v in every if v["class_id"] in wanted]
    moment = local_time(req.now or dt.datetime.now(dt.UTC), settings.timezone)
    issued = moment.date()
    overdue = {r["id"]: r for r in overdue_remarks(db, issued, settings.rules)}
    kes = kes_notice(db)
    docs = []
    for teacher in teachers(db, req.teacher):
        mine = [v for v in every if v["teacher_id"] == teacher["id"]]
        current = [v for v in mine if open_on(v, period.end)]
        fixed = [v for v in mine if v["fixed_on"] and period.contains(v["fixed_on"])]
        if not (current or fixed) and req.teacher is None:
            continue
        before = previous_list(db, teacher["id"], period)
        ctx = header(db, settings, TITLE, f"за {period.label}", now=moment)
        ctx.update(
            {
                "teacher": teacher["name"],
                "period": period.label,
                "checked_by": settings.checked_by or ctx["school"]["principal_uvr"],
                "issued": fmt_date(issued.isoformat()),
                "fix_days": settings.rules.fix_days,
                "fix_setting": FIX_SETTING,
                "kes_notice": kes,
                "previous": _previous_text(db, before, settings.timezone),
            }
        )
        docs.append(
            _doc(
                db,
                ctx,
                teacher,
                period,
                (mine, current, fixed),
                before,
                req,
                texts,
                (settings.rules, overdue),
            )
        )
    return docs


def _doc(db, ctx, teacher, period, found, before, req, texts, z1) -> Doc:
    """One teacher's list; `found` = (all, standing, fixed) violations, `z1` = (rule settings,
    {violation id: its `overdue_remarks` row})."""
    mine, current, fixed = found
    order = rule_order()
    remarks = group_remarks(current, texts, period, order, *z1)
    closed = group_remarks(fixed, texts, period, order, z1[0])
    earlier = group_remarks(
        [v for v in mine if before and open_on(v, before["end"])], texts, period, order
    )
    now_counts = Counter(r["rule"] for r in remarks)
    prev_counts = Counter(r["rule"] for r in earlier)
    rules = sorted(set(now_counts) | set(prev_counts), key=lambda r: order.get(r, 99))
    summary = [
        {
            "rule": r,
            "text": texts.get(r, (r, ""))[0],
            "clause": texts.get(r, (r, ""))[1],
            "source": deadline_source(r),
            "now": now_counts[r],
            "pupils": sum(x["pupils"] for x in remarks if x["rule"] == r),
            "before": prev_counts[r] if before else None,
            "delta": now_counts[r] - prev_counts[r] if before else None,
        }
        for r in rules
    ]
    pupils_total = sum(r["pupils"] for r in remarks)
    ctx.update(
        {
            "summary": summary,
            "remarks": remarks,
            "closed": closed,
            "remark_groups": by_rule(remarks),
            "closed_groups": by_rule(closed),
            "total_now": len(remarks),
            "total_pupils": pupils_total,
            "total_before": len(earlier) if before else None,
            "rules_count": len(now_counts),
            "total_escalated": sum(1 for r in remarks if r["escalated"]),
        }
    )
    cols = [
        "№",
        "правило",
        "дата",
        "класс",
        "предмет",
        "вид задания",
        "что не так",
        "учеников",
        "ученики",
        "обнаружено",
        "срок",
        "источник срока",
        "устранить до",
        "статус",
        "просрочено, дней",
    ]
    keys = [
        "n",
        "rule",
        "date",
        "class_name",
        "subject",
        "task",
        "what",
        "pupils",
        "all_names",
        "found",
        "deadline",
        "source",
        "fix_by",
        "status",
        "days_overdue",
    ]
    tables = [
        Table("remarks", cols, [[r[k] for k in keys] for r in remarks]),
        Table("fixed", [*cols, "устранено"], [[r[k] for k in keys] + [r["fixed"]] for r in closed]),
    ]
    name = person_slug(teacher["name"]) or f"t{teacher['id']}"
    suffix = f"_{class_slug(req.class_name)}" if req.class_name else ""
    slug = f"D1_remarks_{period.slug}_{name}{suffix}"
    return Doc(slug, "d1_remarks.html", ctx, tables, issued=(teacher["id"], period.slug))


def _previous_text(db: Database, before: dict | None, tz: str) -> str:
    """«список за октябрь 2026 г., выдан 03.11.2026» (school-local date), or «»."""
    if before is None:
        return ""
    issued_on = local_date(before["issued_at"], tz)
    named = period_of_slug(db, before["period"])
    label = named.label if named is not None else before["period"]
    return f"список за {label}, выдан {fmt_date(issued_on)}"
