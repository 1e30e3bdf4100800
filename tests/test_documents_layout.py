"""Layout defects seen in the PDFs, each checked on the rendered page: the text pypdf reads and
where it is (headers that overlap, dates across a rule, a signature alone on the last page)."""

from __future__ import annotations

import glob
import re

import pytest
from documents_fixture import build_documents_mirror

from asurso_sync.documents import journal, render

weasyprint = pytest.importorskip("weasyprint")
pypdf = pytest.importorskip("pypdf")
TTFont = pytest.importorskip("fontTools.ttLib").TTFont

pytestmark = pytest.mark.pdf
MM = 72 / 25.4


def runs(page) -> list[tuple[str, float, float, float]]:
    """(text, x, y, font size) of every text run on the page, in points."""
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + cm[4]
            y = tm[5] * cm[3] + cm[5]
            found.append((text.strip(), x, y, size * tm[0] * cm[0]))

    page.extract_text(visitor_text=visit)
    return found


def font_widths(name: str) -> dict[int, float]:
    [path] = glob.glob(f"/usr/share/fonts/**/{name}.ttf", recursive=True)[:1]
    font = TTFont(path, lazy=True)
    upm = font["head"].unitsPerEm
    metrics = font["hmtx"].metrics
    return {cp: metrics[g][0] / upm for cp, g in font.getBestCmap().items()}


BOLD = font_widths("DejaVuSans-Bold")


def width(text: str, size: float) -> float:
    return sum(BOLD.get(ord(ch), 0.6) for ch in text) * size


def pdf_of(paths, part: str = ""):
    [path] = [p for p in paths if p.suffix == ".pdf" and part in p.name]
    return pypdf.PdfReader(path)


def add_pupils(db, class_id: int, count: int) -> None:
    """`count` more pupils in the class, each in every group of it (longer tables)."""
    groups = [
        r[0] for r in db.execute("SELECT id FROM subject_groups WHERE class_id = ?", [class_id])
    ]
    for n in range(count):
        pupil = 7000 + class_id * 100 + n
        db["students"].insert(
            {"id": pupil, "class_id": class_id, "full_name": f"Ученик{n:02d} Имя Отчество"}
        )
        db["subject_group_students"].insert_all(
            {"subject_group_id": g, "student_id": pupil} for g in groups
        )


def test_d5_subject_headers_are_short_names_side_by_side(tmp_path):
    db = build_documents_mirror()
    reader = pdf_of(render(db, "D5", tmp_path, class_name="5а", fmt="pdf"))
    page = runs(reader.pages[0])
    heads = ["Англ.", "Матем.", "Рус.яз.", "Оценок"]
    found = [r for r in page if r[0] in heads]
    assert [r[0] for r in found] == heads  # short names, in subject order, none cut
    assert len({round(r[2]) for r in found}) == 1  # one header line
    for (text, x, _, size), (_, next_x, _, _) in zip(found, found[1:], strict=False):
        assert x + width(text, size) < next_x, (text, x, next_x)
    text = reader.pages[0].extract_text()
    assert "Предметы: Англ. — Английский язык; Матем. — Математика; Рус.яз. — Русский язык." in text
    # the four count columns («5» … «2») under «Оценок», each clear of the next
    second = sorted(
        (r for r in page if r[0] in ("5", "4", "3", "2") and found[0][2] - 12 < r[2] < found[0][2]),
        key=lambda r: r[1],
    )
    assert [r[0] for r in second] == ["5", "4", "3", "2"]
    for (t, x, _, size), (_, next_x, _, _) in zip(second, second[1:], strict=False):
        assert x + width(t, size) < next_x


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["D5", "D6"])
def test_the_signature_never_stands_alone_on_the_last_page(kind, tmp_path):
    # Class sizes that put the table's end at every point of a page: the last page always
    # holds the end of the table with the signature under it.
    sizes = (30, 34, 38, 42) if kind == "D6" else (0, 3, 6)
    for extra in sizes:
        db = build_documents_mirror()
        add_pupils(db, 101, extra)
        reader = pdf_of(
            render(db, kind, tmp_path / f"{kind}{extra}", class_name="5а", term=1, fmt="pdf")
        )
        last = reader.pages[-1].extract_text()
        assert "Классный руководитель" in last, extra
        assert "Отчество" in last or "Ершова" in last, (extra, len(reader.pages), last[:200])


def test_d7_dates_stay_inside_their_columns(tmp_path):
    db = build_documents_mirror()
    reader = pdf_of(render(db, "D7", tmp_path, class_name="5а", fmt="pdf"))
    page = next(
        p
        for p in reader.pages
        if "Фамилия, имя" in p.extract_text() and "02.09" in p.extract_text()
    )
    mono = journal.CHAR_MM * MM  # DejaVu Sans Mono: every character as wide
    found = runs(page)
    head_y = next(y for text, _, y, _ in found if "Фамилия, имя" in text)
    dates = [
        (m.group(), x + m.start() * mono)
        for text, x, y, _ in found
        if abs(y - head_y) < 1
        for m in re.finditer(r"\b\d\d\.\d\d\b", text)
    ]
    assert len(dates) >= 10
    left = 14 * MM + journal.GRID_LEFT_MM * MM  # @page wide's left margin, then № and names
    cell = journal.CELL_MM * MM
    for text, x in dates:
        k = int((x - left) // cell)  # the column the date starts in (period columns between)
        rule, next_rule = left + k * cell, left + (k + 1) * cell
        assert x - rule > 0.25 * MM, (k, text, x - rule)  # clear of the left rule
        assert next_rule - (x + 5 * mono) > 0.25 * MM, (k, text)  # and of the right one


def test_d4_parents_date_line_stays_on_one_line(tmp_path):
    db = build_documents_mirror()
    paths = render(db, "D4", tmp_path, term=1, class_name="5а", fmt="pdf")
    reader = pdf_of(paths, "Васильев_ГП")
    assert len(reader.pages) == 1  # the signatures do not spill onto a page of their own
    page = runs(reader.pages[0])
    [date] = [r for r in page if "«___»" in r[0]]
    assert date[0].endswith("«___» ____________ 20___ г.")  # the whole date on one line
    [role] = [r for r in page if r[0].startswith("С отчётом ознакомлен(а)")]
    assert role[2] > date[2]  # under the role's first line
