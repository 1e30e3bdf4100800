"""Each document rendered once per mirror state: `archive create` reuses the prints that
`report` or `demo` made from the same mirror (same inputs, same bytes)."""

from __future__ import annotations

import stat

from archive_fixture import CLASSES, YEAR, FakeRenderer, make_config, make_mirror, write_config
from click.testing import CliRunner
from sqlite_utils import Database

from asurso_sync.archive import create
from asurso_sync.cli import cli
from asurso_sync.documents.cache import RenderCache
from asurso_sync.mirror.db import open_mirror


class CountingRenderer(FakeRenderer):
    """The fake renderer, with bytes that say how many times it rendered."""

    def __call__(self, db, kind, out_dir, **kwargs):
        db = db if isinstance(db, Database) else Database(db)  # `report` passes the path
        paths = super().__call__(db, kind, out_dir, **kwargs)
        for path in paths:
            if path.suffix == ".pdf":
                path.write_bytes(path.read_bytes() + f" render #{len(self.calls)}".encode())
        return paths


def test_a_second_rendering_of_the_same_mirror_state_is_a_copy(tmp_path, monkeypatch):
    mirror = make_mirror(tmp_path / "mirror.db")
    renderer = CountingRenderer()
    monkeypatch.setattr("asurso_sync.documents.cache.render", renderer)
    cache = RenderCache.for_mirror(mirror)
    first = cache.render(Database(mirror), "D7", tmp_path / "a", fmt="pdf", class_name="5а")
    again = cache.render(Database(mirror), "journal", tmp_path / "b", fmt="pdf", class_name="5а")
    assert [p.name for p in again] == [p.name for p in first]
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in first]
    assert renderer.calls == [("D7", "5а", None)]
    assert stat.S_IMODE((tmp_path / ".render-cache").stat().st_mode) == 0o700
    other = cache.render(Database(mirror), "D7", tmp_path / "c", fmt="pdf", class_name="5б")
    assert len(renderer.calls) == 2 and other[0].parent == tmp_path / "c"
    # a new sync is a new mirror state: rendered again, the old state's entries dropped
    db = open_mirror(mirror)
    db.table("sync_runs").insert({"id": 9, "started_at": "2026-06-20T21:00:00+00:00"})
    db.conn.close()
    cache.render(Database(mirror), "D7", tmp_path / "d", fmt="pdf", class_name="5а")
    assert renderer.calls[-1] == ("D7", "5а", None) and len(renderer.calls) == 3
    assert len([p for p in (tmp_path / ".render-cache").iterdir()]) == 1


def test_archive_create_reuses_the_prints_of_the_same_mirror_state(tmp_path, monkeypatch):
    mirror = make_mirror(tmp_path / "mirror.db")
    renderer = CountingRenderer()
    monkeypatch.setattr("asurso_sync.documents.cache.render", renderer)
    cache = RenderCache.for_mirror(mirror)
    made = {}
    for _id, name in CLASSES:  # what `report D7 --class X --format pdf` leaves behind
        made[name] = cache.render(
            Database(mirror), "D7", tmp_path / "reports" / name, fmt="pdf", class_name=name
        )
    renderer.calls.clear()
    bags = create(make_config(tmp_path), YEAR)
    assert ("journal", "5а", None) not in renderer.calls
    assert not [c for c in renderer.calls if c[0] in ("D7", "journal")]
    # the summary prints and the year reports were not cached: rendered once each now
    assert sorted({c[0] for c in renderer.calls}) == [
        "attendance",
        "class-progress",
        "filling",
        "remarks",
        "summary-sheet",
    ]
    journal = bags[0]
    for _id, name in CLASSES:
        pdf = next(p for p in made[name] if p.suffix == ".pdf")
        slug = {"5а": "5a", "5б": "5b", "10Б": "10B"}[name]
        assert (journal / f"data/print/{slug}/journal.pdf").read_bytes() == pdf.read_bytes()


def test_report_pdfs_are_reused_by_archive_create_but_d1_and_d10_never_cached(
    tmp_path, monkeypatch
):
    mirror = make_mirror(tmp_path / "mirror.db")
    renderer = CountingRenderer()
    monkeypatch.setattr("asurso_sync.documents.cache.render", renderer)
    path = write_config(tmp_path)
    for _id, name in CLASSES:
        result = CliRunner().invoke(
            cli,
            [
                "--config",
                str(path),
                "report",
                "D7",
                "--class",
                name,
                "--format",
                "pdf",
                "-o",
                str(tmp_path / "reports"),
            ],
        )
        assert result.exit_code == 0, result.output
    assert [c[:2] for c in renderer.calls] == [("D7", name) for _id, name in CLASSES]
    again = CliRunner().invoke(
        cli,
        [
            "--config",
            str(path),
            "report",
            "D7",
            "--class",
            "5а",
            "--format",
            "pdf",
            "-o",
            str(tmp_path / "again"),
        ],
    )
    assert again.exit_code == 0 and len(renderer.calls) == 3  # a copy, not a rendering
    audit = Database(mirror).execute("SELECT command, detail FROM audit_log").fetchall()
    assert audit[-1] == ("report", "D7 format=pdf files=3 reused class=5а")
    cache = RenderCache.for_mirror(mirror)
    for _ in range(2):
        cache.render(Database(mirror), "D1", tmp_path / "d1", fmt="pdf")
    assert [c[0] for c in renderer.calls[-2:]] == ["D1", "D1"]
    renderer.calls.clear()
    create(make_config(tmp_path), YEAR)
    assert not [c for c in renderer.calls if c[0] in ("D7", "journal")]
