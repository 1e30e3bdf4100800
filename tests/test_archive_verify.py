"""`archive verify` names exactly what is wrong, exits 1, and never touches the bag."""

from __future__ import annotations

import os
import sqlite3

import bagit
import pytest
from archive_fixture import snapshot, write_config
from click.testing import CliRunner

from asurso_sync.archive import register_head, verify, verify_bag
from asurso_sync.archive.layout import remove_tree
from asurso_sync.archive.register import events, open_register
from asurso_sync.cli import cli

JOURNAL = "ej-1234-2025-2026-journal-v1"
SUMMARY = "ej-1234-2025-2026-summary-v1"
FAST_OK = "OK (fast: sizes and manifests)"
FULL_OK = "OK (full: every file re-hashed)"


def _writable(path):
    os.chmod(path.parent, 0o750)
    if path.exists():
        os.chmod(path, 0o640)


def _flip_byte(path):
    _writable(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _run(store_copy, *args):
    path = write_config(store_copy["tmp"])
    return CliRunner().invoke(cli, ["--config", str(path), "archive", "verify", *args])


def _chain_line(store_copy):
    """The last line of every `archive verify` whose register is intact."""
    return f"register: hash chain intact, head {register_head(store_copy['config'])}\n"


def _problems(results):
    return {r.bag: [(p.kind, p.path) for p in r.problems] for r in results}


def test_intact_store_passes_fast_and_full(store_copy):
    for full in (False, True):
        results = verify(store_copy["config"], full=full)
        assert _problems(results) == {JOURNAL: [], SUMMARY: []}
    assert results[0].files > 0 and results[0].bytes_hashed > 0
    result = _run(store_copy, "--full")
    assert result.exit_code == 0
    assert result.stdout == f"{FULL_OK}\t{JOURNAL}\n{FULL_OK}\t{SUMMARY}\n" + _chain_line(
        store_copy
    )


@pytest.mark.parametrize("full", [False, True])
def test_changed_file_is_named_by_full_check_only(store_copy, full):
    bag = store_copy["store"] / JOURNAL
    _flip_byte(bag / "data/print/5b/journal.pdf")
    before = snapshot(bag)
    results = verify(store_copy["config"], JOURNAL, full=full)
    expected = [("changed", "data/print/5b/journal.pdf")] if full else []
    assert _problems(results) == {JOURNAL: expected}
    if full:
        assert str(results[0].problems[0]) == (
            "changed: data/print/5b/journal.pdf (sha512 and sha256 differ)"
        )
    assert snapshot(bag) == before


def test_cli_names_the_changed_file_and_exits_1_with_bag_untouched(store_copy):
    bag = store_copy["store"] / SUMMARY
    _flip_byte(bag / "data/print/10B/summary-sheet.pdf")
    before = snapshot(bag)
    result = _run(store_copy, SUMMARY, "--full")
    assert result.exit_code == 1
    assert result.stdout == (
        f"FAILED\t{SUMMARY}\n"
        "  changed: data/print/10B/summary-sheet.pdf (sha512 and sha256 "
        "differ)\n" + _chain_line(store_copy)
    )
    assert "1 check(s) failed (full)" in result.stderr
    assert snapshot(bag) == before


@pytest.mark.parametrize("full", [False, True])
def test_deleted_file_is_named(store_copy, full):
    bag = store_copy["store"] / JOURNAL
    target = bag / "data/export/classes.csv"
    _writable(target)
    target.unlink()
    before = snapshot(bag)
    results = verify(store_copy["config"], JOURNAL, full=full)
    assert _problems(results) == {JOURNAL: [("missing", "data/export/classes.csv")]}
    assert snapshot(bag) == before


@pytest.mark.parametrize("full", [False, True])
def test_added_file_is_named(store_copy, full):
    bag = store_copy["store"] / SUMMARY
    os.chmod(bag / "data/print/5a", 0o750)
    (bag / "data/print/5a/extra.pdf").write_bytes(b"%PDF-1.4 not sealed")
    before = snapshot(bag)
    results = verify(store_copy["config"], SUMMARY, full=full)
    assert _problems(results) == {SUMMARY: [("unexpected", "data/print/5a/extra.pdf")]}
    assert snapshot(bag) == before


@pytest.mark.parametrize("full", [False, True])
def test_edited_bag_info_is_named(store_copy, full):
    bag = store_copy["store"] / JOURNAL
    info = bag / "bag-info.txt"
    _writable(info)
    info.write_text(
        info.read_text("utf-8").replace("Retain-Until: 2032-01-01", "Retain-Until: 2027-01-01"),
        "utf-8",
    )
    before = snapshot(bag)
    results = verify(store_copy["config"], JOURNAL, full=full)
    assert _problems(results) == {JOURNAL: [("changed", "bag-info.txt")]}
    assert snapshot(bag) == before


def test_regenerated_manifests_are_caught_by_the_ingest_digest(store_copy):
    """bagit's save() rewrites the tag manifests: bagit then says valid, the register says no."""
    bag = store_copy["store"] / JOURNAL
    for p in [bag, *bag.rglob("*")]:
        os.chmod(p, 0o750 if p.is_dir() else 0o640)
    loaded = bagit.Bag(str(bag))
    loaded.info["Retain-Until"] = "2027-01-01"
    loaded.save()
    assert bagit.Bag(str(bag)).is_valid()
    results = verify(store_copy["config"], JOURNAL)
    assert _problems(results) == {JOURNAL: [("changed", "tagmanifest-sha512.txt")]}


def test_several_problems_are_all_named_sorted(store_copy):
    bag = store_copy["store"] / JOURNAL
    _flip_byte(bag / "data/print/5a/journal.pdf")
    target = bag / "data/provenance/sync-log.jsonl"
    _writable(target)
    target.unlink()
    (bag / "data/provenance/notes.txt").write_text("x")
    results = verify(store_copy["config"], JOURNAL, full=True)
    assert _problems(results) == {
        JOURNAL: [
            ("missing", "data/provenance/sync-log.jsonl"),
            ("unexpected", "data/provenance/notes.txt"),
            ("changed", "data/print/5a/journal.pdf"),
        ]
    }


def test_a_vanished_bag_is_reported_missing(store_copy):
    remove_tree(store_copy["store"] / SUMMARY)
    result = _run(store_copy)
    assert result.exit_code == 1
    assert result.stdout == (
        f"{FAST_OK}\t{JOURNAL}\nFAILED\t{SUMMARY}\n  missing: {SUMMARY} (the bag folder is gone)\n"
        + _chain_line(store_copy)
    )


def test_each_check_is_logged_in_the_register(store_copy):
    _flip_byte(store_copy["store"] / JOURNAL / "data/print/5a/journal.pdf")
    verify(store_copy["config"], full=True)
    verify(store_copy["config"], SUMMARY)
    conn = open_register(store_copy["store"])
    rows = [
        (e["event"], e["bag"], e["result"], e["details"].get("problems"))
        for e in events(conn)
        if e["event"] != "ingest"
    ]
    assert rows == [
        (
            "fixity_full",
            JOURNAL,
            "failed",
            ["changed: data/print/5a/journal.pdf (sha512 and sha256 differ)"],
        ),
        ("fixity_full", SUMMARY, "ok", []),
        ("fixity_fast", SUMMARY, "ok", []),
    ]


def test_payload_oxum_catches_a_size_change_in_fast_mode(store_copy):
    bag = store_copy["store"] / SUMMARY
    target = bag / "data/print/5a/summary-sheet.pdf"
    _writable(target)
    with open(target, "ab") as fh:
        fh.write(b"tail")
    result = verify_bag(bag)
    assert [(p.kind, p.path) for p in result.problems] == [("oxum", "data/")]
    full = verify_bag(bag, full=True)
    assert [(p.kind, p.path) for p in full.problems] == [
        ("changed", "data/print/5a/summary-sheet.pdf"),
        ("oxum", "data/"),
    ]


def test_unknown_bag_is_a_one_line_error(store_copy):
    result = _run(store_copy, "ej-1234-2025-2026-journal-v9")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no bag 'ej-1234-2025-2026-journal-v9'")
    sqlite3.connect(store_copy["store"] / "register.sqlite").close()
