"""End to end with the real documents renderer (WeasyPrint): PDF/A prints in valid bags."""

from __future__ import annotations

import bagit
import pytest
from documents_fixture import build_documents_mirror

from asurso_sync.archive import ArchiveError, create, register_rows, verify
from asurso_sync.config import parse_config

pytestmark = pytest.mark.pdf


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"WeasyPrint unusable: {exc}")
    tmp = tmp_path_factory.mktemp("real")
    build_documents_mirror(tmp / "asurso.db").conn.close()
    config = parse_config(
        {
            "mirror": {"path": str(tmp / "asurso.db")},
            "archive": {
                "path": str(tmp / "store"),
                "year_reports": ["attendance"],
                "retention_article": "ст. X",
            },
        }
    )
    # the fixture school's mirror stops in November: sealing it needs --force
    return config, create(config, "2025/2026", force=True)


def test_real_documents_make_valid_bags_with_pdfs_per_class(real_store):
    from pypdf import PdfReader

    config, bags = real_store
    assert [b.name for b in bags] == ["ej-1-2025-2026-journal-v1", "ej-1-2025-2026-summary-v1"]
    for bag in bags:
        assert bagit.Bag(str(bag)).is_valid()
    journal, summary = bags
    for cls in ("5a", "5b"):
        for path in (
            journal / f"data/print/{cls}/journal.pdf",
            summary / f"data/print/{cls}/summary-sheet.pdf",
            summary / f"data/print/{cls}/class-progress.pdf",
        ):
            assert len(PdfReader(str(path)).pages) >= 1, path
    assert not list(journal.rglob("*.html"))
    assert list((journal / "data/reports").glob("attendance-term1*.pdf"))
    assert [(r.bag, r.ok) for r in verify(config, full=True)] == [(b.name, True) for b in bags]
    rows = register_rows(config)
    assert [(r["class_name"], r["kind"]) for r in rows] == [
        ("5а", "Электронный журнал (печатная форма)"),
        ("5б", "Электронный журнал (печатная форма)"),
        ("5а", "Сводный отчёт об успеваемости класса"),
        ("5а", "Сводная ведомость учёта успеваемости"),
        ("5б", "Сводный отчёт об успеваемости класса"),
        ("5б", "Сводная ведомость учёта успеваемости"),
    ]
    assert all(isinstance(r["sheets"], int) and r["sheets"] >= 1 for r in rows)


def test_unknown_year_report_kind_fails_before_rendering(tmp_path):
    build_documents_mirror(tmp_path / "asurso.db").conn.close()
    config = parse_config(
        {
            "mirror": {"path": str(tmp_path / "asurso.db")},
            "archive": {"path": str(tmp_path / "store"), "year_reports": ["nurse-list"]},
        }
    )
    with pytest.raises(ArchiveError, match="year_reports: unknown document 'nurse-list'"):
        create(config, "2025/2026", force=True)
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.startswith("ej-")]
