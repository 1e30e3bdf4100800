"""D8 — «Сводная ведомость учёта успеваемости» per class (п. 9.1–9.2; archive, ≥ 25 years).

The archival record: the same grid as D5 (pupils × subjects × period and year marks; exam and
final columns for leaving classes 9 and 11) with the council's decision, protocol number and
date left for the secretary, and the head's signature with the seal place. It must be readable
without the journal, so it names the school, class, year and class teacher in full.
"""

from __future__ import annotations

from sqlite_utils import Database

from asurso_sync.documents.class_progress import class_grid, columns, footer_table, grid_table
from asurso_sync.documents.common import Request, class_slug, classes, header, year
from asurso_sync.documents.output import Doc
from asurso_sync.documents.settings import ReportSettings

LEAVING_GRADES = ("9", "11")


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    cols, label = columns(db, req)
    y = year(db)
    docs = []
    for c in classes(db, req.class_name):
        grid = class_grid(db, c, cols)
        leaving = str(c["grade"]) in LEAVING_GRADES
        ctx = header(
            db,
            settings,
            "Сводная ведомость учёта успеваемости обучающихся",
            f"{c['name']} класс, {y['name']} учебный год",
            now=req.now,
        )
        ctx.update(
            {
                "class_name": c["name"],
                "class_teacher": c["class_teacher"],
                "year_name": y["name"],
                "period": label,
                "cols": cols,
                "leaving": leaving,
                **grid,
            }
        )
        summary = footer_table(grid["footer"])
        slug = f"D8_summary_sheet_{req.period(db, 'year').slug}_{class_slug(c['name'])}"
        docs.append(Doc(slug, "d8_summary_sheet.html", ctx, [grid_table(grid, cols), summary]))
    return docs
