"""Findings as the outside sees them: SPEC's JSON items, CSV, and a table for a terminal."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from asurso_sync.rules.base import FIELDS, Finding
from asurso_sync.rules.engine import RULES_BY_ID, CheckResult

COLUMNS = (
    "id",
    "rule",
    "severity",
    "evidence",
    "certainty",
    "status",
    "class",
    "subject",
    "teacher",
    "addressee",
    "lesson_date",
    "deadline",
    "deadline_source",
    "entered_at",
    "student_id",
    "object_id",
    "detail",
    *[f for f in FIELDS if f not in ("student_id",)],
    "excused_by",
)
SEVERITY_RANK = {"info": 0, "warning": 1, "violation": 2}


def result_items(db: Database, result: CheckResult) -> list[dict]:
    """One dict per finding of the check (and per violation it marked fixed)."""
    names = {
        "class": dict(db.execute("SELECT id, name FROM classes").fetchall()),
        "subject": dict(db.execute("SELECT id, name FROM subjects").fetchall()),
        "teacher": dict(db.execute("SELECT id, name FROM teachers").fetchall()),
    }
    items = [_item(f.__getattribute__, names, f.id) for f in result.findings]
    items += [_item(row.get, names, row["id"]) for row in result.fixed]
    items.sort(key=lambda i: (i["rule"], i["class"] or "", i["lesson_date"] or "", i["id"]))
    return items


def _item(get, names: dict, vid: str) -> dict:
    item = {c: get(c) for c in COLUMNS if c not in ("id", "class", "subject", "teacher")}
    item["id"] = vid
    item["class"] = names["class"].get(get("class_id"))
    item["subject"] = names["subject"].get(get("subject_id"))
    item["teacher"] = names["teacher"].get(get("teacher_id"))
    return {c: item.get(c) for c in COLUMNS}


def render_json(items: list[dict]) -> str:
    return json.dumps(items, ensure_ascii=False, indent=2)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would take for a formula (`= + - @`, tab, CR first) with a leading
    `'`, as spreadsheet programs expect; numbers and other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def render_csv(items: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in item.items()} for item in items)
    return buf.getvalue()


TABLE = (
    ("rule", 4),
    ("severity", 9),
    ("status", 7),
    ("class", 5),
    ("subject", 18),
    ("teacher", 22),
    ("lesson_date", 11),
    ("deadline", 10),
    ("student_id", 10),
    ("detail", 60),
)


def render_table(items: list[dict], notices: Iterable[dict] = ()) -> str:
    """A plain fixed-width table, then a count per rule and the notices."""
    lines = ["  ".join(name.ljust(width) for name, width in TABLE).rstrip()]
    lines.append("  ".join("-" * width for _, width in TABLE))
    for item in items:
        cells = []
        for name, width in TABLE:
            text = "" if item.get(name) is None else str(item[name])
            cells.append((text[: width - 1] + "…" if len(text) > width else text).ljust(width))
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    per_rule: dict[str, int] = {}
    for item in items:
        if item["status"] in ("new", "open"):
            per_rule[item["rule"]] = per_rule.get(item["rule"], 0) + 1
    for rule, n in sorted(per_rule.items()):
        lines.append(f"{rule} {RULES_BY_ID[rule].title}: {n}")
    total = sum(per_rule.values())
    lines.append(f"Итого открытых замечаний: {total}")
    for notice in notices:
        lines.append(f"Примечание {notice['rule']}: {notice['text']}")
    return "\n".join(lines) + "\n"


def worst_severity(findings: Iterable[Finding]) -> int:
    """The highest severity rank among live (new/open) findings; -1 when none."""
    ranks = [SEVERITY_RANK[f.severity] for f in findings if f.status in ("new", "open")]
    return max(ranks, default=-1)
