"""PDF/A output: pages, searchable Cyrillic, the PDF/A claim in XMP, attached CSV twins."""

from __future__ import annotations

import re
import sys

import pytest
from documents_fixture import build_documents_mirror

from asurso_sync.documents import render
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.errors import MissingExtra

try:
    import weasyprint  # noqa: F401

    HAVE_WEASYPRINT = True
except (ImportError, OSError):
    HAVE_WEASYPRINT = False

pdf = pytest.mark.skipif(not HAVE_WEASYPRINT, reason="WeasyPrint or Pango is not available")
pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module")
def db():
    return build_documents_mirror()


def xmp(reader) -> str:
    return reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")


def text_of(reader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


@pdf
@pytest.mark.pdf
def test_d1_pdf_is_pdfa3u_with_the_csv_attached(db, tmp_path):
    paths = render(db, "D1", tmp_path, month="2025-11", teacher="Петрова", fmt="pdf")
    pdf_path = [p for p in paths if p.suffix == ".pdf"][0]
    reader = pypdf.PdfReader(pdf_path)
    assert len(reader.pages) == 1
    meta = xmp(reader)
    assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="U"' in meta
    text = text_of(reader)[0]
    assert "Список замечаний по ведению электронного журнала" in text
    assert "Петрова Мария Ивановна" in text
    assert "стр. 1 из 1" in text
    assert sorted(reader.attachments) == ["fixed.csv", "remarks.csv"]
    csv_bytes = reader.attachments["remarks.csv"][0]
    assert csv_bytes.decode("utf-8").splitlines()[0].startswith("№,правило,дата,класс")


@pdf
@pytest.mark.pdf
def test_pdfa2u_variant_has_no_attachments(db, tmp_path):
    settings = ReportSettings(pdf_variant="pdf/a-2u")
    paths = render(db, "D5", tmp_path, class_name="5а", fmt="pdf", settings=settings)
    reader = pypdf.PdfReader([p for p in paths if p.suffix == ".pdf"][0])
    assert 'pdfaid:part="2"' in xmp(reader)
    assert reader.attachments == {}
    text = "\n".join(text_of(reader))
    assert "Сводный отчёт об успеваемости класса" in text
    assert "66,7" in text and "33,3" in text


@pdf
@pytest.mark.pdf
def test_d7_pdf_contents_point_at_the_right_pages(db, tmp_path):
    paths = render(db, "D7", tmp_path, class_name="5а", fmt="pdf")
    reader = pypdf.PdfReader([p for p in paths if p.suffix == ".pdf"][0])
    pages = text_of(reader)
    n = len(pages)
    # title, contents, pupils, 4 groups × (1 grid page + 1 topics page at least), certification
    assert n >= 3 + 4 * 2 + 1
    assert "КЛАССНЫЙ ЖУРНАЛ" in pages[0]
    assert f"стр. {n} из {n}" in pages[-1]
    assert "прошито, пронумеровано и скреплено печатью" in pages[-1]
    toc = dict(re.findall(r"\d\. ([А-Яа-я ]+) \(5а/[^)]*\) — [^\n]*?(\d+)\n", pages[1] + "\n"))
    assert set(toc) == {"Английский язык", "Математика", "Русский язык"}
    for subject, page in toc.items():
        assert pages[int(page) - 1].lstrip().split("\n")[0].startswith(subject)
    assert "Алексеев Артём Игоревич" in pages[2]


def test_missing_weasyprint_is_a_clear_error(db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import raises ImportError
    with pytest.raises(MissingExtra, match=r"pip install 'asurso-sync\[pdf\]'"):
        render(db, "D5", tmp_path, fmt="pdf")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
