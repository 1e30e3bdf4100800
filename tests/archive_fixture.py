"""Shared helpers of the archive tests (no tests here): a tiny mirror and a fake renderer.

The fake renderer writes small PDF-named files whose bytes say which document they stand
for, so a test can check that every class got every document in the right place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from asurso_sync.archive import create
from asurso_sync.config import parse_config
from asurso_sync.mirror.db import open_mirror

SCHOOL_ID = 1234
YEAR = "2025/2026"
CLASSES = [(101, "5а"), (102, "5б"), (103, "10Б")]


def make_mirror(path: Path) -> Path:
    """A mirror with one school year of three classes, two pupils each, and three sync runs
    (the last after the year's end, so the year may be sealed)."""
    db = open_mirror(path)
    db["schools"].insert(
        {"id": SCHOOL_ID, "name": "ГБОУ ООШ №39", "full_name": "ГБОУ ООШ №39 г. Сызрани"}
    )
    db["years"].insert_all(
        [
            {"id": 1, "name": "2024/2025", "start_date": "2024-09-01", "end_date": "2025-05-31"},
            {"id": 2, "name": YEAR, "start_date": "2025-09-01", "end_date": "2026-05-31"},
        ]
    )
    db["terms"].insert_all(
        [
            {
                "id": 21,
                "year_id": 2,
                "name": "1 полугодие",
                "start_date": "2025-09-01",
                "end_date": "2025-12-28",
            },
            {
                "id": 22,
                "year_id": 2,
                "name": "2 полугодие",
                "start_date": "2026-01-12",
                "end_date": "2026-05-31",
            },
        ]
    )
    db["classes"].insert_all({"id": cid, "year_id": 2, "name": name} for cid, name in CLASSES)
    db["classes"].insert({"id": 90, "year_id": 1, "name": "4а"})
    db["students"].insert_all(
        {"id": cid * 10 + i, "class_id": cid, "full_name": f"Ученик {cid}-{i}"}
        for cid, _ in CLASSES
        for i in (1, 2)
    )
    db["sync_runs"].insert_all(
        [
            {
                "id": 1,
                "started_at": "2025-09-02T21:00:00+00:00",
                "status": "ok",
                "mode": "full",
                "counts": '{"marks": 10}',
            },
            {
                "id": 2,
                "started_at": "2025-09-03T21:00:00+00:00",
                "status": "ok",
                "mode": "incremental",
                "counts": '{"marks": 12}',
            },
            {
                "id": 3,
                "started_at": "2026-06-10T21:00:00+00:00",
                "finished_at": "2026-06-10T21:05:00+00:00",
                "status": "ok",
                "mode": "full",
                "counts": '{"marks": 14}',
            },
        ]
    )
    db.conn.close()
    return path


class FakeRenderer:
    """Stands in for `asurso_sync.documents.render`: writes the HTML, a CSV twin and the PDF
    of one document, like the real one, and remembers each call; with `by_class` and no
    class, one document per class of the year, reported per class."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, int | None]] = []

    def __call__(
        self, db, kind, out_dir, *, fmt="pdf", class_name=None, term=None, by_class=None, **kwargs
    ):
        if by_class is not None and class_name is None:  # every class in one call
            for _id, name in CLASSES:
                by_class[name] = self(db, kind, out_dir, fmt=fmt, class_name=name, **kwargs)
            return [p for paths in by_class.values() for p in paths]
        assert fmt == "pdf"
        assert db.execute("SELECT count(*) FROM classes").fetchone()[0] == 4
        self.calls.append((kind, class_name, term))
        slug = f"{kind}-{class_name or 'all'}" + (f"-{term}" if term else "")
        out = Path(out_dir)
        text = f"fake {kind} {class_name} {term}\n"
        (out / f"{slug}.html").write_text(f"<p>{text}</p>", encoding="utf-8")
        (out / f"{slug}.строки.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        (out / f"{slug}.pdf").write_bytes(b"%PDF-1.4 " + text.encode())
        return [out / f"{slug}.html", out / f"{slug}.строки.csv", out / f"{slug}.pdf"]


def make_config(tmp: Path, **archive) -> object:
    archive = {"path": str(tmp / "store"), "retention_article": "ст. 000 (проверить)", **archive}
    return parse_config(
        {"mirror": {"path": str(tmp / "mirror.db")}, "archive": archive}, tmp / "asurso-sync.toml"
    )


def write_config(tmp: Path, **archive) -> Path:
    lines = [
        "[mirror]",
        f'path = "{tmp / "mirror.db"}"',
        "[archive]",
        f'path = "{tmp / "store"}"',
        'retention_article = "ст. 000 (проверить)"',
    ]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in archive.items()]
    path = tmp / "asurso-sync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, mtime_ns and mode of every file and folder under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath, name)
            st = p.stat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
            out[p.relative_to(root).as_posix()] = (digest, st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture(scope="session")
def archived(tmp_path_factory):
    """A store with the year's two bags, made once; copy it before changing anything."""
    tmp = tmp_path_factory.mktemp("archived")
    make_mirror(tmp / "mirror.db")
    config = make_config(tmp)
    renderer = FakeRenderer()
    bags = create(config, YEAR, renderer=renderer)
    return {"tmp": tmp, "config": config, "bags": bags, "renderer": renderer}


@pytest.fixture
def store_copy(archived, tmp_path):
    """A private copy of the archived store (same layout and modes) and its config."""
    shutil.copytree(archived["tmp"], tmp_path / "w", symlinks=True)
    tmp = tmp_path / "w"
    return {"tmp": tmp, "config": make_config(tmp), "store": tmp / "store"}
