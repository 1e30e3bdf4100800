"""D7 — the printable class journal for a year (п. 9.1–9.2; kept 5 years, bound and sealed).

Title page, contents with page numbers, pupil list; per subject group the marks grid (pupils ×
lesson dates with absence codes, the period mark after each period's last lesson), the
topics/homework pages and lessons planned/given; the certification page «Прошито,
пронумеровано и скреплено печатью ___ листов». No health data: the health sheet is omitted.
"""

from __future__ import annotations

from markupsafe import Markup, escape
from sqlite_utils import Database

from asurso_sync.documents.common import (
    Codes,
    Request,
    class_slug,
    classes,
    fmt_date,
    header,
    last_data_day,
    short_date,
    students,
    terms,
    year,
)
from asurso_sync.documents.journal_data import (
    cells,
    class_groups,
    group_period_marks,
    lessons,
)
from asurso_sync.documents.journal_layout import (
    HEAD_FILL,
    PERIOD_FILL,
    lines_html,
    mm,
    rules_svg,
    topic_pages,
)
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings

COLUMNS_PER_PAGE = 25
CELL = 6  # characters per grid column: the grid is monospace text over ruled lines (fast PDF)
# The grid's geometry in mm. A band is one block of columns for the group's pupils: a monospace
# column (№, name, marks — one line per pupil) on one SVG background of rules, so the PDF engine
# lays out one line per pupil instead of a box per mark (journal_layout.py).
# Bands stack on a landscape page while they fit: a 12-pupil subgroup takes a third of the
# sheets it took with one band a page.
GRID_PT = 6.5
CHAR_MM = GRID_PT * 1233 / 2048 * 25.4 / 72  # DejaVu Sans Mono advance (0.602 em)
ROW_MM = 4.0
NO_CH = 4  # the № column is the first CELL of the monospace line
NAME_CH = 33  # room left in the monospace line for the names block laid over it
BAND_GAP_MM = 3.0
GRID_HEIGHT_MM = 164.0  # landscape A4 page body under the section title and subtitle
MAX_ROWS = int(GRID_HEIGHT_MM // ROW_MM) - 1  # pupils per band (the head row takes one)
CELL_MM = CELL * CHAR_MM
NO_MM = NO_CH * CHAR_MM
NAME_MM = NAME_CH * CHAR_MM
GRID_LEFT_MM = NO_MM + NAME_MM
PLAN_SQL = """SELECT count(*) AS n, sum(coalesce(hours, 1)) AS h FROM plan_lessons
               WHERE subject_group_id = ? AND deleted_at IS NULL"""


def grid_columns(group_lessons: list[dict], periods: list[dict], data_day: str) -> list[dict]:
    """Lesson columns in date order with a period-mark column after each ended period."""
    cols = []
    for i, le in enumerate(group_lessons):
        cols.append({"kind": "lesson", "lesson": le, "head": short_date(le["date"])})
        nxt = group_lessons[i + 1] if i + 1 < len(group_lessons) else None
        for t in periods:
            ends_here = le["date"] <= t["end"] and (nxt is None or nxt["date"] > t["end"])
            ended = nxt is not None or t["end"] <= data_day
            if ends_here and ended and le["date"] >= t["start"]:
                cols.append({"kind": "period", "term": t, "head": t["short"]})
    return cols


def fit(text: str) -> str:
    """A grid cell's text centred in CELL characters (cut with «…» when longer)."""
    text = text if len(text) <= CELL - 1 else text[: CELL - 2] + "…"
    return text.center(CELL)


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def group_section(
    db: Database,
    g: dict,
    pupils: list[dict],
    group_lessons: list[dict],
    periods: list[dict],
    grid: dict,
    n: int,
    data_day: str,
) -> dict:
    """One subject group's pages: grid chunks, topics, planned/given."""
    finals = group_period_marks(db, g["id"])
    members = [p for p in pupils if p["id"] in g["students"]] or pupils
    cols = grid_columns(group_lessons, periods, data_day)
    bands = [
        grid_band(part, rows, finals, grid)
        for part in chunks(cols, COLUMNS_PER_PAGE)
        for rows in chunks(list(enumerate(members, 1)), MAX_ROWS)
    ]
    pages = [
        {"bands": sheet, "months": _months([c for b in sheet for c in b["cols"]])}
        for sheet in chunks(bands, bands_per_page(len(members)))
    ]
    topics = [
        {
            "n": i,
            "date": fmt_date(le["date"]),
            "topic": le["topic"] or "",
            "homework": le["homework"] or "",
        }
        for i, le in enumerate(group_lessons, 1)
    ]
    plan = db.execute(PLAN_SQL, [g["id"]]).fetchone()
    planned = g["hours"] or (plan[1] if plan and plan[0] else 0) or 0
    given = len(group_lessons)
    return {
        "anchor": f"sg{g['id']}",
        "n": n,
        "subject": g["subject"],
        "group": g["name"],
        "teacher": g["teacher"],
        "pages": pages,
        "topics": topics,
        "topic_pages": topic_pages(topics),
        "planned": planned,
        "given": given,
        "lag": max(0, planned - given),
        "plan_lessons": plan[0] if plan else 0,
    }


def grid_band(part: list[dict], rows: list[tuple[int, dict]], finals: dict, grid: dict) -> dict:
    """One band: up to COLUMNS_PER_PAGE columns for some pupils, as lines of monospace text."""
    head = Markup("<b>%s</b>") % _lead("№", "Фамилия, имя")
    lines = [head + _head_line(part)]
    for i, p in rows:
        texts = []
        for col in part:
            if col["kind"] == "lesson":
                cell = grid.get((col["lesson"]["id"], p["id"]))
                text = ""
                if cell:
                    text = " ".join(x for x in (cell["absence"], "/".join(cell["marks"])) if x)
            else:
                text = finals.get((col["term"]["id"], p["id"]), "")
            texts.append(text)
        lines.append(escape(_lead(str(i), p["full_name"])) + _grid_line(texts, part))
    height = (len(rows) + 1) * ROW_MM
    return {
        "cols": part,
        "cells": lines_html(lines),
        "height": mm(height),
        "width": mm(GRID_LEFT_MM + COLUMNS_PER_PAGE * CELL_MM),
        "rules": band_rules(
            len(rows) + 1, [k for k, c in enumerate(part) if c["kind"] == "period"]
        ),
        "cells_width": mm(GRID_LEFT_MM + COLUMNS_PER_PAGE * CELL_MM),
        "text_style": f"line-height:{mm(ROW_MM)};height:{mm(height)}",
    }


def band_rules(lines: int, shaded: list[int]) -> str:
    """Rules around №, the name and every column; the head line and period columns shaded."""
    xs = [0, NO_MM] + [GRID_LEFT_MM + k * CELL_MM for k in range(COLUMNS_PER_PAGE + 1)]
    ys = [k * ROW_MM for k in range(lines + 1)]
    fills = [(0.0, 0.0, xs[-1], ROW_MM, HEAD_FILL)] + [
        (GRID_LEFT_MM + k * CELL_MM, 0.0, CELL_MM, ys[-1], PERIOD_FILL) for k in shaded
    ]
    return rules_svg(xs, ys, fills)


def _lead(number: str, name: str) -> str:
    """The monospace line's start: № centred in its column, then the name (one line of text
    a pupil, not a names block laid over the grid: half the blocks for WeasyPrint to lay out)."""
    return number.center(NO_CH) + " " + fit_name_chars(name, NAME_CH - 2).ljust(NAME_CH - 1)


def fit_name_chars(name: str, chars: int) -> str:
    """A pupil's full name shortened to initials only when longer than `chars` characters."""
    parts = name.split()
    tries = [name]
    if len(parts) >= 3:
        tries.append(" ".join(parts[:2] + [p[0] + "." for p in parts[2:]]))
    if len(parts) >= 2:
        tries.append(" ".join(parts[:1] + [p[0] + "." for p in parts[1:]]))
    fits = [t for t in tries if len(t) <= chars]
    return fits[0] if fits else tries[-1][: chars - 1] + "…"


def _grid_line(texts: list[str], part: list[dict]) -> Markup:
    """One line of the band: cells padded to CELL characters, period marks in bold."""
    out = [
        Markup("<b>%s</b>") % fit(t) if c["kind"] == "period" else escape(fit(t))
        for t, c in zip(texts, part, strict=True)
    ]
    return Markup("").join(out)


def _head_line(part: list[dict]) -> Markup:
    """The band's head: each date («08.09», five characters in a six-character column) in a
    box of the column's width, centred, so that no date touches or crosses a column's rule."""
    return Markup("").join(
        Markup('<b class="hd" style="width:%s">%s</b>') % (mm(CELL_MM), c["head"]) for c in part
    )


def bands_per_page(members: int) -> int:
    """How many bands of this many pupils fit one landscape page (at least one)."""
    band = (min(members, MAX_ROWS) + 1) * ROW_MM
    return max(1, int((GRID_HEIGHT_MM + BAND_GAP_MM) // (band + BAND_GAP_MM)))


def _months(part: list[dict]) -> str:
    dates = [c["lesson"]["date"] for c in part if c["kind"] == "lesson"]
    if not dates:
        return ""
    return f"{fmt_date(dates[0])} – {fmt_date(dates[-1])}"


def class_context(db: Database, c: dict, req: Request, settings: ReportSettings) -> Doc:
    period = req.period(db, "year")
    codes = Codes(settings)
    y = year(db)
    periods = [t for t in terms(db) if not t["is_year"]]
    for i, t in enumerate(periods, 1):
        t["short"] = f"{i} п."
    pupils = students(db, c["id"])
    groups = class_groups(db, c["id"])
    all_lessons = lessons(db, c["id"], period.start, period.end)
    by_group: dict = {}
    for le in all_lessons:
        by_group.setdefault(le["subject_group_id"], []).append(le)
    grid = cells(db, c["id"], period.start, period.end, codes)
    data_day = last_data_day(db)
    sections = [
        group_section(db, g, pupils, by_group.get(g["id"], []), periods, grid, i, data_day)
        for i, g in enumerate(groups, 1)
    ]
    ctx = header(
        db,
        settings,
        "Классный журнал",
        f"{c['name']} класс, {y['name']} учебный год",
        now=req.now,
    )
    ctx.update(
        {
            "class_name": c["name"],
            "class_teacher": c["class_teacher"],
            "year_name": y["name"],
            "period": period.label,
            "pupils": [{"n": i, "name": p["full_name"]} for i, p in enumerate(pupils, 1)],
            "sections": sections,
            "codes_note": _codes_note(settings),
        }
    )
    tables = _tables(pupils, groups, by_group, grid, sections)
    slug = f"D7_journal_{period.slug}_{class_slug(c['name'])}"
    return Doc(slug, "d7_journal.html", ctx, tables)


def _codes_note(settings: ReportSettings) -> str:
    note = "Н — отсутствовал, О — опоздал, УП — по уважительной причине, НП — по неуважительной"
    if settings.show_illness:
        note += ", Б — по болезни"
    return note + ", • — задолженность («точка»)."


def _tables(pupils, groups, by_group, grid, sections) -> list[Table]:
    names = {p["id"]: p["full_name"] for p in pupils}
    marks = []
    for g in groups:
        for le in by_group.get(g["id"], []):
            for pid in sorted(g["students"] or names):
                cell = grid.get((le["id"], pid))
                if cell and (cell["marks"] or cell["absence"]):
                    marks.append(
                        [
                            g["name"],
                            le["date"],
                            le["number"],
                            names.get(pid, pid),
                            " ".join(cell["marks"]),
                            cell["absence"],
                        ]
                    )
    topics = [
        [s["group"], t["date"], t["topic"], t["homework"]] for s in sections for t in s["topics"]
    ]
    return [
        Table("pupils", ["№", "ФИО"], [[i, p["full_name"]] for i, p in enumerate(pupils, 1)]),
        Table("marks", ["группа", "дата", "урок", "ученик", "оценки", "отсутствие"], marks),
        Table("topics", ["группа", "дата", "тема урока", "домашнее задание"], topics),
    ]


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    return [class_context(db, c, req, settings) for c in classes(db, req.class_name)]
