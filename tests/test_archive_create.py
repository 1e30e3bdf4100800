"""`archive create`: two sealed, valid, read-only bags with exactly the promised payload."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time

import bagit
import pytest
from archive_fixture import YEAR, FakeRenderer, make_config, make_mirror, write_config
from click.testing import CliRunner

from asurso_sync.archive import ArchiveError, create, list_bags, open_register
from asurso_sync.archive.register import events
from asurso_sync.cli import cli
from asurso_sync.demo import demo_archive
from asurso_sync.mirror.db import open_mirror

JOURNAL = "ej-1234-2025-2026-journal-v1"
SUMMARY = "ej-1234-2025-2026-summary-v1"


def test_create_makes_two_bags_named_by_school_year_and_version(archived):
    assert [p.name for p in archived["bags"]] == [JOURNAL, SUMMARY]
    store = archived["tmp"] / "store"
    assert sorted(p.name for p in store.iterdir()) == sorted(
        [".lock", ".staging", "register.sqlite", JOURNAL, SUMMARY]
    )
    assert list((store / ".staging").iterdir()) == []


def test_bagits_own_validator_accepts_both_bags(archived):
    for path in archived["bags"]:
        bag = bagit.Bag(str(path))
        assert bag.validate() is True
        assert bag.version_info == (1, 0)
        assert sorted(bag.algorithms) == ["sha256", "sha512"]
        proc = subprocess.run(
            [sys.executable, "-m", "bagit", "--validate", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr


def test_journal_bag_payload_is_exactly_the_promised_files(archived):
    bag = archived["tmp"] / "store" / JOURNAL
    payload = sorted(
        p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()
    )
    mirror = sqlite3.connect(archived["tmp"] / "mirror.db")
    tables = sorted(
        r[0]
        for r in mirror.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    prints = [
        f"data/print/{c}/journal.{ext}"
        for c in ("5a", "5b", "10B")
        for ext in ("pdf", "stroki.csv")
    ]
    reports = [
        f"data/reports/{k}-term{t}.{ext}"
        for k in ("remarks", "filling", "attendance")
        for t in (1, 2)
        for ext in ("pdf", "stroki.csv")
    ]
    assert payload == sorted(
        prints
        + reports
        + [
            "data/db/mirror.sqlite",
            "data/export/schema.sql",
            "data/export/data-dictionary.csv",
            "data/provenance/sync-log.jsonl",
        ]
        + [f"data/export/{t}.csv" for t in tables]
    )
    assert (bag / "data/print/5a/journal.pdf").read_bytes() == (
        "%PDF-1.4 fake journal 5а None\n".encode()
    )
    assert (bag / "data/reports/filling-term2.pdf").read_bytes() == (
        b"%PDF-1.4 fake filling None 2\n"
    )
    tops = sorted(p.name for p in bag.iterdir())
    assert tops == [
        "bag-info.txt",
        "bagit.txt",
        "data",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    ]


def test_summary_bag_holds_d8_and_d5_per_class(archived):
    bag = archived["tmp"] / "store" / SUMMARY
    payload = sorted(
        p.relative_to(bag / "data").as_posix() for p in (bag / "data").rglob("*") if p.is_file()
    )
    assert payload == [
        f"print/{c}/{d}.{ext}"
        for c in ("10B", "5a", "5b")
        for d in ("class-progress", "summary-sheet")
        for ext in ("pdf", "stroki.csv")
    ]
    calls = archived["renderer"].calls
    assert sorted(calls, key=str) == sorted(
        [("journal", c, None) for c in ("5а", "5б", "10Б")]
        + [(k, None, t) for k in ("remarks", "filling", "attendance") for t in (1, 2)]
        + [(k, c, None) for c in ("5а", "5б", "10Б") for k in ("summary-sheet", "class-progress")],
        key=str,
    )


def test_bag_info_carries_identity_and_retention(archived):
    journal = bagit.Bag(str(archived["tmp"] / "store" / JOURNAL)).info
    summary = bagit.Bag(str(archived["tmp"] / "store" / SUMMARY)).info
    assert {
        k: journal[k]
        for k in (
            "Source-Organization",
            "External-Identifier",
            "School-Year",
            "Retention-Class",
            "Retain-Until",
            "Retention-Article",
            "Bag-Group-Identifier",
        )
    } == {
        "Source-Organization": "ГБОУ ООШ №39 г. Сызрани",
        "External-Identifier": JOURNAL,
        "School-Year": "2025/2026",
        "Retention-Class": "journal-5y",
        "Retain-Until": "2032-01-01",
        "Retention-Article": "ст. 000 (проверить)",
        "Bag-Group-Identifier": "ej-1234-2025-2026",
    }
    assert (summary["Retention-Class"], summary["Retain-Until"]) == ("summary-25y", "2052-01-01")
    assert "Supersedes" not in journal
    payload = [p for p in (archived["tmp"] / "store" / SUMMARY / "data").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in payload)
    assert summary["Payload-Oxum"] == f"{size}.{len(payload)}"


def test_sealed_bags_are_read_only(archived):
    for bag in archived["bags"]:
        assert stat.S_IMODE(bag.stat().st_mode) == 0o550
        for p in bag.rglob("*"):
            assert stat.S_IMODE(p.stat().st_mode) == (0o550 if p.is_dir() else 0o440), p
    register = archived["tmp"] / "store" / "register.sqlite"
    assert stat.S_IMODE(register.stat().st_mode) == 0o600


def test_database_copy_is_consistent_and_exports_match_it(archived):
    bag = archived["tmp"] / "store" / JOURNAL
    copy = sqlite3.connect(f"file:{bag / 'data/db/mirror.sqlite'}?mode=ro", uri=True)
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert copy.execute("SELECT id, name FROM classes ORDER BY id").fetchall() == [
        (90, "4а"),
        (101, "5а"),
        (102, "5б"),
        (103, "10Б"),
    ]
    rows = list(csv.reader(io.StringIO((bag / "data/export/classes.csv").read_text("utf-8"))))
    assert rows[0][:5] == ["id", "year_id", "name", "grade", "letter"]
    assert [r[:3] for r in rows[1:]] == [
        ["90", "1", "4а"],
        ["101", "2", "5а"],
        ["102", "2", "5б"],
        ["103", "2", "10Б"],
    ]
    schema = (bag / "data/export/schema.sql").read_text("utf-8")
    assert "CREATE TABLE [classes]" in schema or 'CREATE TABLE "classes"' in schema
    dictionary = list(
        csv.DictReader(io.StringIO((bag / "data/export/data-dictionary.csv").read_text("utf-8")))
    )
    assert {
        "table": "marks",
        "column": "assignment_id",
        "type": "INTEGER",
        "primary_key": "1",
        "references": "assignments.id",
        "description": "",
    } in dictionary
    log = [
        json.loads(line)
        for line in (bag / "data/provenance/sync-log.jsonl").read_text("utf-8").splitlines()
    ]
    assert [(r["id"], r["mode"], r["counts"]) for r in log] == [
        (1, "full", {"marks": 10}),
        (2, "incremental", {"marks": 12}),
        (3, "full", {"marks": 14}),
    ]


def test_ingest_is_logged_with_the_tagmanifest_digest(archived):
    store = archived["tmp"] / "store"
    conn = open_register(store)
    rows = events(conn)
    assert [(r["event"], r["bag"], r["result"], r["location"]) for r in rows] == [
        ("ingest", JOURNAL, "ok", str(store)),
        ("ingest", SUMMARY, "ok", str(store)),
    ]
    import hashlib

    digest = hashlib.sha512((store / JOURNAL / "tagmanifest-sha512.txt").read_bytes()).hexdigest()
    assert rows[0]["details"]["tagmanifest_sha512"] == digest
    assert rows[0]["os_user"]


def test_second_create_refuses_and_supersedes_makes_v2(store_copy):
    config = store_copy["config"]
    with pytest.raises(ArchiveError, match="already archived.*--supersedes"):
        create(config, YEAR, renderer=FakeRenderer())
    before = (store_copy["store"] / JOURNAL / "tagmanifest-sha512.txt").read_bytes()
    made = create(config, YEAR, supersedes=[JOURNAL], renderer=FakeRenderer())
    assert [p.name for p in made] == ["ej-1234-2025-2026-journal-v2"]
    info = bagit.Bag(str(made[0])).info
    assert info["Supersedes"] == JOURNAL
    assert (store_copy["store"] / JOURNAL / "tagmanifest-sha512.txt").read_bytes() == before
    listed = {b.name: b.superseded_by for b in list_bags(config)}
    assert listed == {
        JOURNAL: "ej-1234-2025-2026-journal-v2",
        SUMMARY: None,
        "ej-1234-2025-2026-journal-v2": None,
    }
    with pytest.raises(ArchiveError, match="not of 2024/2025"):
        create(config, "2024/2025", supersedes=[SUMMARY], renderer=FakeRenderer())


def test_create_refuses_a_bad_year_or_a_year_the_mirror_lacks(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    config = make_config(tmp_path)
    with pytest.raises(ArchiveError, match="must look like 2025/2026"):
        create(config, "2025", renderer=FakeRenderer())
    with pytest.raises(ArchiveError, match="no school year 2030/2031"):
        create(config, "2030/2031", renderer=FakeRenderer())
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.startswith("ej-")]


def test_a_failing_renderer_leaves_nothing_in_the_store(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    config = make_config(tmp_path)

    def broken(db, kind, out_dir, **kw):
        if kind == "summary-sheet":
            raise RuntimeError("boom")
        return FakeRenderer()(db, kind, out_dir, **kw)

    with pytest.raises(RuntimeError, match="boom"):
        create(config, YEAR, renderer=broken)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [
        ".lock",
        ".staging",
        "register.sqlite",
    ]
    made = create(config, YEAR, renderer=FakeRenderer())
    assert len(made) == 2
    assert list((tmp_path / "store" / ".staging").iterdir()) == []


_SLOW = """
import sys, time
from pathlib import Path
from asurso_sync.archive import create
from asurso_sync.config import parse_config
tmp = Path(sys.argv[1])
config = parse_config({"mirror": {"path": str(tmp / "mirror.db")},
                       "archive": {"path": str(tmp / "store")}})
