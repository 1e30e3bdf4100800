"""`asurso-sync report`: files written, their names printed, user errors as one line."""

from __future__ import annotations

import logging
import os
import stat

from click.testing import CliRunner
from documents_fixture import build_documents_mirror

from asurso_sync.cli import cli
from asurso_sync.cli.progress import Progress


def setup(tmp_path, extra: str = "") -> str:
    build_documents_mirror(tmp_path / "m.db").close()
    config = tmp_path / "asurso-sync.toml"
    config.write_text(f'[mirror]\npath = "m.db"\n{extra}', encoding="utf-8")
    return str(config)


def test_report_writes_and_prints_the_files(tmp_path):
    config = setup(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["--config", config, "-q", "report", "class-progress", "--class", "5а", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        str(out / "D5_class_progress_2025-2026_5а.html"),
        str(out / "D5_class_progress_2025-2026_5а.pupils.csv"),
        str(out / "D5_class_progress_2025-2026_5а.pupils.xlsx"),
        str(out / "D5_class_progress_2025-2026_5а.footer.csv"),
        str(out / "D5_class_progress_2025-2026_5а.footer.xlsx"),
    ]


def test_report_period_options(tmp_path):
    config = setup(tmp_path, "[report]\nshow_illness = true\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["--config", config, "-q", "report", "D6", "--term", "1", "--class", "5А", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    html = (out / "D6_attendance_term1_5а.html").read_text(encoding="utf-8")
    assert "<th>по болезни</th>" in html  # [report] show_illness reached the document
    result = CliRunner().invoke(
        cli, ["--config", config, "-q", "report", "D3", "--week", "2025-W42", "-o", str(out)]
    )
    assert result.exit_code == 0
    assert str(out / "D3_activity_2025-W42.html") in result.output


def test_report_user_errors(tmp_path):
    config = setup(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", config, "report", "D9"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: D9 (the nurse's class list) is not made")
    result = runner.invoke(cli, ["--config", config, "report", "D2", "--month", "2025-13"])
    assert (result.exit_code, result.output) == (
        1,
        "Error: --month must look like 2025-10, not '2025-13'\n",
    )
    result = runner.invoke(cli, ["--config", config, "report", "D2", "--format", "docx"])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["--config", config, "report", "D11"])
    assert result.exit_code == 2  # an unknown kind is a usage error, as the README says
    assert "Invalid value for KIND: unknown document 'D11'; choose one of: D1 (remarks)" in (
        result.output
    )
    missing = tmp_path / "none.toml"
    missing.write_text('[mirror]\npath = "nothing.db"\n', encoding="utf-8")
    result = runner.invoke(cli, ["--config", str(missing), "report", "D5"])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_report_says_which_period_it_chose(tmp_path):
    config = setup(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    # The mirror's last sync was on 14.11.2025: October is the last complete month.
    result = runner.invoke(cli, ["--config", config, "report", "D2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "D2 for October 2025 (the last complete month)"
    assert str(out / "D2_filling_2025-10.html") in result.stdout.splitlines()
    result = runner.invoke(cli, ["--config", config, "report", "D3", "-o", str(out)])
    assert (
        result.stderr.splitlines()[0] == "D3 for the week 03.11–09.11.2025 (the last complete week)"
    )
    result = runner.invoke(
        cli, ["--config", config, "report", "D1", "--month", "2025-10", "-o", str(out)]
    )
    assert result.stderr.splitlines()[0] == "D1 for October 2025"


def test_a_period_outside_the_mirrored_year_is_an_error(tmp_path):
    config = setup(tmp_path)
    out = tmp_path / "out"
    for option in (["--month", "2024-10"], ["--week", "2026-W40"]):
        result = CliRunner().invoke(
            cli, ["--config", config, "report", "D1", *option, "-o", str(out)]
        )
        assert result.exit_code == 1
        assert result.output == (
            f"Error: no data for {option[1]}: the mirror holds 2025/2026 (01.09.2025–31.05.2026)\n"
        )
    assert not out.exists()  # nothing written, not even the folder


def test_many_documents_log_their_progress_and_quiet_silences_it(tmp_path):
    config = setup(tmp_path)
    args = ["--config", config, "report", "D4", "--term", "1", "-o", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "documents, about" in line]
    assert len(lines) == 1  # quick work: only the last line
    assert "D4 progress: 12 of 12 documents, about 0 s left" in lines[-1]
    quiet = CliRunner().invoke(cli, ["-q", *args])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_out_folder_modes(tmp_path):
    config = setup(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    new = shared / "a" / "b"
    args = ["--config", config, "-q", "report", "D5", "--class", "5а", "-o"]
    result = CliRunner().invoke(cli, [*args, str(new)])
    assert result.exit_code == 0, result.output
    # the folders it made are 0700; the shared one keeps its mode and sticky bit
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in new.iterdir()} == {0o600}
    result = CliRunner().invoke(cli, [*args, str(shared)])
    assert result.exit_code == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_progress_in_a_log_says_every_tenth_once_it_is_slow(caplog):
    ticks = iter(range(0, 1000, 2))  # each document takes 2 s
    progress = Progress("D4 progress", quiet=False, tty=False, clock=lambda: next(ticks))
    caplog.set_level(logging.INFO, logger="asurso_sync.cli.progress")
    for done in range(1, 21):
        progress(done, 20)
    assert [r.getMessage() for r in caplog.records] == [
        "D4 progress: 2 of 20 documents, about 36 s left",
        "D4 progress: 4 of 20 documents, about 32 s left",
        "D4 progress: 6 of 20 documents, about 28 s left",
        "D4 progress: 8 of 20 documents, about 24 s left",
        "D4 progress: 10 of 20 documents, about 20 s left",
        "D4 progress: 12 of 20 documents, about 16 s left",
        "D4 progress: 14 of 20 documents, about 12 s left",
        "D4 progress: 16 of 20 documents, about 8 s left",
        "D4 progress: 18 of 20 documents, about 4 s left",
        "D4 progress: 20 of 20 documents, about 0 s left",
    ]


def test_a_sync_counts_its_journals_in_a_log_the_same_way(caplog):
    ticks = iter(range(0, 1000, 1))  # each journal takes 1 s
    progress = Progress("sync", quiet=False, unit="journals", tty=False, clock=lambda: next(ticks))
    caplog.set_level(logging.INFO, logger="asurso_sync.cli.progress")
    for done in range(1, 11):
        progress(done, 10)
    assert [r.getMessage() for r in caplog.records] == [
        "sync: 3 of 10 journals, about 7 s left",
        "sync: 4 of 10 journals, about 6 s left",
        "sync: 5 of 10 journals, about 5 s left",
        "sync: 6 of 10 journals, about 4 s left",
        "sync: 7 of 10 journals, about 3 s left",
        "sync: 8 of 10 journals, about 2 s left",
        "sync: 9 of 10 journals, about 1 s left",
        "sync: 10 of 10 journals, about 0 s left",
    ]


def test_the_archive_names_the_step_it_just_did_the_same_way(caplog):
    ticks = iter(range(0, 1000, 3))  # each file takes 3 s
    progress = Progress("archive verify", quiet=False, unit="files", tty=False,
                        clock=lambda: next(ticks))  # fmt: skip
    caplog.set_level(logging.INFO, logger="asurso_sync.cli.progress")
    for done, name in enumerate(["data/a.csv", "data/b.pdf", "manifest-sha512.txt"], 1):
        progress(done, 3, name)
    assert [r.getMessage() for r in caplog.records] == [
        "archive verify: 1 of 3 files, about 6 s left (data/a.csv)",
        "archive verify: 2 of 3 files, about 3 s left (data/b.pdf)",
        "archive verify: 3 of 3 files, about 0 s left (manifest-sha512.txt)",
    ]
