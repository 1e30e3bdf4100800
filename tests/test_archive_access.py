"""The secretary's copies: get (out, verified), copy (to media, logged), list, D10, status."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from archive_fixture import make_config, snapshot, write_config
from click.testing import CliRunner

from asurso_sync.archive import (
    REGISTER_COLUMNS,
    ArchiveError,
    copy,
    get,
    register_head,
    register_rows,
    restore_test,
    status_section,
    verify,
)
from asurso_sync.archive.register import events, open_register
from asurso_sync.cli import cli

JOURNAL = "ej-1234-2025-2026-journal-v1"
SUMMARY = "ej-1234-2025-2026-summary-v1"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_get_one_class_copies_its_documents_verified(store_copy, tmp_path):
    store = store_copy["store"]
    before = snapshot(store / SUMMARY)
    out = tmp_path / "out"
    files = get(store_copy["config"], SUMMARY, out, class_name="5а")
    assert files == [
        out / "5a" / name
        for name in (
            "class-progress.pdf",
            "class-progress.stroki.csv",
            "summary-sheet.pdf",
            "summary-sheet.stroki.csv",
        )
    ]
    for f in files:
        assert _sha(f) == _sha(store / SUMMARY / "data/print/5a" / f.name)
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == ["5a"]
    assert snapshot(store / SUMMARY) == before
    with pytest.raises(ArchiveError, match="holds no documents of class 7в"):
        get(store_copy["config"], SUMMARY, out, class_name="7в")


def test_get_whole_bag_gives_a_valid_bag(store_copy, tmp_path):
    import bagit

    files = get(store_copy["config"], JOURNAL, tmp_path / "out")
    assert bagit.Bag(str(tmp_path / "out" / JOURNAL)).is_valid()
    assert len(files) == sum(1 for p in (store_copy["store"] / JOURNAL).rglob("*") if p.is_file())


def test_get_refuses_a_damaged_bag(store_copy, tmp_path):
    target = store_copy["store"] / SUMMARY / "data/print/5b/summary-sheet.pdf"
    os.chmod(target, 0o640)
    target.write_bytes(b"%PDF-1.4 tampered")
    with pytest.raises(
        ArchiveError,
        match="failed its check, nothing copied: changed: data/print/5b/summary-sheet.pdf",
    ):
        get(store_copy["config"], SUMMARY, tmp_path / "out", class_name="5б")
    assert not (tmp_path / "out").exists()


def test_copy_to_media_keeps_modes_verifies_and_logs(store_copy, tmp_path):
    medium = tmp_path / "usb"
    medium.mkdir()
    path = write_config(store_copy["tmp"])
    result = CliRunner().invoke(
        cli, ["--config", str(path), "archive", "copy", SUMMARY, "--to", str(medium)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"copied and verified {SUMMARY}: 16 files, ")
    assert snapshot(medium / SUMMARY).keys() == snapshot(store_copy["store"] / SUMMARY).keys()
    assert stat.S_IMODE((medium / SUMMARY).stat().st_mode) == 0o550
    assert stat.S_IMODE((medium / SUMMARY / "bag-info.txt").stat().st_mode) == 0o440
    last = events(open_register(store_copy["store"]))[-1]
    assert (last["event"], last["bag"], last["location"], last["result"]) == (
        "copy",
        SUMMARY,
        str(medium),
        "ok",
    )
    os.chmod(medium / SUMMARY / "data/print/5a", 0o750)
    (medium / SUMMARY / "data/print/5a/stray.txt").write_text("x")
    audit = CliRunner().invoke(
        cli, ["--config", str(path), "archive", "verify", "--at", str(medium), "--full"]
    )
    assert audit.exit_code == 1
    assert audit.stdout == (
        f"FAILED\t{SUMMARY}\n  unexpected: data/print/5a/stray.txt (listed in no manifest)\n"
        f"register: hash chain intact, head {register_head(store_copy['config'])}\n"
    )
    last = events(open_register(store_copy["store"]))[-1]
    assert (last["event"], last["location"], last["result"]) == (
        "fixity_full",
        str(medium),
        "failed",
    )
    again = CliRunner().invoke(
        cli, ["--config", str(path), "archive", "copy", SUMMARY, "--to", str(medium)]
    )
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_copy_without_a_medium_is_a_clear_error(store_copy, tmp_path):
    with pytest.raises(ArchiveError, match="--to PATH or set \\[archive\\] safe_path"):
        copy(store_copy["config"], SUMMARY)
    with pytest.raises(ArchiveError, match="is not a folder"):
        copy(store_copy["config"], SUMMARY, tmp_path / "not-mounted")


def test_restore_drill_validates_and_logs(store_copy):
    assert restore_test(store_copy["config"], JOURNAL) == []
    last = events(open_register(store_copy["store"]))[-1]
    assert (last["event"], last["bag"], last["result"]) == ("restore_test", JOURNAL, "ok")


def test_register_rows_for_d10_come_from_the_register_with_local_dates(store_copy):
    rows = register_rows(store_copy["config"])
    digest = {
        b: hashlib.sha512(
            (store_copy["store"] / b / "tagmanifest-sha512.txt").read_bytes()
        ).hexdigest()
        for b in (JOURNAL, SUMMARY)
    }
    assert [list(r) for r in rows[:1]] == [[k for k, _ in REGISTER_COLUMNS]]
    ingest = events(open_register(store_copy["store"]))[0]
    ingest_at = (
        datetime.fromisoformat(ingest["at"]).astimezone(ZoneInfo("Europe/Samara"))
    ).strftime("%d.%m.%Y %H:%M")
    assert rows[0] == {
        "number": 1,
        "class_name": "5а",
        "year": "2025/2026",
        "kind": "Электронный журнал (печатная форма)",
        "sheets": "",
        "transferred_on": ingest_at,
        "transferred_by": ingest["os_user"],
        "location": "электронное хранилище asurso-sync",
        "retention": "5 лет, ст. 000 (проверить)",
        "destroy_from": "01.01.2032",
        "act_number": "",
        "digest": digest[JOURNAL],
        "bag": JOURNAL,
    }
    assert [(r["number"], r["class_name"], r["kind"], r["bag"]) for r in rows] == [
        (1, "5а", "Электронный журнал (печатная форма)", JOURNAL),
        (2, "5б", "Электронный журнал (печатная форма)", JOURNAL),
        (3, "10Б", "Электронный журнал (печатная форма)", JOURNAL),
        (4, "5а", "Сводный отчёт об успеваемости класса", SUMMARY),
        (5, "5а", "Сводная ведомость учёта успеваемости", SUMMARY),
        (6, "5б", "Сводный отчёт об успеваемости класса", SUMMARY),
        (7, "5б", "Сводная ведомость учёта успеваемости", SUMMARY),
        (8, "10Б", "Сводный отчёт об успеваемости класса", SUMMARY),
        (9, "10Б", "Сводная ведомость учёта успеваемости", SUMMARY),
    ]
    assert {r["digest"] for r in rows[3:]} == {digest[SUMMARY]}
    assert {r["retention"] for r in rows[3:]} == {"25 лет, ст. 000 (проверить)"}


def test_d10_names_the_keeper_and_the_place_from_the_config(store_copy):
    config = make_config(
        store_copy["tmp"], keeper="Секретарь Петрова А. А.", place="Сейф директора, каб. 3"
    )
    rows = register_rows(config)
    assert {(r["transferred_by"], r["location"]) for r in rows} == {
        ("Секретарь Петрова А. А.", "Сейф директора, каб. 3")
    }


def test_status_section_reports_last_fixity_per_bag(store_copy):
    config = store_copy["config"]
    target = store_copy["store"] / SUMMARY / "data/print/5b/summary-sheet.pdf"
    os.chmod(target, 0o640)
    target.write_bytes(b"%PDF-1.4 tampered!!")
    verify(config, SUMMARY)
    section = status_section(config, today=date(2032, 6, 1))
    assert section["store"] == str(store_copy["store"])
    assert [
        (b["bag"], b["last_check"], b["last_result"], b["retain_until"]) for b in section["bags"]
    ] == [
        (JOURNAL, "ingest", "ok", "2032-01-01"),
        (SUMMARY, "fixity_fast", "failed", "2052-01-01"),
    ]
    assert section["problems"] == 1
    assert section["due"] == [JOURNAL]
    assert section["full_checks_overdue"] == [JOURNAL, SUMMARY]
    assert status_section(config, today=date.today())["full_checks_overdue"] == []


def test_cli_list_has_a_header_and_one_line_per_bag_and_place(store_copy):
    path = write_config(store_copy["tmp"])
    result = CliRunner().invoke(cli, ["--config", str(path), "archive", "list"])
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines[0] == ["bag", "year", "retention", "keep until", "location", "last check"]
    assert [line[:5] for line in lines[1:]] == [
        [JOURNAL, "2025/2026", "journal-5y", "01.01.2032", "store"],
        [SUMMARY, "2025/2026", "summary-25y", "01.01.2052", "store"],
    ]
    assert all(line[5].startswith("OK ") for line in lines[1:])