def slow(db, kind, out_dir, *, fmt="pdf", class_name=None, **kwargs):
    out = Path(out_dir) / f"{kind}.pdf"
    out.write_bytes(b"%PDF-1.4 partial")
    (tmp / "started").write_text("1")
    time.sleep(120)
create(config, "2025/2026", renderer=slow)
"""


def test_create_killed_half_way_leaves_no_partial_bag(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    proc = subprocess.Popen([sys.executable, "-c", _SLOW, str(tmp_path)])
    try:
        for _ in range(600):
            if (tmp_path / "started").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert (tmp_path / "started").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    store = tmp_path / "store"
    assert [p.name for p in store.iterdir() if p.name.startswith("ej-")] == []
    assert list((store / ".staging").iterdir()) != []  # the debris is only in staging
    made = create(make_config(tmp_path), YEAR, renderer=FakeRenderer())
    assert [p.name for p in made] == [JOURNAL, SUMMARY]
    assert list((store / ".staging").iterdir()) == []
    assert all(bagit.Bag(str(p)).is_valid() for p in made)


def test_cli_create_uses_the_config_and_prints_the_bags(tmp_path, monkeypatch):
    make_mirror(tmp_path / "mirror.db")

    path = write_config(tmp_path)
    monkeypatch.setattr("asurso_sync.documents.cache.render", FakeRenderer())
    result = CliRunner().invoke(cli, ["--config", str(path), "archive", "create", "--year", YEAR])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        str(tmp_path / "store" / JOURNAL),
        str(tmp_path / "store" / SUMMARY),
    ]
    again = CliRunner().invoke(cli, ["--config", str(path), "archive", "create", "--year", YEAR])
    assert again.exit_code == 1
    assert "already archived" in again.stderr


def test_demo_archive_seals_the_mirrors_latest_year(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    made = demo_archive(tmp_path / "demo-store", tmp_path / "mirror.db", renderer=FakeRenderer())
    assert [p.name for p in made] == [JOURNAL, SUMMARY]
    assert all(p.parent == tmp_path / "demo-store" for p in made)
    db = open_mirror(tmp_path / "mirror.db")
    again = demo_archive(tmp_path / "other", db, "2025/2026", renderer=FakeRenderer())
    assert [p.name for p in again] == [JOURNAL, SUMMARY]
