"""What the documents write: XLSX twins people open, CSV that runs no code, files written whole,
names that every file system accepts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import stat

import openpyxl
import pytest
from documents_fixture import build_documents_mirror

from asurso_sync.documents import output, render
from asurso_sync.documents.common import (
    month_period,
    person_slug,
    safe_name,
    unique_slugs,
    week_period,
)
from asurso_sync.documents.output import Table, atomic_write, csv_text, xlsx_bytes
from asurso_sync.rules.output import COLUMNS, render_csv


def test_xlsx_twin_has_typed_cells_a_frozen_header_and_widths(tmp_path):
    db = build_documents_mirror()
    paths = render(db, "D6", tmp_path, term=1, class_name="5а")
    [xlsx] = [p for p in paths if p.suffix == ".xlsx"]
    [twin] = [p for p in paths if p.suffix == ".csv"]
    assert xlsx.name == twin.name.removesuffix(".csv") + ".xlsx"
    assert stat.S_IMODE(xlsx.stat().st_mode) == 0o600
    sheet = openpyxl.load_workbook(xlsx).active
    with open(twin, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [c.value for c in sheet[1]] == rows[0]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == len(rows)
    first = [c.value for c in sheet[2]]
    assert first[:3] == ["1 четверть 2025/2026 уч. г.", 1, "Алексеев Артём Игоревич"]
    assert all(isinstance(v, int) for v in first[3:])  # counts are numbers, not text
    assert [str(v) for v in first] == rows[1]
    assert sheet.column_dimensions["C"].width >= len("Алексеев Артём Игоревич")


def test_xlsx_cells_dates_numbers_and_text():
    table = Table(
        "t",
        ["дата", "время", "доля", "число", "код", "класс", "формула"],
        [["01.09.2025", "02.12.2026 02:16", "66,7", 12, "007", "5а", "=1+1"]],
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table))).active
    cells = list(sheet[2])
    assert [c.value for c in cells] == [
        dt.datetime(2025, 9, 1),  # a date cell (openpyxl reads every date back as datetime)
        dt.datetime(2026, 12, 2, 2, 16),
        66.7,
        12,
        "007",  # a code with a leading zero stays text
        "5а",
        "'=1+1",
    ]
    assert cells[0].number_format == "DD.MM.YYYY"
    assert cells[1].number_format == "DD.MM.YYYY HH:MM"


@pytest.mark.parametrize("cell", ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote(cell):
    text = csv_text(Table("t", ["a", "b"], [[cell, -5]]))
    row = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert row == ["'" + cell, "-5"]  # numbers stay numbers
    items = [{c: None for c in COLUMNS} | {"detail": cell, "rule": "R01"}]
    got = list(csv.DictReader(io.StringIO(render_csv(items), newline="")))[0]
    assert (got["detail"], got["rule"]) == ("'" + cell, "R01")


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "d.html"
    atomic_write(target, b"old")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def full_disk(fd):  # the data reach the disk at fsync: that is where ENOSPC shows
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new and longer")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.html"]  # no temp file left
    atomic_write(target, b"new", 0o640)
    assert (target.read_bytes(), stat.S_IMODE(target.stat().st_mode)) == (b"new", 0o640)


def test_file_names_are_safe_on_windows_and_linux():
    assert safe_name('5а: "Б"/В\\Г|Д?Е*<>') == "5а_Б_В_Г_Д_Е"
    assert safe_name("Петрова М. И. ") == "Петрова_М._И"
    assert safe_name("con") == "_con"
    assert safe_name("LPT1.report") == "_LPT1.report"
    assert safe_name("...") == "_"
    assert person_slug("Петрова Мария Ивановна") == "Петрова_МИ"
    assert person_slug("Ли Ян") == "Ли_Я"
    slugs = unique_slugs([(1, "Иванов_ИИ"), (2, "Иванов_ИИ"), (3, "Петров_ПП")], "s")
    assert slugs == {1: "Иванов_ИИ_s1", 2: "Иванов_ИИ_s2", 3: "Петров_ПП"}


def test_pupils_with_the_same_name_are_told_apart_by_id(tmp_path):
    db = build_documents_mirror()
    db.execute("UPDATE students SET full_name = 'Алексеев Артём Игоревич' WHERE id = 5002")
    names = sorted(p.name for p in render(db, "D4", tmp_path, term=1, class_name="5а"))
    assert "D4_progress_term1_5а_Алексеев_АИ_s5001.html" in names
    assert "D4_progress_term1_5а_Алексеев_АИ_s5002.html" in names
    assert "D4_progress_term1_5а_Васильев_ГП.html" in names


def test_weasyprints_fonttools_warning_becomes_one_info_line(caplog, monkeypatch):
    monkeypatch.setattr(output._FontToolsNotice, "said", False)
    caplog.set_level(logging.INFO, logger="asurso_sync.documents.output")
    weasy = logging.getLogger("weasyprint")
    for family in ("DejaVu Sans", "DejaVu Sans Mono", "DejaVu Sans"):
        weasy.warning(
            'Using fontTools instead of HarfBuzz-Subset for font "%s". This will be unsupported',
            family,
        )
    weasy.warning("Ignored `foo: bar` at 1:1, unknown property.")
    got = [(r.name, r.levelname, r.getMessage()[:40]) for r in caplog.records]
    assert got == [
        ("asurso_sync.documents.output", "INFO", "PDF fonts are subset with fontTools (slo"),
        ("weasyprint", "WARNING", "Ignored `foo: bar` at 1:1, unknown prope"),
    ]


def test_d2_for_one_teacher_is_named_for_the_teacher(tmp_path):
    paths = render(build_documents_mirror(), "D2", tmp_path, month="2025-10", teacher="Петрова")
    assert [p.name for p in paths] == [
        "D2_filling_2025-10_Петрова_МИ.html",
        "D2_filling_2025-10_Петрова_МИ.groups.csv",
        "D2_filling_2025-10_Петрова_МИ.groups.xlsx",
    ]


def test_a_periods_days_read_the_russian_way():
    assert week_period("2026-W49").days == "30.11–06.12.2026"
    assert week_period("2026-W53").days == "28.12.2026–03.01.2027"
    assert month_period("2026-11").days == "01.11–30.11.2026"


@pytest.mark.parametrize("kind", ["D2", "D4", "D5", "D6", "D8"])
def test_every_document_prints_its_time_of_making_on_the_schools_clock(kind, tmp_path):
    now = dt.datetime(2025, 12, 1, 21, 30, tzinfo=dt.UTC)  # 02.12.2025 01:30 in Samara
    paths = render(build_documents_mirror(), kind, tmp_path, class_name="5а", term=1, now=now)
    html = next(p for p in paths if p.suffix == ".html").read_text(encoding="utf-8")
    assert "данные на 14.11.2025 22:00</span> · сформировано 02.12.2025 01:30" in html
