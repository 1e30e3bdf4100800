"""Retention dates, due bags, the draft destruction act and destruction by act only."""

from __future__ import annotations

import hashlib
import stat
from datetime import date

import pytest
from archive_fixture import write_config
from click.testing import CliRunner
from pypdf import PdfReader

from asurso_sync.archive import (
    ArchiveError,
    approve_act,
    bag_name,
    destroy,
    destruction_act,
    due,
    parse_bag_name,
    parse_year,
    register_head,
    retain_until,
    transliterate,
)
from asurso_sync.archive.register import events, open_register
from asurso_sync.cli import cli

JOURNAL = "ej-1234-2025-2026-journal-v1"
SUMMARY = "ej-1234-2025-2026-summary-v1"


@pytest.mark.parametrize(
    "year, kind, expected",
    [
        ("2023/2024", "journal", date(2030, 1, 1)),
        ("2023/2024", "summary", date(2050, 1, 1)),
        ("2025/2026", "journal", date(2032, 1, 1)),
        ("2025-2026", "summary", date(2052, 1, 1)),
    ],
)
def test_retention_counts_from_first_january_after_the_year_closes(year, kind, expected):
    assert retain_until(parse_year(year), kind) == expected


def test_retention_terms_come_from_config():
    assert retain_until(parse_year("2023/2024"), "journal", journal_years=3) == date(2028, 1, 1)


@pytest.mark.parametrize("text", ["2025", "2025/2027", "25/26", ""])
def test_bad_years_are_refused(text):
    with pytest.raises(ArchiveError, match="must look like 2025/2026"):
        parse_year(text)


def test_names_are_ascii_and_round_trip():
    assert [transliterate(n) for n in ("5а", "10Б", "11 «Ж»", "9ё")] == ["5a", "10B", "11-Zh", "9e"]
    name = bag_name(1234, parse_year("2025/2026"), "summary", 3)
    assert name == "ej-1234-2025-2026-summary-v3"
    parsed = parse_bag_name(name)
    assert (parsed.school_id, parsed.year.label, parsed.kind, parsed.version) == (
        1234,
        "2025/2026",
        "summary",
        3,
    )
    assert parse_bag_name("ej-1234-2025-2027-summary-v1") is None
    assert parse_bag_name(".staging") is None


def test_due_lists_bags_whose_term_has_ended(store_copy):
    config = store_copy["config"]
    assert due(config, date(2031, 12, 31)) == []
    assert [b.name for b in due(config, date(2032, 1, 1))] == [JOURNAL]
    assert [b.name for b in due(config, date(2052, 1, 1))] == [JOURNAL, SUMMARY]


def test_destruction_act_is_a_draft_with_the_federal_columns(store_copy):
    act = destruction_act(store_copy["config"], on=date(2032, 1, 10))
    assert (act["number"], act["bags"]) == ("1", [JOURNAL])
    html = act["html"].read_text("utf-8")
    for text in (
        "ПРОЕКТ",
        "АКТ № 1",
        "УТВЕРЖДАЮ",
        "№ п/п",
        "Заголовок дела или групповой заголовок дел",
        "Дата дела или крайние даты дел",
        "Номера описей (номенклатур) за годы",
        "Индекс дела (тома, части) по номенклатуре или № дела по описи",
        "Количество дел (томов, частей)",
        "Сроки хранения дела и номера статей по перечню",
        "Примечание",
        "Итого 1 дел(а) за 2025–2026 годы",
        JOURNAL,
        "5 лет, ст. 000 (проверить)",
        "от 10.01.2032",
        "ГБОУ ООШ №39 г. Сызрани",
    ):
        assert text in html, text
    digest = hashlib.sha512(
        (store_copy["store"] / JOURNAL / "tagmanifest-sha512.txt").read_bytes()
    ).hexdigest()
    assert digest in html
    assert SUMMARY not in html
    assert act["pdf"].read_bytes()[:5] == b"%PDF-"
    # rendered like every other document: PDF/A, and it prints the register's chain head
    reader = PdfReader(str(act["pdf"]))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert act["chain_head"] in text
    assert act["chain_head"] == register_head(store_copy["config"])
    assert stat.S_IMODE(act["html"].stat().st_mode) == 0o600
    with pytest.raises(ArchiveError, match="act № 1 already exists"):
        destruction_act(store_copy["config"], on=date(2032, 1, 10), number="1")
    with pytest.raises(ArchiveError, match="no bag is due"):
        destruction_act(store_copy["config"], on=date(2031, 1, 10))


