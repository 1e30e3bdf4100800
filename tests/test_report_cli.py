"""`asurso-sync report`: files written, their names printed, user errors as one line."""

from __future__ import annotations

from click.testing import CliRunner
from documents_fixture import build_documents_mirror

from asurso_sync.cli import cli


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
    missing = tmp_path / "none.toml"
    missing.write_text('[mirror]\npath = "nothing.db"\n', encoding="utf-8")
    result = runner.invoke(cli, ["--config", str(missing), "report", "D5"])
    assert result.exit_code == 1 and "does not exist" in result.output
