"""The `sync`, `status` and `demo` commands against the simulator on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import re
from unittest.mock import patch

import pypdf
import pytest
from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.demo import STEPS
from asurso_sync.mirror.db import open_mirror
from asurso_sync.simulator import make_app, serve


@pytest.fixture(scope="module")
def portal(small_school):
    app = make_app(small_school, as_of=dt.date(2026, 5, 20), latency_ms=0)
    server = serve(app, host="127.0.0.1", port=0)
    yield app, server
    server.shutdown()


def write_config(tmp_path, server, account, **portal) -> str:
    extra = "".join(f'{k} = "{v}"\n' for k, v in portal.items())
    path = tmp_path / "asurso-sync.toml"
    path.write_text(
        f'[portal]\nbase_url = "{server.url}"\nschool_id = {account["school_id"]}\n{extra}'
        '[mirror]\npath = "asurso.db"\n',
        encoding="utf-8",
    )
    return str(path)


def invoke(args, account, **env):
    runner = CliRunner()
    return runner.invoke(
        cli,
        args,
        env={"ASURSO_LOGIN": account["login"], "ASURSO_PASSWORD": account["password"], **env},
    )


def pupils(app) -> list[str]:
    import httpx
    from test_sync_simulator import raw_login

    client = raw_login(app)
    names = []
    for cls in client.get("/webapi/classes").json():
        names += [
            s["fullName"]
            for s in client.get("/webapi/grade/studentList", params={"classId": cls["id"]}).json()
        ]
    assert isinstance(client, httpx.Client) and names
    return names


def test_sync_logs_counts_never_secrets_or_names_even_with_vv(portal, tmp_path):
    app, server = portal
    account = next(a for a in app.accounts if a["role"] == "admin")
    config = write_config(tmp_path, server, account)
    result = invoke(["--config", config, "-vv", "sync", "--since", "2026-04-01"], account)
    assert result.exit_code == 0, result.output
    assert re.match(r"sync ok: run 1 \(since\): \d+ journals, \d+ requests", result.stdout)
    log = result.stderr
    assert "HTTP Request: GET" in log  # -vv really shows httpx's lines
    assert "discovered 3 classes" in log
    assert account["password"] not in log
    assert "ESRNSec=" not in log and "NSSESSIONID=" not in log
    assert not re.search(r"\d{20,}", log)  # the simulator's `at` tokens are 26 digits
    for name in pupils(app):
        assert name not in log and name.split()[0] not in log
    db = open_mirror(tmp_path / "asurso.db")
    assert db["sync_runs"].get(1)["status"] == "ok"
    assert oct((tmp_path / "asurso.db").stat().st_mode & 0o777) == "0o600"


def test_full_sync_over_127_0_0_1_mirrors_every_row_served(portal, tmp_path):
    """The same row-for-row comparison as the in-process test, through a real socket."""
    from test_sync_simulator import mirrored, served

    app, server = portal
    account = next(a for a in app.accounts if a["role"] == "admin")
    config = write_config(tmp_path, server, account)
    result = invoke(["--config", config, "-q", "sync", "--full"], account)
    assert result.exit_code == 0, result.output
    expected = served(app)
    got = mirrored(open_mirror(tmp_path / "asurso.db"))
    for table in expected:
        assert got[table] == expected[table], table
    assert len(expected["marks"]) > 5000


def test_wrong_password_exits_4_with_the_portals_words(portal, tmp_path):
    app, server = portal
    account = next(a for a in app.accounts if a["role"] == "admin")
    config = write_config(tmp_path, server, account)
    result = invoke(["--config", config, "sync"], {**account, "password": "неверный"})
    assert result.exit_code == 4
    assert result.stderr == "Error: Неправильный пароль или имя пользователя\n"
    db = open_mirror(tmp_path / "asurso.db")
    assert list(db.query("SELECT status, error FROM sync_runs")) == [
        {"status": "failed", "error": "Неправильный пароль или имя пользователя"}
    ]


def test_multirole_account_with_an_unknown_role_is_refused_listing_roles(portal, tmp_path):
    app, server = portal
    account = next(a for a in app.accounts if a["role"] == "multirole")
    config = write_config(tmp_path, server, account, role="Администратор")
    result = invoke(["--config", config, "sync", "--since", "2026-05-01"], account)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: [portal] role = 'Администратор' is not one of this "
        "account's roles: Учитель, Родитель\n"
    )


def test_multirole_account_with_parent_role_configured_syncs_the_diary(portal, tmp_path):
    app, server = portal
    account = next(a for a in app.accounts if a["role"] == "multirole")
    config = write_config(tmp_path, server, account, role="Родитель")
    result = invoke(["--config", config, "sync", "--since", "2026-05-01"], account)
    assert result.exit_code == 0, result.output
    db = open_mirror(tmp_path / "asurso.db")
    assert db["sync_runs"].get(1)["account_role"] == "Родитель"
    assert db["students"].count == 1 and db["subject_groups"].count == 0


def test_status_text_and_json(small_mirror, tmp_path):
    config = tmp_path / "asurso-sync.toml"
    config.write_text(f'[mirror]\npath = "{small_mirror}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    db = open_mirror(small_mirror)
    assert data["tables"]["marks"] == {
        "rows": db.execute("SELECT count(*) FROM marks WHERE deleted_at IS NULL").fetchone()[0],
        "deleted": 0,
    }
    assert [r["status"] for r in data["runs"]] == ["ok"]
    assert data["health"]["last_ok_run"] == 1
    text = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert text.exit_code == 0
    assert "run 1: ok full" in text.stdout
    assert f"marks: {data['tables']['marks']['rows']} / 0" in text.stdout


def test_status_without_a_mirror_says_so(tmp_path):
    config = tmp_path / "asurso-sync.toml"
    config.write_text('[mirror]\npath = "none.db"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no mirror at {tmp_path / 'none.db'}: run `asurso-sync sync` first\n"
    )


def test_demo_small_serves_syncs_and_summarises(tmp_path):
    out = tmp_path / "demo"
    steps = [s for s in STEPS if s[0] in ("simulate", "sync")]
    with patch("asurso_sync.demo.STEPS", steps):
        result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--size", "small"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "simulator: small-size school (seed 1) as of 2026-06-30 at http://127.0.0.1:"
    )
    assert lines[1].startswith(f"mirror: {out / 'asurso.db'} — ")
    db = open_mirror(out / "asurso.db")
    assert db["sync_runs"].get(1)["status"] == "ok"
    assert db["classes"].count == 3
    assert oct(out.stat().st_mode & 0o777) == "0o700"


def test_demo_checks_renders_and_archives_the_year(tmp_path):
    """The whole job: sync, check, the six documents as PDF/A (class 5а's copies: the whole
    school's PDFs are bench/bench_demo.py's work) and two sealed bags the validator accepts."""
    import bagit

    out = tmp_path / "demo"
    args = ["-q", "demo", "--out", str(out), "--size", "small", "--classes", "5а"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2].startswith("check: ") and " findings of 25 rules as of 2026-06-30 " in lines[2]
    assert lines[3] == (
        f"reports: {out / 'reports'} — D1, D2, D5, D6, D7, D8 for 5а as PDF ("
        + lines[3].split("(")[1]
    )
    folders = sorted(p.name for p in (out / "reports").iterdir())
    assert folders == [
        "D1_remarks",
        "D2_filling",
        "D5_class-progress",
        "D6_attendance",
        "D7_journal",
        "D8_summary-sheet",
    ]
    for folder in folders:
        pdfs = list((out / "reports" / folder).glob("*.pdf"))
        assert pdfs and all(_is_pdf_a(p) for p in pdfs), folder
    assert [p.name for p in (out / "reports" / "D7_journal").glob("*.pdf")] == [
        "D7_journal_2025-2026_5а.pdf"
    ]
    bags = sorted(p.name for p in (out / "archive_store").iterdir() if p.name.startswith("ej-"))
    assert bags == ["ej-107-2025-2026-journal-v1", "ej-107-2025-2026-summary-v1"]
    assert lines[4].startswith(
        f"archive: {out / 'archive_store' / bags[0]} — may be destroyed from 01.01.2032"
    )
    assert lines[5].startswith(
        f"archive: {out / 'archive_store' / bags[1]} — may be destroyed from 01.01.2052"
    )
    for bag in bags:
        bagit.Bag(str(out / "archive_store" / bag)).validate()
    # the bag holds every class's journal, the sampled one reused from the reports step
    prints = out / "archive_store" / bags[0] / "data" / "print"
    assert sorted(p.name for p in prints.iterdir()) == ["5a", "5b", "5v"]
    db = open_mirror(out / "asurso.db")
    assert db["check_runs"].count == 1
    assert db["violations"].count > 0


def _is_pdf_a(path):
    """PDF/A-3u: the claim in the XMP metadata (pdfaid part 3, conformance U)."""
    root = pypdf.PdfReader(path).trailer["/Root"]
    meta = root["/Metadata"].get_object().get_data().decode("utf-8")
    return 'pdfaid:part="3"' in meta and 'pdfaid:conformance="U"' in meta