def test_destroy_refuses_a_bag_not_due_or_not_in_the_act_or_a_draft(store_copy):
    config = store_copy["config"]
    destruction_act(config, on=date(2032, 1, 10), number="7")
    with pytest.raises(ArchiveError, match="no destruction act № 8"):
        destroy(config, JOURNAL, "8", today=date(2032, 2, 1))
    with pytest.raises(ArchiveError, match=f"act № 7 does not list {SUMMARY}"):
        destroy(config, SUMMARY, "7", today=date(2052, 2, 1))
    with pytest.raises(ArchiveError, match="act № 7 is a draft: approve it first"):
        destroy(config, JOURNAL, "7", today=date(2032, 2, 1))
    approve_act(config, "7", "Директор Сидоров С. С.")
    with pytest.raises(ArchiveError, match="must be kept until 01.01.2032"):
        destroy(config, JOURNAL, "7", today=date(2031, 12, 31))
    assert (store_copy["store"] / JOURNAL).is_dir()
    conn = open_register(store_copy["store"])
    assert [(e["event"], e["bag"], e["details"].get("act")) for e in events(conn)] == [
        ("ingest", JOURNAL, None),
        ("ingest", SUMMARY, None),
        ("act_draft", JOURNAL, "7"),
        ("act_approve", JOURNAL, "7"),
    ]
    with pytest.raises(ArchiveError, match="act № 7 was approved by Директор Сидоров С. С."):
        approve_act(config, "7", "Кто-то ещё")


def test_destroy_removes_the_bag_and_logs_digest_and_act(store_copy):
    config = store_copy["config"]
    digest = hashlib.sha512(
        (store_copy["store"] / JOURNAL / "tagmanifest-sha512.txt").read_bytes()
    ).hexdigest()
    destruction_act(config, on=date(2032, 1, 10), number="3/2032")
    path = write_config(store_copy["tmp"])
    approve = CliRunner().invoke(
        cli,
        ["--config", str(path), "archive", "destruction-act", "--approve", "3/2032", "--by", "ЭК"],
    )
    assert approve.exit_code == 0, approve.output
    assert approve.stdout == "act № 3/2032 approved by ЭК: 1 bag(s) may now be destroyed\n"
    result = CliRunner().invoke(
        cli, ["--config", str(path), "archive", "destroy", JOURNAL, "--act", "3/2032", "--yes"]
    )
    # the CLI uses today's date: the bag is due only from 2032
    assert result.exit_code == 1
    assert "must be kept until 01.01.2032" in result.stderr
    done = destroy(config, JOURNAL, "3/2032", today=date(2032, 1, 11))
    assert done == {
        "bag": JOURNAL,
        "act": "3/2032",
        "tagmanifest_sha512": digest,
        "ingest_tagmanifest_sha512": digest,
        "retain_until": "2032-01-01",
    }
    assert not (store_copy["store"] / JOURNAL).exists()
    assert (store_copy["store"] / SUMMARY).is_dir()
    conn = open_register(store_copy["store"])
    checked, last = events(conn)[-2:]
    assert (checked["event"], checked["bag"], checked["result"], checked["details"]["for"]) == (
        "fixity_full",
        JOURNAL,
        "ok",
        "destroy",
    )
    assert (last["event"], last["bag"], last["result"], last["details"]) == (
        "destroy",
        JOURNAL,
        "ok",
        {
            "act": "3/2032",
            "tagmanifest_sha512": digest,
            "ingest_tagmanifest_sha512": digest,
            "retain_until": "2032-01-01",
        },
    )
    # a destroyed bag is not reported missing by verify
    verify = CliRunner().invoke(cli, ["--config", str(path), "archive", "verify"])
    assert verify.exit_code == 0
    assert verify.stdout.splitlines()[0] == f"OK (fast: sizes and manifests)\t{SUMMARY}"
    named = CliRunner().invoke(cli, ["--config", str(path), "archive", "verify", JOURNAL])
    assert named.exit_code == 1
    assert f"{JOURNAL} was destroyed on " in named.stderr
    assert "under act № 3/2032" in named.stderr


def test_cli_due_and_act(store_copy):
    path = write_config(store_copy["tmp"])
    result = CliRunner().invoke(
        cli, ["--config", str(path), "archive", "due", "--on", "2052-01-01"]
    )
    assert result.exit_code == 0
    assert result.stdout == (
        f"{JOURNAL}\tjournal-5y\tkeep until 01.01.2032\n"
        f"{SUMMARY}\tsummary-25y\tkeep until 01.01.2052\n"
    )
    out = store_copy["tmp"] / "acts"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(path),
            "archive",
            "destruction-act",
            "--on",
            "2052-01-02",
            "--number",
            "12",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    head = register_head(store_copy["config"])
    assert result.stdout.splitlines() == [
        "DRAFT act № 12: 2 bag(s)",
        f"register chain head: {head}",
        str(out / "destruction-act-12.html"),
        str(out / "destruction-act-12.pdf"),
        "after it is signed: asurso-sync archive destruction-act --approve 12 --by NAME",
    ]
    assert head in (out / "destruction-act-12.html").read_text("utf-8")
    bad = CliRunner().invoke(cli, ["--config", str(path), "archive", "due", "--on", "tomorrow"])
    assert bad.exit_code == 2


def test_nothing_due_names_the_first_date_and_exits_0(store_copy):
    path = write_config(store_copy["tmp"])
    for command in (["due"], ["destruction-act"]):
        result = CliRunner().invoke(
            cli, ["--config", str(path), "archive", *command, "--on", "2031-12-31"]
        )
        assert (result.exit_code, result.stdout) == (0, "no bag is due before 01.01.2032\n")
    conn = open_register(store_copy["store"])
    assert conn.execute("SELECT count(*) FROM acts").fetchone()[0] == 0
