"""Templates: found in the source tree, shipped in the wheel, overridable, strict, escaped."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import jinja2
import pytest
from documents_fixture import build_documents_mirror

import asurso_sync
from asurso_sync.config import parse_config
from asurso_sync.documents import render
from asurso_sync.documents.output import Doc, render_html, template_env, templates_root
from asurso_sync.documents.settings import ReportSettings, load_report_settings
from asurso_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(p.name for p in (ROOT / "templates").iterdir() if p.is_file())


def test_templates_load_from_the_source_tree():
    assert templates_root() == ROOT / "templates"
    env = template_env(ReportSettings())
    for name in [
        "base.html",
        "d1_remarks.html",
        "d2_filling.html",
        "d3_activity.html",
        "d4_progress.html",
        "d5_class_progress.html",
        "d6_attendance.html",
        "d7_journal.html",
        "d8_summary_sheet.html",
        "d10_register.html",
    ]:
        assert env.get_template(name).filename == str(ROOT / "templates" / name)


def test_undefined_variables_fail_and_values_are_escaped():
    env = template_env(ReportSettings())
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("d10_register.html").render(title="x")
    html = render_html(
        env,
        Doc(
            "x",
            "d10_register.html",
            {
                "school": {
                    "name": "<b>Школа</b>",
                    "full_name": "",
                    "director": "",
                    "principal_uvr": "",
                },
                "title": "Реестр",
                "subtitle": "",
                "data_as_of": "",
                "generated_at": "",
                "version": "0",
                "columns": [("number", "№")],
                "items": [{"number": "<script>"}],
                "chain_head": "<i>head</i>",
            },
        ),
    )
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "&lt;b&gt;Школа&lt;/b&gt;" in html
    assert "&lt;i&gt;head&lt;/i&gt;" in html


def test_a_schools_own_template_wins(tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "d8_summary_sheet.html").write_text(
        '{% extends "base.html" %}{% block content %}СВОЯ ФОРМА {{ class_name }}{% endblock %}',
        encoding="utf-8",
    )
    config = parse_config({"report": {"templates_dir": "tpl"}}, tmp_path / "asurso-sync.toml")
    paths = render(
        build_documents_mirror(), "D8", tmp_path / "out", class_name="5а", settings=config
    )
    html = paths[0].read_text(encoding="utf-8")
    assert "СВОЯ ФОРМА 5а" in html
    assert "Сводная ведомость учёта успеваемости" in html  # base.html still ours


def test_report_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="unknown key"):
        load_report_settings(parse_config({"report": {"colour": "red"}}))
    with pytest.raises(ConfigError, match="show_illness must be true or false"):
        load_report_settings(parse_config({"report": {"show_illness": "yes"}}))
    with pytest.raises(ConfigError, match="pdf_variant"):
        load_report_settings(parse_config({"report": {"pdf_variant": "pdf/a-1b"}}))
    settings = load_report_settings(
        parse_config(
            {
                "report": {"show_illness": True, "templates_dir": "t"},
                "sync": {"timezone": "Europe/Moscow"},
                "rules": {"codes": {"Н": ["ОТ"]}},
            },
            tmp_path / "c.toml",
        )
    )
    assert settings.show_illness is True
    assert settings.templates_dir == str(tmp_path / "t")
    assert settings.timezone == "Europe/Moscow"
    assert settings.codes["Н"] == ["ОТ"]
    with pytest.raises(ConfigError, match="is not a folder"):
        template_env(settings)


@pytest.mark.slow
def test_the_wheel_ships_the_templates(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("asurso_sync-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in TEMPLATES:
        assert f"asurso_sync/templates/{name}" in names
    # and the installed layout finds them inside the package
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import asurso_sync; "
        "from asurso_sync.documents.output import templates_root; print(templates_root())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert out == str(site / "asurso_sync" / "templates")
    assert asurso_sync.__file__  # the source package was untouched
