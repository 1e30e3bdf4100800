"""D5 — «Сводный отчёт об успеваемости класса» (KR-5), and the grid D8 shares.

Rows: pupils; columns: per subject the period marks (and the year mark when the portal has a
«год» period). The class footer counts pupils by their final marks — the year mark when there
is one, else the latest period in range with marks: успевают / на «5» / на «4» и «5» / с одной
«3» / неуспевающие / не аттестованы, % успеваемости and % качества. The «Решение педсовета»
column is printed blank with the regulation's five wordings: the tool never infers it.
"""

from __future__ import annotations

from collections import Counter

from sqlite_utils import Database

from asurso_sync.documents.common import (
    Request,
    class_slug,
    classes,
    header,
    last_data_day,
    pct,
    students,
    terms,
)
from asurso_sync.documents.journal_data import (
    class_groups,
    is_not_attested,
    numeric,
    period_marks,
    subjects_of,
)
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings

DECISIONS = [
    "Переведен(а) в ____ класс, протокол педсовета № ____ от ________ г.",
    "Переведен(а) в ____ класс условно, протокол педсовета № ____ от ________ г.",
    "Оставлен(а) на повторное обучение, протокол педсовета № ____ от ________ г.",
    "Выбыл(а) в порядке перевода от ________ (число, год)",
    "Получил(а) основное общее образование и отчислен(а) из ОУ (протокол педсовета "
    "от ________ 20___ г.)",
]
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def columns(db: Database, req: Request) -> tuple[list[dict], str]:
    """The period columns: the asked term only, or every period plus the year mark."""
    every = terms(db)
    periods = [t for t in every if not t["is_year"]]
    for n, t in enumerate(periods, 1):
        t["short"] = ROMAN.get(n, str(n))
    years = [t for t in every if t["is_year"]]
    for t in years:
        t["short"] = "год"
    if req.term is not None:
        period = req.period(db, "year")
        return [t for t in periods if t["id"] == period.term_id], period.label
    return periods + years, req.period(db, "year").label


def classify(finals: list[str]) -> str:
    """excellent | good | one_three | passing | failing | not_attested for one pupil."""
    if not finals or any(is_not_attested(m) for m in finals):
        return "not_attested"
    found = [numeric(m) for m in finals]
    values = [v for v in found if v is not None]
    if len(values) < len(found):
        return "not_attested"
    if any(v <= 2 for v in values):
        return "failing"
    if all(v == 5 for v in values):
        return "excellent"
    threes = sum(1 for v in values if v == 3)
    if threes == 0:
        return "good"
    return "one_three" if threes == 1 else "passing"


def footer(kinds: list[str]) -> dict:
    n = Counter(kinds)
    total = len(kinds)
    passing = n["excellent"] + n["good"] + n["one_three"] + n["passing"]
    return {
        "total": total,
        "passing": passing,
        "excellent": n["excellent"],
        "good": n["good"],
        "one_three": n["one_three"],
        "failing": n["failing"],
        "not_attested": n["not_attested"],
        "progress_pct": pct(passing, total),
        "quality_pct": pct(n["excellent"] + n["good"], total),
    }


def class_grid(db: Database, c: dict, cols: list[dict]) -> dict:
    """Pupils × subjects × period columns, each pupil's totals and class footer."""
    subjects = subjects_of(class_groups(db, c["id"]))
    marks = period_marks(db, c["id"])
    final_col = None
    data_day = last_data_day(db)
    marked = [t for t in cols if any(k[1] == t["id"] for k in marks)]
    ended = [t for t in marked if t["end"] <= data_day]
    if ended or marked:
        final_col = (ended or marked)[-1]
    pupils, kinds = [], []
    for n, p in enumerate(students(db, c["id"]), 1):
        cells = [
            [marks.get((s["subject_id"], t["id"], p["id"]), "") for t in cols] for s in subjects
        ]
        finals = (
            [
                marks[(s["subject_id"], final_col["id"], p["id"])]
                for s in subjects
                if (s["subject_id"], final_col["id"], p["id"]) in marks
            ]
            if final_col
            else []
        )
        kind = classify(finals)
        kinds.append(kind)
        counts = Counter(f for f in finals if numeric(f) is not None)
        debts = [
            s["subject"]
            for s in subjects
            if final_col
            and (lambda m: m is not None and (is_not_attested(m) or (numeric(m) or 5) <= 2))(
                marks.get((s["subject_id"], final_col["id"], p["id"]))
            )
        ]
        pupils.append(
            {
                "n": n,
                "id": p["id"],
                "name": p["full_name"],
                "cells": cells,
                "fives": counts["5"],
                "fours": counts["4"],
                "threes": counts["3"],
                "twos": counts["2"],
                "debts": debts,
                "kind": kind,
            }
        )
    return {
        "subjects": subjects,
        "pupils": pupils,
        "footer": footer(kinds),
        "final_label": final_col["name"] if final_col else "",
    }


def grid_table(grid: dict, cols: list[dict]) -> Table:
    head = ["№", "ФИО"] + [f"{s['subject']}: {t['name']}" for s in grid["subjects"] for t in cols]
    head += ["«5»", "«4»", "«3»", "«2»", "задолженности"]
    body = []
    for p in grid["pupils"]:
        body.append(
            [
                p["n"],
                p["name"],
                *[m for cell in p["cells"] for m in cell],
                p["fives"],
                p["fours"],
                p["threes"],
                p["twos"],
                "; ".join(p["debts"]),
            ]
        )
    return Table("pupils", head, body)


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    cols, label = columns(db, req)
    docs = []
    for c in classes(db, req.class_name):
        grid = class_grid(db, c, cols)
        ctx = header(
            db,
            settings,
            "Сводный отчёт об успеваемости класса",
            f"{c['name']} класс, {label}",
            now=req.now,
        )
        ctx.update(
            {
                "class_name": c["name"],
                "class_teacher": c["class_teacher"],
                "period": label,
                "cols": cols,
                "decisions": DECISIONS,
                "legend": [s for s in grid["subjects"] if s["short"] != s["subject"]],
                **grid,
            }
        )
        summary = footer_table(grid["footer"])
        slug = f"D5_class_progress_{_slug(req, db)}_{class_slug(c['name'])}"
        docs.append(Doc(slug, "d5_class_progress.html", ctx, [grid_table(grid, cols), summary]))
    return docs


def footer_table(f: dict) -> Table:
    """The class footer (успевают, на «5», … % качества) as a CSV/PDF table; D5 and D8 share it."""
    return Table(
        "footer",
        ["показатель", "значение"],
        [
            ["всего обучающихся", f["total"]],
            ["успевают", f["passing"]],
            ["на «5»", f["excellent"]],
            ["на «4» и «5»", f["good"]],
            ["с одной «3»", f["one_three"]],
            ["неуспевающие", f["failing"]],
            ["не аттестованы", f["not_attested"]],
            ["% успеваемости", f["progress_pct"]],
            ["% качества", f["quality_pct"]],
        ],
    )


def _slug(req: Request, db: Database) -> str:
    return req.period(db, "year").slug
